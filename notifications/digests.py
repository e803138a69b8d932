"""The daily personal digest (README "Notifications"): at the start of each
person's working day (their time zone and hours, Monday to Friday), one message
with what waits for their review and where their own pull requests stand.

Built for everyone due in a fixed number of queries, whatever their number
(bench/README.md "Digests"), and written to the outbox keyed by the person and
their local date, so a second run that day writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models.functions import Lower
from django.utils import timezone

from integrations.models import OrganizationMembership
from notifications.models import Kind, Notification
from notifications.services import Message, person_rows, settings_of
from reviews.business_time import (
    DEFAULT_END_HOUR,
    DEFAULT_START_HOUR,
    DEFAULT_ZONE,
    business_hours_between,
    zone_get,
)
from reviews.models import (
    ProviderIdentity,
    PullRequest,
    PullState,
    RepositoryReviewSettings,
    ReviewRequest,
)
from reviews.selectors import author_turns

LIST_AT_MOST = 10  # lines per section; the dashboard has the rest


@dataclass
class _Person:
    user: Any
    zone: str = DEFAULT_ZONE
    start_hour: int = DEFAULT_START_HOUR
    end_hour: int = DEFAULT_END_HOUR
    logins: set[tuple[str, str, str]] = field(default_factory=set)  # lowercased
    teams: set[int] = field(default_factory=set)

    def local_day(self, now: datetime) -> str:
        return f"{now.astimezone(zone_get(self.zone)):%Y-%m-%d}"

    def is_morning(self, now: datetime) -> bool:
        local = now.astimezone(zone_get(self.zone))
        return local.weekday() < 5 and local.hour == self.start_hour


def daily_digests_prepare(*, now: datetime | None = None) -> int:
    """Write today's digest for everyone whose working day starts this hour
    and who has something waiting; returns how many people got one."""
    now = now or timezone.now()
    people = [person for person in _people().values() if person.is_morning(now)]
    if not people:
        return 0
    keys = {
        f"digest:{person.user.pk}:{person.local_day(now)}": person for person in people
    }
    done = set(
        Notification.objects.filter(
            kind=Kind.DAILY_DIGEST, key__in=list(keys)
        ).values_list("key", flat=True)
    )
    people = [person for key, person in keys.items() if key not in done]
    choices = settings_of([person.user for person in people])
    waiting, mine = _facts(people, now)
    rows = []
    for person in people:
        message = _digest(
            person, waiting.get(person.user.pk, []), mine.get(person.user.pk, []), now
        )
        if message is None:
            continue  # nothing to say: no message
        rows += person_rows(
            person.user,
            Kind.DAILY_DIGEST,
            f"digest:{person.user.pk}:{person.local_day(now)}",
            message,
            now,
            choice=choices.get(person.user.pk),
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len({row.recipient_id for row in rows})


def _people() -> dict[int, _Person]:
    """Everyone with a linked login, their working day and their teams: two
    queries."""
    people: dict[int, _Person] = {}
    for identity in (
        ProviderIdentity.objects.filter(
            member__user__isnull=False, member__user__is_active=True
        )
        .select_related("member__user", "reviewer_profile")
        .order_by("pk")
    ):
        user = identity.member.user  # type: ignore[union-attr]
        person = people.setdefault(user.pk, _Person(user))
        person.logins.add((identity.provider, identity.host, identity.login.lower()))
        profile = getattr(identity, "reviewer_profile", None)
        if profile is not None:
            person.zone = profile.timezone
            person.start_hour = profile.workday_start_hour
            person.end_hour = profile.workday_end_hour
    for user_id, team_id in OrganizationMembership.objects.filter(
        user_id__in=list(people)
    ).values_list("user_id", "organization_id"):
        people[user_id].teams.add(team_id)
    return people


@dataclass(frozen=True, slots=True)
class _Waiting:
    pull: PullRequest
    since: datetime


def _facts(
    people: list[_Person], now: datetime
) -> tuple[dict[int, list[_Waiting]], dict[int, list[tuple[PullRequest, str]]]]:
    """Per person: the requests waiting for them, and their own open pull
    requests with where each stands; four queries for everyone."""
    by_login: dict[tuple[str, str, str], list[_Person]] = defaultdict(list)
    for person in people:
        for login in person.logins:
            by_login[login].append(person)
    names = sorted({login for _, _, login in by_login})
    if not names:
        return {}, {}
    requests = (
        ReviewRequest.objects.annotate(login=Lower("reviewer_login"))
        .filter(
            login__in=names,
            is_active=True,
            responded_at__isnull=True,
            pull_request__state=PullState.OPEN,
        )
        .exclude(pull_request__draft=True)  # empty: no payload said it is one
        .select_related("pull_request__repository")
    )
    waiting: dict[int, list[_Waiting]] = defaultdict(list)
    for request in requests.order_by("requested_at", "pk"):
        repository = request.pull_request.repository
        site = (repository.provider, repository.host, request.reviewer_login.lower())
        for person in by_login.get(site, ()):
            if repository.organization_id in person.teams:
                waiting[person.user.pk].append(
                    _Waiting(request.pull_request, request.requested_at)
                )
    authored = list(
        PullRequest.objects.annotate(login=Lower("author_login"))
        .filter(login__in=names, state=PullState.OPEN)
        .select_related("repository")
        .order_by("provider_created_at", "pk")
    )
    verdicts = _verdicts(authored)
    mine: dict[int, list[tuple[PullRequest, str]]] = defaultdict(list)
    for pull in authored:
        site = (
            pull.repository.provider,
            pull.repository.host,
            pull.author_login.lower(),
        )
        for person in by_login.get(site, ()):
            if pull.repository.organization_id in person.teams:
                mine[person.user.pk].append(
                    (pull, verdicts.get(pull.pk, "waiting for review"))
                )
    return waiting, mine


def _verdicts(pulls: list[PullRequest]) -> dict[int, str]:
    """Where each pull request stands, as the dashboard's "Your turn" says."""
    return {pk: turn.words for pk, turn in author_turns(pulls).items()}


