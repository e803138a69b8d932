"""Quests: time-boxed goals a team admin starts from a library (README "Quests").

A template says what counts and which settings an admin may tune; progress is
measured from what CodeQuest already keeps (pull requests, reviews, first
reviews), a few queries per quest whatever the team's size. Beat settles the
running quests every few minutes: progress is stored, a goal met is completed
once and paid once through the ledger (``quest`` lines, unique per quest and
person), and a quest that ended is judged one last time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import ConnectedRepository, Organization
from reviews.bots import is_bot_login
from reviews.business_time import business_hours_between
from reviews.models import Member, ProviderIdentity, PullRequest, Review
from reviews.stats import first_reviews
from rewards.models import PointsEntry, Quest, QuestProgress
from rewards.services import paying_identities, rule_get

QUEST_RULE = "quest"
MAX_RUNNING = 10  # per team: each running quest is measured every few minutes
MAX_DAYS = 90
USUAL_AREA_DAYS = 90


@dataclass(frozen=True)
class Setting:
    """What a team admin may tune, within bounds."""

    name: str
    label: str
    default: int
    low: int
    high: int


@dataclass(frozen=True)
class Measured:
    progress: int
    target: int
    completed_at: datetime | None = None


@dataclass
class Facts:
    """One quest's window and team, read once for its measure."""

    quest: Quest
    now: datetime
    repositories: dict[int, tuple[str, str]]  # id -> (provider, host)
    people: dict[tuple[str, str, str], int]  # (provider, host, login) -> member
    members: list[int] = field(default_factory=list)  # who a team quest pays

    @property
    def until(self) -> datetime:
        return min(self.now, self.quest.ends_at)

    @property
    def ended(self) -> bool:
        return self.now >= self.quest.ends_at

    def person(self, repository_id: int, login: str) -> int | None:
        provider, host = self.repositories[repository_id]
        return self.people.get((provider, host, login))

    def setting(self, name: str) -> int:
        return int(self.quest.params[name])


Measure = Callable[[Facts], "Measured | dict[int, Measured]"]


@dataclass(frozen=True)
class Template:
    key: str
    scope: str  # Quest.Scope
    title: str  # formatted with the settings
    description: str
    settings: tuple[Setting, ...]
    points: int
    days: int
    measure: Measure

    def title_for(self, params: dict[str, int]) -> str:
        return self.title.format(**params)

    @property
    def default_title(self) -> str:
        return self.title_for(
            {setting.name: setting.default for setting in self.settings}
        )


# --- measures -------------------------------------------------------------------


def _team_reviews(facts: Facts) -> Measured:
    """Pull requests reviewed by the team's people (a person and a pull request
    count once), until the goal."""
    target = facts.setting("count")
    seen: dict[tuple[int, int], datetime] = {}
    for pull_id, repository_id, login, author, submitted_at in _reviews(facts):
        member = facts.person(repository_id, login)
        if member is not None and login != author:
            seen.setdefault((member, pull_id), submitted_at)
    return _count_to(sorted(seen.values()), target)


def _no_long_waits(facts: Facts) -> Measured:
    """Every pull request made ready in the window had its first review within
    the hours (business hours); judged when the quest ends."""
    hours = facts.setting("hours")
    ready = first_reviews(
        repository_ids=list(facts.repositories),
        since=facts.quest.starts_at,
        until=facts.until,
    )
    in_time = late = 0
    for row in ready:
        waited = business_hours_between(row.ready, row.reviewed_at or facts.until)
        if waited > hours:
            late += 1
        elif row.reviewed_at is not None:
            in_time += 1
    met = facts.ended and ready and not late
    return Measured(in_time, len(ready), facts.quest.ends_at if met else None)


def _big_changes_reviewed_twice(facts: Facts) -> Measured:
    """Every pull request over the lines merged in the window had reviews from
    at least two people (not its author, not bots) before it was merged."""
    lines, wanted = facts.setting("lines"), facts.setting("reviewers")
    merged = list(
        PullRequest.objects.filter(
            repository_id__in=facts.repositories,
            merged_at__gte=facts.quest.starts_at,
            merged_at__lt=facts.until,
        )
        .annotate(size=Coalesce("additions", 0) + Coalesce("deletions", 0))
        .filter(size__gt=lines)
        .values_list("pk", "author_login", "merged_at")
    )
    reviewers: dict[int, set[str]] = defaultdict(set)
    for pull_id, login, submitted_at, merged_at in (
        Review.objects.filter(pull_request__in=[pk for pk, _, _ in merged])
        .exclude(state="dismissed")
        .values_list(
            "pull_request_id",
            "reviewer_login",
            "submitted_at",
            "pull_request__merged_at",
        )
    ):
        if submitted_at <= merged_at and not is_bot_login(login):
            reviewers[pull_id].add(login)
    twice = sum(
        1 for pk, author, _ in merged if len(reviewers[pk] - {author}) >= wanted
    )
    met = facts.ended and merged and twice == len(merged)
    return Measured(twice, len(merged), facts.quest.ends_at if met else None)


