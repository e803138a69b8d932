"""Who is told what, and the sending (README "Notifications").

Messages are found from the stored state, not from the event that changed it:
``review_requests_notify`` looks at the open review requests made lately and
writes a row for each (request, person, channel) that has none. So whichever
road brought a request (webhook, reconciliation, replay), and however often,
each person is told once per request. Rows are then sent by
``notifications_send_due``, each at most once, at the person's next working
hour when they asked for quiet; a failing channel is retried with backoff and
never holds up anything else.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations import metrics
from notifications.channels import ChannelGone, channel_post
from notifications.models import (
    Channel,
    Kind,
    Notification,
    NotificationSettings,
    TeamChannel,
    team_kinds_default,
)
from notifications.preferences import DAILY, HOURLY, Preference, preference
from notifications.tasks import notifications_send_due_task
from reviews.bots import is_bot_login
from reviews.business_time import (
    business_deadline,
    next_working_day_start,
    next_working_moment,
    working_day_of,
)
from reviews.models import (
    ProviderIdentity,
    PullRequest,
    PullState,
    RepositoryReviewSettings,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)

logger = logging.getLogger(__name__)

# A request older than this is not news any more (a first import, an outage).
RECENT = timedelta(hours=24)
MAX_ATTEMPTS = 6
SEND_BATCH = 100


# --- what people get ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str
    url: str


def review_requests_notify(*, now: datetime | None = None) -> int:
    """A row per channel for every person whose review was requested lately and
    who was not told yet; returns how many were written. Idempotent."""
    now = now or timezone.now()
    requests = list(
        ReviewRequest.objects.filter(
            is_active=True,
            responded_at__isnull=True,
            requested_at__gte=now - RECENT,
            pull_request__state=PullState.OPEN,
            pull_request__repository__is_active=True,
        )
        .filter(
            Q(pull_request__repository__followed_since__isnull=True)
            | Q(requested_at__gte=F("pull_request__repository__followed_since"))
        )
        .select_related("pull_request__repository")
        .order_by("pk")[:1000]
    )
    if not requests:
        return 0
    # A late snapshot can move a request's start back (the same request, seen
    # earlier): only a start later than any already told is a new request.
    told_since = _told_since(requests)
    requests = [
        request
        for request in requests
        if request.requested_at.timestamp() > told_since.get(request.pk, float("-inf"))
        or _key(request) in told_since.get(("key", request.pk), ())
    ]
    if not requests:
        return 0
    people = people_of(requests)
    keys = {_key(request) for request in requests}
    told = set(
        Notification.objects.filter(key__in=keys).values_list(
            "key", "recipient_id", "channel"
        )
    )
    reasons = _reasons(requests)
    sla = _sla_hours(requests)
    choices = settings_of([user for user, _ in people.values()])
    bots = bot_authored([request.pull_request for request in requests])
    rows = []
    for request in requests:
        found = people.get(site_login(request))
        if found is None:
            continue  # nobody here has that login linked
        user, profile = found
        rows += person_rows(
            user,
            Kind.REVIEW_REQUESTED,
            _key(request),
            _review_requested(request, reasons, sla, profile),
            now,
            choice=choices.get(user.pk),
            profile=profile,
            urgent=is_urgent(request.pull_request),
            from_bot=request.pull_request.pk in bots,
        )
    rows += _team_rows(requests, reasons, sla, now)
    team_told = set(
        Notification.objects.filter(
            key__in=keys, team_channel__isnull=False
        ).values_list("key", "team_channel_id")
    )
    rows = [
        row
        for row in rows
        if (row.key, row.recipient_id, row.channel) not in told
        and (
            row.team_channel_id is None
            or (row.key, row.team_channel_id) not in team_told
        )
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    for row in rows:
        if row.channel == Channel.IN_APP:
            metrics.notifications.labels(row.channel, row.kind, "sent").inc()
    if any(row.channel != Channel.IN_APP and row.due_at <= now for row in rows):
        transaction.on_commit(notifications_send_due_task.delay)
    return len(rows)


def _team_rows(
    requests: list[ReviewRequest],
    reasons: dict[tuple[int, str], list[str]],
    sla: dict[int, int],
    now: datetime,
) -> list[Notification]:
    """One message per request to each channel of the repository's team that
    takes review requests (whether or not the person is linked here)."""
    teams = {
        request.pull_request.repository.organization_id
        for request in requests
        if request.pull_request.repository.organization_id
    }
    channels: dict[int, list[TeamChannel]] = defaultdict(list)
    for channel in TeamChannel.objects.filter(
        organization_id__in=teams,
        is_active=True,
        kinds__contains=[Kind.REVIEW_REQUESTED],
    ).select_related("organization"):
        channels[channel.organization_id].append(channel)
    rows = []
    for request in requests:
        team = request.pull_request.repository.organization_id
        if team is None or not channels.get(team):
            continue
        message = _review_requested(request, reasons, sla, None, for_team=True)
        for channel in channels[team]:
            rows.append(team_row(channel, _key(request), message, now))
    return rows


def is_urgent(pull: Any) -> bool:
    """Labelled urgent (the label assignment reads too)."""
    return "urgent" in {str(label).lower() for label in pull.labels or ()}


def bot_authored(pulls: list[Any]) -> set[int]:
    """The pull requests of these that a bot opened: an account the provider
    marks as a bot or that an admin marked so, or a ``[bot]`` login. One query."""
    found = {pull.pk for pull in pulls if is_bot_login(pull.author_login)}
    wanted = Q()
    for pull in pulls:
        if pull.author_login and pull.pk not in found:
            wanted |= Q(
                provider=pull.repository.provider,
                host=pull.repository.host,
                login__iexact=pull.author_login,
            )
    if not wanted:
        return found
    marked = {
        (provider, host, login.lower())
        for provider, host, login in ProviderIdentity.objects.filter(
            wanted, is_bot=True
        ).values_list("provider", "host", "login")
    }
    return found | {
        pull.pk
        for pull in pulls
        if (pull.repository.provider, pull.repository.host, pull.author_login.lower())
        in marked
    }


def authors_of(pulls: list[PullRequest]) -> dict[tuple[str, str, str], Any]:
    """The account behind each author login (when linked): one query."""
    wanted = {
        (pull.repository.provider, pull.repository.host, pull.author_login.lower())
        for pull in pulls
        if pull.author_login
    }
    found = {}
    for identity in (
        ProviderIdentity.objects.annotate(lowered=Lower("login"))
        .filter(
            lowered__in={login for _, _, login in wanted},
            member__user__isnull=False,
        )
        .select_related("member__user")
    ):
        key = (identity.provider, identity.host, identity.login.lower())
        if key in wanted and identity.member.user.is_active:  # type: ignore[union-attr]
            found[key] = identity.member.user  # type: ignore[union-attr]
    return found


def chat_reaches_people(repository: Any) -> bool:
    """Slack direct messages are set up here, or the repository's team has a
    channel: then an overdue review is told there, not in a comment."""
    if settings.SLACK_BOT_TOKEN:
        return True
    return bool(repository.organization_id) and (
        TeamChannel.objects.filter(
            organization_id=repository.organization_id, is_active=True
        ).exists()
    )


def slack_reaches(user: Any, choice: NotificationSettings | None) -> bool:
    """Slack is set up here, and the person can be found on it."""
    return bool(settings.SLACK_BOT_TOKEN) and bool(
        user.email or (choice is not None and choice.slack_user_id)
    )


def _told_since(requests: list[ReviewRequest]) -> dict[Any, Any]:
    """Per request, the latest start already told about (and its keys): one
    query."""
    pattern = "|".join(str(request.pk) for request in requests)
    found: dict[Any, Any] = {}
    for key in (
        Notification.objects.filter(
            kind=Kind.REVIEW_REQUESTED, key__regex=rf"^review_request:({pattern}):"
        )
        .values_list("key", flat=True)
        .distinct()
    ):
        _, pk_text, stamp = key.split(":")
        pk = int(pk_text)
        found[pk] = max(found.get(pk, float("-inf")), float(stamp))
        found.setdefault(("key", pk), set()).add(key)
    return found


def _key(request: ReviewRequest) -> str:
    """One message per request episode: a request made again is news again."""
    return f"review_request:{request.pk}:{int(request.requested_at.timestamp())}"


def site_login(request: ReviewRequest) -> tuple[str, str, str]:
    repository = request.pull_request.repository
    return (repository.provider, repository.host, request.reviewer_login.lower())


def people_of(
    requests: list[ReviewRequest],
) -> dict[tuple[str, str, str], tuple[Any, ReviewerProfile | None]]:
    """The person (an account) behind each requested login, with the reviewer
    profile of that login (their working hours): one query."""
    match = Q()
    for provider, host, login in {site_login(request) for request in requests}:
        match |= Q(provider=provider, host=host, login__iexact=login)
    found = {}
    for identity in (
        ProviderIdentity.objects.filter(match, member__user__isnull=False)
        .select_related("member__user", "reviewer_profile")
        .order_by("pk")
    ):
        profile = getattr(identity, "reviewer_profile", None)
        user = identity.member.user  # type: ignore[union-attr]
        if user.is_active:
            found[(identity.provider, identity.host, identity.login.lower())] = (
                user,
                profile,
            )
    return found


def _reasons(requests: list[ReviewRequest]) -> dict[tuple[int, str], list[str]]:
    """Why CodeQuest chose each person, where it did (its latest automatic
    choice for the pull request)."""
    reasons: dict[tuple[int, str], list[str]] = {}
    for assignment in ReviewAssignment.objects.filter(
        pull_request_id__in={request.pull_request_id for request in requests},
        is_automatic=True,
    ).order_by("created_at", "pk"):
        pool = (assignment.explanation or {}).get("pool") or {}
        for login in assignment.reviewers or []:
            why = pool.get(login)
            if isinstance(why, list):
                reasons[(assignment.pull_request_id, login.lower())] = [
                    str(item) for item in why
                ]
    return reasons


def _sla_hours(requests: list[ReviewRequest]) -> dict[int, int]:
    default = RepositoryReviewSettings._meta.get_field("sla_hours").get_default()
    saved = dict(
        RepositoryReviewSettings.objects.filter(
            repository_id__in={r.pull_request.repository_id for r in requests}
        ).values_list("repository_id", "sla_hours")
    )
    return defaultdict(lambda: default, saved)


def settings_of(users: list[Any]) -> dict[int, NotificationSettings]:
    return {
        row.user_id: row
        for row in NotificationSettings.objects.filter(
            user_id__in={user.pk for user in users}
        )
    }


def _working_hour(now: datetime, profile: ReviewerProfile | None) -> datetime:
    return next_working_moment(now, **working_day_of(profile))


def _review_requested(
    request: ReviewRequest,
    reasons: dict[tuple[int, str], list[str]],
    sla: dict[int, int],
    profile: ReviewerProfile | None,
    *,
    for_team: bool = False,
) -> Message:
    pull = request.pull_request
    repository = pull.repository
    hours = sla[repository.pk]
    due = business_deadline(request.requested_at, hours, **working_day_of(profile))
    zone = due.tzinfo
    why = reasons.get((pull.pk, request.reviewer_login.lower()))
    link = pull.link
    whose = f"@{request.reviewer_login}'s" if for_team else "your"
    lines = [
        f"{pull.author_login or 'Someone'} asks for {whose} review of "
        f"{repository.full_name}#{pull.number}: {pull.title}",
        "",
        ("Why them: " if for_team else "Why you: ")
        + ("; ".join(why) if why else "requested on the pull request."),
        f"Due: {due:%a %d %b, %H:%M} ({zone}), {hours} working hours after the "
        "request.",
    ]
    asked = f" from @{request.reviewer_login}" if for_team else ""
    subject = f"Review requested{asked}: {repository.full_name}#{pull.number}"
    return Message(
        subject=f"{subject} {pull.title}"[:300],
        body=message_body(
            lines, link, because="" if for_team else "your review was requested"
        ),
        url=link,
    )


def person_rows(
    user: Any,
    kind: str,
    key: str,
    message: Message,
    now: datetime,
    *,
    choice: NotificationSettings | None,
    profile: ReviewerProfile | None = None,
    urgent: bool = False,
    from_bot: bool = False,
) -> list[Notification]:
    """The rows one message becomes for one person, as they chose: always the
    dashboard entry, then email and Slack if they want this kind there, due
    right away, at their next working hour, or with their hourly or daily
    summary. An urgent pull request skips the waiting when they allow it."""
    rows = [message_row(user, Channel.IN_APP, key, message, now, kind=kind)]
    rows[0].status, rows[0].sent_at = Notification.Status.SENT, now
    if from_bot and choice is not None and choice.mute_bots:
        return rows
    wanted = preference(choice, kind)
    due, batched = _when(now, wanted, choice, profile, urgent=urgent)
    channels = []
    if wanted.email and user.email:
        channels.append(Channel.EMAIL)
    if wanted.slack and slack_reaches(user, choice):
        channels.append(Channel.SLACK)
    for channel in channels:
        row = message_row(user, channel, key, message, due, kind=kind)
        row.batched = batched
        rows.append(row)
    return rows


def _when(
    now: datetime,
    wanted: Preference,
    choice: NotificationSettings | None,
    profile: ReviewerProfile | None,
    *,
    urgent: bool,
) -> tuple[datetime, bool]:
    """When a row is due, and whether it waits for a summary."""
    if urgent and choice is not None and choice.urgent_breaks_through:
        return now, False
    quiet = choice is None or choice.quiet_outside_working_hours
    due = _working_hour(now, profile) if quiet else now
    if wanted.when == HOURLY:
        hour = due.replace(minute=0, second=0, microsecond=0)
        return (hour if hour == due else hour + timedelta(hours=1)), True
    if wanted.when == DAILY:
        day = working_day_of(profile)
        day.pop("end_hour", None)
        return next_working_day_start(now, **day), True
    return due, False


def message_body(lines: list[str], link: str, *, because: str = "") -> str:
    """A message's text: its lines, the link (when there is a safe one), and
    for a person why they get it and where to change that."""
    text = [*lines, *(["", link] if link else [])]
    if because:
        text += [
            "",
            f"You get this because {because}. Change what CodeQuest sends you "
            "on the dashboard, under Notifications.",
        ]
    return "\n".join(text)


def message_row(
    user: Any,
    channel: str,
    key: str,
    message: Message,
    due: datetime,
    *,
    kind: str = Kind.REVIEW_REQUESTED,
    status: str = Notification.Status.PENDING,
) -> Notification:
    """A person's outbox row (dashboard entries are sent as they are written)."""
    return Notification(
        recipient=user,
        kind=kind,
        channel=channel,
        key=key,
        subject=message.subject,
        body=message.body,
        url=message.url,
        status=status,
        due_at=due,
        sent_at=due if status == Notification.Status.SENT else None,
    )


