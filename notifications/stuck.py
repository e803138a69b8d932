"""Nudges for stuck pull requests (README "Notifications"): an approved pull
request nobody merges, one nobody has touched for days, and one asked only of
a team that nobody from it has picked up. Each is told once per episode: the
outbox key names the state it saw (the approval, the last update), so a new
episode is news again and the same one never is."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from notifications.models import Kind, Notification, TeamChannel
from notifications.services import (
    Message,
    authors_of,
    is_urgent,
    message_body,
    person_rows,
    settings_of,
    team_row,
)
from reviews.business_time import business_hours_between
from reviews.models import (
    PullRequest,
    PullState,
    Review,
    ReviewRequest,
    ReviewState,
)

APPROVED_UNMERGED = timedelta(days=2)
IDLE_WORKING_HOURS = 27  # three working days
TEAM_ONLY = timedelta(hours=4)


def stuck_pulls_notify(*, now: datetime | None = None) -> int:
    """Write the nudges due now; returns how many rows were written."""
    now = now or timezone.now()
    pulls = list(
        PullRequest.objects.filter(state=PullState.OPEN, repository__is_active=True)
        .exclude(draft=True)  # empty: no payload said it is one
        .exclude(repository__is_practice=True)
        .select_related("repository")
        .order_by("pk")[:5000]
    )
    if not pulls:
        return 0
    approvals = _standing_approvals(pulls)
    asked = set(
        ReviewRequest.objects.filter(
            pull_request__in=pulls, is_active=True, responded_at__isnull=True
        ).values_list("pull_request_id", flat=True)
    )
    authors = authors_of(pulls)
    nudges: list[tuple[PullRequest, str, str, Message]] = []  # pull, to, key, text
    for pull in pulls:
        label = f"{pull.repository.full_name}#{pull.number} {pull.title}"[:250]
        approval = approvals.get(pull.pk)
        updated = pull.provider_updated_at or pull.updated_at
        since = int(updated.timestamp())
        if approval is not None and approval[1] <= now - APPROVED_UNMERGED:
            days = (now - approval[1]).days
            text = Message(
                f"Approved, not merged: {label}"[:300],
                _body(
                    pull,
                    f"{label} was approved {days} days ago and is still open. "
                    "Merge it, or say what it waits for.",
                ),
                pull.link,
            )
            nudges.append(
                (pull, "author", f"stuck:approved:{pull.pk}:{approval[0]}", text)
            )
        elif business_hours_between(updated, now) >= IDLE_WORKING_HOURS:
            text = Message(
                f"No activity for three working days: {label}"[:300],
                _body(
                    pull,
                    f"Nothing has happened on {label} since {updated:%a %d %b}. "
                    "Ask a reviewer, close it, or mark it as a draft.",
                ),
                pull.link,
            )
            nudges.append((pull, "author", f"stuck:idle:{pull.pk}:{since}", text))
        if pull.requested_teams and pull.pk not in asked and updated <= now - TEAM_ONLY:
            hours = int((now - updated).total_seconds() // 3600)
            text = Message(
                f"Waiting on a team for {hours} hours: {label}"[:300],
                _body(
                    pull,
                    f"{label} is asked only of {', '.join(pull.requested_teams)}, "
                    "and nobody has taken it. Comment `/codequest claim` on it to "
                    "take it.",
                    for_team=True,
                ),
                pull.link,
            )
            nudges.append((pull, "team", f"stuck:team:{pull.pk}:{since}", text))
    return _write(nudges, authors, now)


def _body(pull: PullRequest, text: str, *, for_team: bool = False) -> str:
    because = "" if for_team else "you opened the pull request"
    return message_body([text], pull.link, because=because)


def _standing_approvals(pulls: list[PullRequest]) -> dict[int, tuple[int, datetime]]:
    """Pull requests whose reviewers' latest verdicts include an approval and
    no request for changes: (the latest approval's id, when)."""
    latest: dict[tuple[int, str], tuple[str, int, datetime]] = {}
    for pk, pull_id, login, state, when in (
        Review.objects.filter(pull_request__in=pulls)
        .exclude(state=ReviewState.COMMENTED)
        .order_by("submitted_at", "pk")
        .values_list("pk", "pull_request_id", "reviewer_login", "state", "submitted_at")
    ):
        latest[(pull_id, login)] = (state, pk, when)
    found: dict[int, tuple[int, datetime]] = {}
    blocked: set[int] = set()
    for (pull_id, _login), (state, pk, when) in latest.items():
        if state == ReviewState.CHANGES_REQUESTED:
            blocked.add(pull_id)
        elif state == ReviewState.APPROVED and (
            pull_id not in found or when > found[pull_id][1]
        ):
            found[pull_id] = (pk, when)
    return {
        pull_id: value for pull_id, value in found.items() if pull_id not in blocked
    }


def _write(
    nudges: list[tuple[PullRequest, str, str, Message]],
    authors: dict[tuple[str, str, str], Any],
    now: datetime,
) -> int:
    keys = [key for _, _, key, _ in nudges]
    told = set(Notification.objects.filter(key__in=keys).values_list("key", flat=True))
    channels: dict[int, list[TeamChannel]] = defaultdict(list)
    for channel in TeamChannel.objects.filter(
        organization_id__in={pull.repository.organization_id for pull, *_ in nudges},
        is_active=True,
        kinds__contains=[Kind.STUCK],
    ):
        channels[channel.organization_id].append(channel)
    choices = settings_of(list(authors.values()))
    rows = []
    for pull, to, key, message in nudges:
        if key in told:
            continue
        if to == "author":
            user = authors.get(
                (
                    pull.repository.provider,
                    pull.repository.host,
                    pull.author_login.lower(),
                )
            )
            if user is None:
                continue
            rows += person_rows(
                user,
                Kind.STUCK,
                key,
                message,
                now,
                choice=choices.get(user.pk),
                urgent=is_urgent(pull),
            )
        else:
            for channel in channels.get(pull.repository.organization_id or 0, ()):
                rows.append(team_row(channel, key, message, now, kind=Kind.STUCK))
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