def _outside_usual_area(facts: Facts) -> dict[int, Measured]:
    """Pull requests a person reviewed in repositories they had not reviewed in
    for the 90 days before the quest."""
    target = facts.setting("count")
    usual = {
        (facts.person(repository_id, login), repository_id)
        for repository_id, login in Review.objects.filter(
            pull_request__repository_id__in=facts.repositories,
            submitted_at__gte=facts.quest.starts_at - timedelta(days=USUAL_AREA_DAYS),
            submitted_at__lt=facts.quest.starts_at,
        ).values_list("pull_request__repository_id", "reviewer_login")
    }
    moments: dict[int, dict[int, datetime]] = defaultdict(dict)
    for pull_id, repository_id, login, author, submitted_at in _reviews(facts):
        member = facts.person(repository_id, login)
        if member is None or login == author or (member, repository_id) in usual:
            continue
        moments[member].setdefault(pull_id, submitted_at)
    return {
        member: _count_to(sorted(pulls.values()), target)
        for member, pulls in moments.items()
    }


def _fast_first_reviews(facts: Facts) -> dict[int, Measured]:
    """Pull requests a person gave the first review within the hours (business
    hours from when it was ready)."""
    target, hours = facts.setting("count"), facts.setting("hours")
    rows = first_reviews(
        repository_ids=list(facts.repositories),
        since=facts.quest.starts_at - timedelta(days=14),
        until=facts.until,
    )
    moments: dict[int, list[datetime]] = defaultdict(list)
    for row in rows:
        reviewed = row.reviewed_at
        if reviewed is None or not facts.quest.starts_at <= reviewed < facts.until:
            continue
        member = facts.person(row.repository_id, row.reviewer)
        if member is not None and business_hours_between(row.ready, reviewed) <= hours:
            moments[member].append(reviewed)
    return {
        member: _count_to(sorted(times), target) for member, times in moments.items()
    }


def _count_to(moments: list[datetime], target: int) -> Measured:
    done = moments[target - 1] if len(moments) >= target else None
    return Measured(min(len(moments), target), target, done)


def _reviews(facts: Facts) -> list[tuple[int, int, str, str, datetime]]:
    """Reviews given on the team's pull requests in the window (not dismissed,
    not by bots): (pull, repository, reviewer, author, submitted at)."""
    rows = (
        Review.objects.filter(
            pull_request__repository_id__in=facts.repositories,
            submitted_at__gte=facts.quest.starts_at,
            submitted_at__lt=facts.until,
        )
        .exclude(state="dismissed")
        .values_list(
            "pull_request_id",
            "pull_request__repository_id",
            "reviewer_login",
            "pull_request__author_login",
            "submitted_at",
        )
        .order_by("submitted_at", "pk")
    )
    return [row for row in rows if not is_bot_login(row[2])]