def team_row(
    channel: TeamChannel,
    key: str,
    message: Message,
    due: datetime,
    *,
    kind: str = Kind.REVIEW_REQUESTED,
) -> Notification:
    """A team channel's outbox row."""
    return Notification(
        team_channel=channel,
        kind=kind,
        channel=Channel.TEAM,
        key=key,
        subject=message.subject,
        body=message.body,
        url=message.url,
        due_at=due,
    )


# --- sending --------------------------------------------------------------------


def notifications_send_due(*, now: datetime | None = None) -> dict[str, int]:
    """Send what is due, each row at most once: taken with SKIP LOCKED, marked
    in the same transaction as the sending. Returns counts by outcome."""
    now = now or timezone.now()
    outcomes: dict[str, int] = defaultdict(int)
    while True:
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Notification.Status.PENDING,
                    due_at__lte=now,
                )
                .exclude(channel=Channel.IN_APP)
                .select_related("recipient", "team_channel__organization")
                .order_by("due_at", "pk")[:SEND_BATCH]
            )
            groups: dict[Any, list[Notification]] = defaultdict(list)
            for row in rows:
                group = (row.recipient_id, row.channel) if row.batched else row.pk
                groups[group].append(row)
            for group_rows in groups.values():
                outcome = _send(group_rows, now)
                outcomes[outcome] += len(group_rows)
        if len(rows) < SEND_BATCH:
            return dict(outcomes)


