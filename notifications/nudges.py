"""Reminders about one's own review requests (README "Notifications"): the
review is overdue (the SLA check marked the request reminded), or it was
passed on to someone else after a second SLA period (marked reassigned).

Found from those marks, so each is told once per mark, whichever worker or
road set it; the outbox key names the request and the moment of the mark.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from notifications.models import Channel, Kind, Notification
from notifications.services import (
    RECENT,
    Message,
    is_urgent,
    message_body,
    message_row,
    people_of,
    person_rows,
    settings_of,
    site_login,
)
from reviews.models import (
    PullState,
    RepositoryReviewSettings,
    ReviewAssignment,
    ReviewRequest,
    SlaReminder,
)


def review_nudges_notify(*, now: datetime | None = None) -> int:
    """Write the overdue and passed-on messages not told yet; how many rows."""
    now = now or timezone.now()
    since = now - RECENT
    requests = list(
        ReviewRequest.objects.filter(
            Q(reminded_at__gte=since) | Q(reassigned_at__gte=since),
            pull_request__state=PullState.OPEN,
        )
        .select_related("pull_request__repository")
        .order_by("pk")[:2000]
    )
    if not requests:
        return 0
    modes = dict(
        RepositoryReviewSettings.objects.filter(
            repository_id__in={r.pull_request.repository_id for r in requests}
        ).values_list("repository_id", "sla_reminder")
    )
    instead = _asked_instead(requests)
    nudges: list[tuple[ReviewRequest, str, Message]] = []
    for request in requests:
        if request.reassigned_at is not None and request.reassigned_at >= since:
            key = f"reassigned:{request.pk}:{request.reassigned_at.timestamp():.6f}"
            nudges.append((request, key, _passed_on(request, instead)))
        elif (
            request.reminded_at is not None
            and request.reminded_at >= since
            and request.is_active
            and request.responded_at is None
        ):
            key = f"overdue:{request.pk}:{request.reminded_at.timestamp():.6f}"
            nudges.append((request, key, _overdue(request)))
    told = set(
        Notification.objects.filter(key__in=[key for _, key, _ in nudges]).values_list(
            "key", flat=True
        )
    )
    nudges = [nudge for nudge in nudges if nudge[1] not in told]
    people = people_of([request for request, _, _ in nudges])
    choices = settings_of([user for user, _ in people.values()])
    rows: list[Notification] = []
    for request, key, message in nudges:
        found = people.get(site_login(request))
        if found is None:
            continue
        user, profile = found
        mode = modes.get(request.pull_request.repository_id, SlaReminder.AUTO)
        if mode == SlaReminder.DASHBOARD:  # the repository wants no more
            row = message_row(user, Channel.IN_APP, key, message, now)
            row.kind, row.status, row.sent_at = Kind.REVIEW_NUDGE, "sent", now
            rows.append(row)
            continue
        rows += person_rows(
            user,
            Kind.REVIEW_NUDGE,
            key,
            message,
            now,
            choice=choices.get(user.pk),
            profile=profile,
            urgent=is_urgent(request.pull_request),
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _asked_instead(requests: list[ReviewRequest]) -> dict[int, list[str]]:
    """Who CodeQuest asked when it passed each pull request on (its latest
    reassignment)."""
    found: dict[int, list[str]] = {}
    for pull_id, reviewers in (
        ReviewAssignment.objects.filter(
            pull_request_id__in={request.pull_request_id for request in requests},
            trigger="sla_reassign",
        )
        .order_by("created_at", "pk")
        .values_list("pull_request_id", "reviewers")
    ):
        found[pull_id] = [str(login) for login in reviewers or []]
    return found


def _label(request: ReviewRequest) -> str:
    pull = request.pull_request
    return f"{pull.repository.full_name}#{pull.number} {pull.title}".strip()


def _message(request: ReviewRequest, subject: str, *lines: str) -> Message:
    link = request.pull_request.link
    body = message_body(list(lines), link, because="your review was requested")
    return Message(subject=subject[:300], body=body, url=link)


def _overdue(request: ReviewRequest) -> Message:
    return _message(
        request,
        f"Your review is overdue: {_label(request)}",
        f"{_label(request)} has waited for your review longer than the team aims for.",
        "",
        "Review it, or if you cannot soon, comment `/codequest decline` or "
        "`/codequest reroll` on it and CodeQuest asks someone else.",
    )


def _passed_on(request: ReviewRequest, instead: dict[int, list[str]]) -> Message:
    others = instead.get(request.pull_request_id, [])
    who = ", ".join(f"@{login}" for login in others) or "someone else"
    return _message(
        request,
        f"Passed on to {who}: {_label(request)}",
        f"{_label(request)} waited two review periods, so CodeQuest asked {who} "
        "instead. Nothing more is needed from you.",
    )