def _digest(
    person: _Person,
    waiting: list[_Waiting],
    mine: list[tuple[PullRequest, str]],
    now: datetime,
) -> Message | None:
    if not waiting and not mine:
        return None
    sla = _sla_default()
    lines = []
    if waiting:
        lines.append(f"Waiting for your review ({len(waiting)}):")
        for item in waiting[:LIST_AT_MOST]:
            hours = business_hours_between(
                item.since,
                now,
                zone=person.zone,
                start_hour=person.start_hour,
                end_hour=person.end_hour,
            )
            late = " (overdue)" if hours >= sla else ""
            lines.append(f"- {_label(item.pull)}: {_waited(hours)}{late}")
        lines.append("")
    if mine:
        lines.append(f"Your open pull requests ({len(mine)}):")
        for pull, state in mine[:LIST_AT_MOST]:
            lines.append(f"- {_label(pull)}: {state}")
        lines.append("")
    lines.append(
        "Your queue and notifications are on the dashboard. Choose how this "
        "digest reaches you, or turn it off, under Notifications."
    )
    parts = []
    if waiting:
        parts.append(f"{_count(len(waiting), 'review')} waiting for you")
    if mine:
        parts.append(f"{len(mine)} of yours open")
    return Message(subject=f"Today: {', '.join(parts)}", body="\n".join(lines), url="")


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def _waited(hours: float) -> str:
    if hours < 1:
        return "asked less than a working hour ago"
    return f"waiting {_count(round(hours), 'working hour')}"


def _label(pull: PullRequest) -> str:
    return f"{pull.repository.full_name}#{pull.number} {pull.title}"[:200]


def _sla_default() -> int:
    return int(RepositoryReviewSettings._meta.get_field("sla_hours").get_default())