def _send(rows: list[Notification], now: datetime) -> str:
    """Send one row, or a person's batched rows for one channel as one summary;
    every row takes the outcome."""
    first = rows[0]
    try:
        CHANNELS[first.channel](first if len(rows) == 1 else summary_of(rows))
    except Exception as exc:  # noqa: BLE001 - any channel failure is retried
        error = f"{exc.__class__.__name__}: {exc}"[:500]
        final = isinstance(exc, Unreachable | ChannelGone)
        if first.team_channel is not None:
            TeamChannel.objects.filter(pk=first.team_channel_id).update(
                last_error=error
            )
        outcome = "retrying"
        for row in rows:
            row.attempts += 1
            row.error = error
            if row.attempts >= MAX_ATTEMPTS or final:
                row.status, outcome = Notification.Status.FAILED, "failed"
            else:  # 1, 2, 4, 8, 16 minutes
                row.due_at = now + timedelta(minutes=2 ** (row.attempts - 1))
        logger.warning(
            "notifications.send_failed",
            extra={
                "notification": first.pk,
                "rows": len(rows),
                "channel": first.channel,
                "error": error,
            },
        )
    else:
        outcome = "sent"
        for row in rows:
            row.attempts += 1
            row.status, row.sent_at, row.error = Notification.Status.SENT, now, ""
    Notification.objects.bulk_update(
        rows, ["attempts", "status", "sent_at", "error", "due_at"]
    )
    for row in rows:
        metrics.notifications.labels(row.channel, row.kind, outcome).inc()
    return outcome