TEMPLATES: dict[str, Template] = {
    template.key: template
    for template in (
        Template(
            key="no-long-waits",
            scope=Quest.Scope.TEAM,
            title="No pull request waits more than {hours} business hours",
            description="Every pull request made ready for review gets its first "
            "review within the hours. Judged when the quest ends.",
            settings=(Setting("hours", "Business hours", 8, 1, 40),),
            points=30,
            days=7,
            measure=_no_long_waits,
        ),
        Template(
            key="big-changes-reviewed-twice",
            scope=Quest.Scope.TEAM,
            title="Every pull request over {lines} lines gets {reviewers} reviews",
            description="Each one merged during the quest was reviewed by that "
            "many people before it was merged. Judged when the quest ends.",
            settings=(
                Setting("lines", "Changed lines", 400, 50, 5000),
                Setting("reviewers", "Reviewers", 2, 2, 5),
            ),
            points=30,
            days=14,
            measure=_big_changes_reviewed_twice,
        ),
        Template(
            key="team-reviews",
            scope=Quest.Scope.TEAM,
            title="Review {count} pull requests together",
            description="Each person's review of a pull request counts once.",
            settings=(Setting("count", "Pull requests", 30, 1, 1000),),
            points=20,
            days=7,
            measure=_team_reviews,
        ),
        Template(
            key="outside-your-area",
            scope=Quest.Scope.PERSONAL,
            title="Review {count} pull requests outside your usual area",
            description="In repositories you did not review in during the 90 "
            "days before the quest.",
            settings=(Setting("count", "Pull requests", 3, 1, 50),),
            points=25,
            days=14,
            measure=_outside_usual_area,
        ),
        Template(
            key="fast-first-review",
            scope=Quest.Scope.PERSONAL,
            title="First review within {hours} business hours, {count} times",
            description="Be the first to review a pull request within the hours "
            "of it being ready for review.",
            settings=(
                Setting("count", "Times", 5, 1, 50),
                Setting("hours", "Business hours", 2, 1, 24),
            ),
            points=25,
            days=14,
            measure=_fast_first_reviews,
        ),
    )
}


class QuestError(ValueError):
    """A quest that cannot be started as asked (the message says why)."""


class TooManyQuestsError(QuestError):
    """The team runs as many quests as it may."""


# --- starting, measuring, settling ------------------------------------------------


def quest_start(
    *,
    user: Any,
    organization: Organization,
    template: str,
    params: dict[str, int] | None = None,
    starts_at: datetime | None = None,
    days: int | None = None,
    points: int | None = None,
) -> Quest:
    """A team admin starts a quest from a template (settings within their
    bounds), measured right away."""
    found = TEMPLATES.get(template)
    if found is None:
        raise QuestError(f"no quest template {template!r}")
    tuned = _tuned(found, params or {})
    now = timezone.now()
    starts_at = starts_at or now
    if starts_at < now - timedelta(minutes=5):
        raise QuestError("a quest starts now or later, never in the past")
    days = days or found.days
    if not 1 <= days <= MAX_DAYS:
        raise QuestError(f"a quest lasts 1 to {MAX_DAYS} days")
    running = Quest.objects.filter(
        organization=organization, settled_at__isnull=True
    ).count()
    if running >= MAX_RUNNING:
        raise TooManyQuestsError(
            f"{organization.name} already runs {MAX_RUNNING} quests"
        )
    quest = Quest.objects.create(
        organization=organization,
        template=found.key,
        title=found.title_for(tuned),
        scope=found.scope,
        params=tuned,
        points=found.points if points is None else points,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=days),
        created_by=user if user.is_authenticated else None,
    )
    quest_settle(quest=quest)
    return quest


