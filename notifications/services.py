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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
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
)
from notifications.tasks import notifications_send_due_task
from reviews.business_time import business_deadline, next_working_moment
from reviews.models import (
    ProviderIdentity,
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
    people = _people_of(requests)
    keys = {_key(request) for request in requests}
    told = set(
        Notification.objects.filter(key__in=keys).values_list(
            "key", "recipient_id", "channel"
        )
    )
    reasons = _reasons(requests)
    sla = _sla_hours(requests)
    choices = _settings_of([user for user, _ in people.values()])
    rows = []
    for request in requests:
        found = people.get(_site_login(request))
        if found is None:
            continue  # nobody here has that login linked
        user, profile = found
        message = _review_requested(request, reasons, sla, profile)
        key = _key(request)
        rows.append(
            message_row(
                user, Channel.IN_APP, key, message, now, status=Notification.Status.SENT
            )
        )
        choice = choices.get(user.pk)
        quiet = choice is None or choice.quiet_outside_working_hours
        due = _working_hour(now, profile) if quiet else now
        if user.email and (choice is None or choice.email_review_requests):
            rows.append(message_row(user, Channel.EMAIL, key, message, due))
        if slack_reaches(user, choice) and (
            choice is None or choice.slack_review_requests
        ):
            rows.append(message_row(user, Channel.SLACK, key, message, due))
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
        organization_id__in=teams, is_active=True, review_requests=True
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


def _site_login(request: ReviewRequest) -> tuple[str, str, str]:
    repository = request.pull_request.repository
    return (repository.provider, repository.host, request.reviewer_login.lower())


def _people_of(
    requests: list[ReviewRequest],
) -> dict[tuple[str, str, str], tuple[Any, ReviewerProfile | None]]:
    """The person (an account) behind each requested login, with the reviewer
    profile of that login (their working hours): one query."""
    match = Q()
    for provider, host, login in {_site_login(request) for request in requests}:
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


def _settings_of(users: list[Any]) -> dict[int, NotificationSettings]:
    return {
        row.user_id: row
        for row in NotificationSettings.objects.filter(
            user_id__in={user.pk for user in users}
        )
    }


def _working_day(profile: ReviewerProfile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return {
        "zone": profile.timezone,
        "start_hour": profile.workday_start_hour,
        "end_hour": profile.workday_end_hour,
    }


def _working_hour(now: datetime, profile: ReviewerProfile | None) -> datetime:
    return next_working_moment(now, **_working_day(profile))


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
    due = business_deadline(request.requested_at, hours, **_working_day(profile))
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
    if link:
        lines += ["", link]
    if not for_team:
        lines += [
            "",
            "You get this because your review was requested. Change what "
            "CodeQuest sends you on the dashboard, under Notifications.",
        ]
    asked = f" from @{request.reviewer_login}" if for_team else ""
    subject = f"Review requested{asked}: {repository.full_name}#{pull.number}"
    return Message(
        subject=f"{subject} {pull.title}"[:300],
        body="\n".join(lines),
        url=link,
    )


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
            for row in rows:
                outcomes[_send(row, now)] += 1
        if len(rows) < SEND_BATCH:
            return dict(outcomes)


def _send(row: Notification, now: datetime) -> str:
    row.attempts += 1
    try:
        CHANNELS[row.channel](row)
    except Exception as exc:  # noqa: BLE001 - any channel failure is retried
        row.error = f"{exc.__class__.__name__}: {exc}"[:500]
        final = isinstance(exc, Unreachable | ChannelGone)
        if row.team_channel is not None:
            TeamChannel.objects.filter(pk=row.team_channel_id).update(
                last_error=row.error
            )
        if row.attempts >= MAX_ATTEMPTS or final:
            row.status, outcome = Notification.Status.FAILED, "failed"
        else:  # 1, 2, 4, 8, 16 minutes
            row.due_at = now + timedelta(minutes=2 ** (row.attempts - 1))
            outcome = "retrying"
        logger.warning(
            "notifications.send_failed",
            extra={"notification": row.pk, "channel": row.channel, "error": row.error},
        )
    else:
        row.status, row.sent_at, row.error, outcome = (
            Notification.Status.SENT,
            now,
            "",
            "sent",
        )
    row.save(update_fields=["attempts", "status", "sent_at", "error", "due_at"])
    metrics.notifications.labels(row.channel, row.kind, outcome).inc()
    return outcome


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
}


def _slack(row: Notification) -> None:
    """A direct message from the bot: ``chat.postMessage`` to the person's
    member id, found once with ``users.lookupByEmail`` and kept."""
    client = WebClient(
        token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL, timeout=10
    )
    choice = settings_for(row.recipient)
    try:
        if not choice.slack_user_id:
            if not row.recipient.email:
                raise Unreachable("no Slack member id and no email address to find one")
            found = client.users_lookupByEmail(email=row.recipient.email)
            choice.slack_user_id = str(found["user"]["id"])[:30]
            choice.save(update_fields=["slack_user_id", "updated_at"])
        text = f"*{_slack_escaped(row.subject)}*\n{_slack_escaped(row.body)}"
        client.chat_postMessage(
            channel=choice.slack_user_id,
            text=text,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "unknown")
        if error in SLACK_FINAL_ERRORS:
            raise Unreachable(f"Slack answered {error}") from None
        raise RuntimeError(f"Slack answered {error}") from None


def _slack_escaped(text: str) -> str:
    """Slack reads <…> as links and mentions (``<!channel>``): a pull request
    title is the author's text, so &, < and > are escaped as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _team(row: Notification) -> None:
    if row.team_channel is None or not row.team_channel.is_active:
        raise Unreachable("the team channel was removed")
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
    *, team: Any, by: Any, kind: str, name: str, url: str
) -> TeamChannel:
    """A channel for the team; ``url`` checked already (``channel_url_check``)."""
    channel = TeamChannel(
        organization=team,
        kind=kind,
        name=name.strip()[:100],
        host=(urlsplit(url).hostname or "")[:255],
        created_by=by,
    )
    channel.url = url
    channel.save()
    return channel


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