def summary_of(rows: list[Notification]) -> Notification:
    """One message for a person's batched rows (their hourly or daily summary):
    each row's subject and link, oldest first. Not stored: the rows are."""
    rows = sorted(rows, key=lambda row: (row.created_at or row.due_at, row.pk or 0))
    lines = []
    for row in rows:
        lines += [f"- {row.subject}", *([f"  {row.url}"] if row.url else [])]
    lines += [
        "",
        "You get these together because you asked for a summary. Change what "
        "CodeQuest sends you on the dashboard, under Notifications.",
    ]
    return Notification(
        recipient=rows[0].recipient,
        channel=rows[0].channel,
        kind=rows[0].kind,
        subject=f"CodeQuest: {len(rows)} updates for you",
        body="\n".join(lines),
        url="",
    )


def _email(row: Notification) -> None:
    if not row.recipient.email:
        raise ValueError("the person has no email address")
    EmailMessage(
        subject=row.subject,
        body=row.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient.email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send(fail_silently=False)


class Unreachable(Exception):
    """The channel cannot reach this person (no Slack account with their
    address, say): trying again would not help."""


# Slack answers that no retry will change (https://docs.slack.dev/reference/methods).
SLACK_FINAL_ERRORS = {
    "users_not_found",
    "user_not_found",
    "channel_not_found",
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "user_disabled",
    # A team's channel: the app was not added to it, or it was archived.
    "not_in_channel",
    "is_archived",
}


def _slack(row: Notification) -> None:
    """A direct message from the bot: ``chat.postMessage`` to the person's
    member id, found once with ``users.lookupByEmail`` and kept."""
    choice = settings_for(row.recipient)
    with _slack_client() as client:
        if not choice.slack_user_id:
            if not row.recipient.email:
                raise Unreachable("no Slack member id and no email address to find one")
            found = client.users_lookupByEmail(email=row.recipient.email)
            choice.slack_user_id = str(found["user"]["id"])[:30]
            choice.save(update_fields=["slack_user_id", "updated_at"])
        _slack_post(client, choice.slack_user_id, row)


@contextmanager
def _slack_client() -> Iterator[WebClient]:
    """The bot's client; Slack's refusals that no retry changes are final."""
    try:
        yield WebClient(
            token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL, timeout=10
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "unknown")
        if error in SLACK_FINAL_ERRORS:
            raise Unreachable(f"Slack answered {error}") from None
        raise RuntimeError(f"Slack answered {error}") from None


def _slack_post(client: WebClient, channel: str, row: Notification) -> None:
    client.chat_postMessage(
        channel=channel, text=slack_text(row), unfurl_links=False, unfurl_media=False
    )


def slack_text(row: Notification) -> str:
    """What a Slack message says: the subject in bold, then the text."""
    return f"*{_slack_escaped(row.subject)}*\n{_slack_escaped(row.body)}"


def _slack_escaped(text: str) -> str:
    """Slack reads <…> as links and mentions (``<!channel>``): a pull request
    title is the author's text, so &, < and > are escaped as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _team(row: Notification) -> None:
    if row.team_channel is None or not row.team_channel.is_active:
        raise Unreachable("the team channel was removed")
    if row.team_channel.kind == TeamChannel.Kind.SLACK:
        if not settings.SLACK_BOT_TOKEN:
            raise Unreachable("Slack is not set up here (SLACK_BOT_TOKEN)")
        with _slack_client() as client:
            _slack_post(client, row.team_channel.slack_channel, row)
    else:
        channel_post(row.team_channel, row)
    if row.team_channel.last_error:
        TeamChannel.objects.filter(pk=row.team_channel_id).update(last_error="")


CHANNELS = {Channel.EMAIL: _email, Channel.SLACK: _slack, Channel.TEAM: _team}


# --- the person's list ------------------------------------------------------------


def inbox_of(user: Any, *, limit: int = 50) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user, channel=Channel.IN_APP).order_by(
            "-created_at", "-pk"
        )[:limit]
    )


def inbox_read(user: Any) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).update(read_at=timezone.now())


def settings_for(user: Any) -> NotificationSettings:
    return NotificationSettings.objects.get_or_create(user=user)[0]


# --- team channels ------------------------------------------------------------------


def team_channels_of(team: Any) -> list[TeamChannel]:
    return list(TeamChannel.objects.filter(organization=team, is_active=True))


def team_channel_add(
    *,
    team: Any,
    by: Any,
    kind: str,
    name: str,
    url: str = "",
    slack_channel: str = "",
    kinds: list[str] | None = None,
) -> TeamChannel:
    """A channel for the team; ``url`` checked already (``channel_url_check``),
    or for Slack the channel's id, posted to by the bot. ``kinds``: which
    messages go there (default: all a team channel can get)."""
    channel = TeamChannel(
        organization=team,
        kind=kind,
        name=name.strip()[:100],
        host="slack.com" if slack_channel else (urlsplit(url).hostname or "")[:255],
        slack_channel=slack_channel,
        created_by=by,
        kinds=team_kinds_default() if kinds is None else sorted(set(kinds)),
    )
    channel.url = url
    channel.save()
    return channel


def team_channel_kinds_set(*, team: Any, pk: int, kinds: list[str]) -> str | None:
    """Choose which messages go to a team's channel; its name, or None."""
    channel = TeamChannel.objects.filter(
        organization=team, pk=pk, is_active=True
    ).first()
    if channel is None:
        return None
    channel.kinds = sorted(set(kinds))
    channel.save(update_fields=["kinds"])
    return channel.name


def team_channel_remove(*, team: Any, pk: int) -> str | None:
    """Stop sending to a team's channel (its messages stay in the history)."""
    channel = TeamChannel.objects.filter(
        organization=team, pk=pk, is_active=True
    ).first()
    if channel is None:
        return None
    channel.is_active = False
    channel.url_encrypted = ""  # the secret is not kept once unused
    channel.save(update_fields=["is_active", "url_encrypted"])
    return channel.name