def _tuned(template: Template, params: dict[str, Any]) -> dict[str, int]:
    known = {setting.name: setting for setting in template.settings}
    unknown = sorted(set(params) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise QuestError(
            f"{template.key} has no setting {unknown[0]} (it has: {allowed})"
        )
    tuned = {}
    for name, setting in known.items():
        value = params.get(name, setting.default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise QuestError(f"{name} must be a whole number")
        if not setting.low <= value <= setting.high:
            raise QuestError(f"{name} must be between {setting.low} and {setting.high}")
        tuned[name] = value
    return tuned


def quests_settle(*, now: datetime | None = None) -> int:
    """Measure every quest that has started and is not settled yet (beat, every
    five minutes); returns how many were measured."""
    now = now or timezone.now()
    pending = Quest.objects.filter(settled_at__isnull=True, starts_at__lte=now)
    count = 0
    for quest in pending.order_by("pk").iterator():
        quest_settle(quest=quest, now=now)
        count += 1
    return count


@transaction.atomic
def quest_settle(*, quest: Quest, now: datetime | None = None) -> list[PointsEntry]:
    """Measure one quest, store its progress, complete and pay what was met
    (once: completion is kept, the ledger line is unique), and settle it once
    it has ended. Safe to run again and concurrently (the quest is locked)."""
    now = now or timezone.now()
    quest = Quest.objects.select_for_update().get(pk=quest.pk)
    if quest.settled_at is not None or quest.starts_at > now:
        return []
    facts = _facts(quest, now)
    measured = TEMPLATES[quest.template].measure(facts)
    if isinstance(measured, Measured):  # a team quest: one row, everyone paid
        completed = _store(quest, None, measured)
        paid = _pay(quest, facts.members, completed) if completed else []
    else:
        paid = []
        for member, result in sorted(measured.items()):
            completed = _store(quest, member, result)
            if completed:
                paid += _pay(quest, [member], completed)
    if facts.ended:
        quest.settled_at = now
        quest.save(update_fields=["settled_at", "updated_at"])
    return paid


def _store(quest: Quest, member: int | None, measured: Measured) -> datetime | None:
    """Keep the progress; the moment it was completed if that is news."""
    row, _ = QuestProgress.objects.get_or_create(quest=quest, member_id=member)
    news = row.completed_at is None and measured.completed_at is not None
    row.progress, row.target = measured.progress, measured.target
    if news:
        row.completed_at = measured.completed_at
    row.save()
    return row.completed_at if news else None


def _pay(quest: Quest, members: list[int], when: datetime) -> list[PointsEntry]:
    """One ledger line per person, through the ledger's unique key."""
    rule = rule_get(QUEST_RULE)
    identities = paying_identities(members)
    lines = [
        PointsEntry(
            identity_id=identities[member],
            rule=rule,
            rule_version=rule.version,
            points=quest.points,
            reason=f"quest completed: {quest.title}"[:200],
            source=f"quest:{quest.pk}:{member}",
            organization_id=quest.organization_id,
            earned_at=when,
        )
        for member in members
        if member in identities
    ]
    return PointsEntry.objects.bulk_create(lines, ignore_conflicts=True)


def _facts(quest: Quest, now: datetime) -> Facts:
    repositories = {
        pk: (provider, host)
        for pk, provider, host in ConnectedRepository.objects.filter(
            organization_id=quest.organization_id
        ).values_list("pk", "provider", "host")
    }
    people: dict[tuple[str, str, str], int] = {}
    members: set[int] = set()
    for provider, host, login, member, marked in ProviderIdentity.objects.filter(
        member__user__memberships__organization_id=quest.organization_id
    ).values_list("provider", "host", "login", "member_id", "is_bot"):
        if not is_bot_login(login, marked=marked):
            people[(provider, host, login)] = member
            members.add(member)
    return Facts(quest, now, repositories, people, sorted(members))


# --- reading ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuestView:
    quest: Quest
    progress: int
    target: int
    completed_at: datetime | None
    description: str
    status: str  # upcoming | running | completed | missed
    measured_at: datetime | None

    @property
    def percent(self) -> int:
        if not self.target:
            return 0
        return min(100, round(100 * self.progress / self.target))


def quests_visible_to(*, user: Any, team: str = "") -> list[QuestView]:
    """Quests of the person's teams, running first, each with the team's
    progress or the person's own (two queries)."""
    quests = Quest.objects.select_related("organization")
    if not user.is_superuser:
        quests = quests.filter(organization__memberships__user=user)
    if team:
        quests = quests.filter(organization__slug=team)
    quests_list = list(
        quests.order_by(F("settled_at").desc(nulls_first=True), "-starts_at", "-pk")[
            :500
        ]
    )
    return quest_views(quests_list, user=user)


def quest_views(quests_list: list[Quest], *, user: Any) -> list[QuestView]:
    """These quests, each with the team's progress or the person's own (one
    query)."""
    member = getattr(user, "member", None)
    rows = {
        (row.quest_id, row.member_id): row
        for row in QuestProgress.objects.filter(quest__in=quests_list).filter(
            Q(member__isnull=True) | Q(member_id=member.pk if member else None)
        )
    }
    now = timezone.now()
    return [_view(quest, rows, member, now) for quest in quests_list]


def _view(quest: Quest, rows: dict, member: Member | None, now: datetime) -> QuestView:
    key = (
        quest.pk,
        None if quest.scope == Quest.Scope.TEAM else getattr(member, "pk", -1),
    )
    row = rows.get(key)
    template = TEMPLATES.get(quest.template)
    target = row.target if row else (quest.params.get("count", 0))
    completed = row.completed_at if row else None
    if completed:
        status = "completed"
    elif quest.starts_at > now:
        status = "upcoming"
    elif quest.ends_at > now:
        status = "running"
    else:
        status = "missed"
    return QuestView(
        quest=quest,
        progress=row.progress if row else 0,
        target=target,
        completed_at=completed,
        description=template.description if template else "",
        status=status,
        measured_at=row.updated_at if row else None,
    )
