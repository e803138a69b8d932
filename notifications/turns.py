"""Your turn, told to the author (README "Notifications"): a reviewer asked
for changes, someone asked a question in a comment, or the pull request was
approved. Found from the stored state (``reviews.selectors.author_turns``, the
reading the dashboard's "Your turn" and the digest use), and told once per
cause: the outbox key names the review or the comment that put the ball with
the author.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from notifications.models import Kind, Notification
from notifications.services import (
    RECENT,
    Message,
    authors_of,
    is_urgent,
    message_body,
    person_rows,
    settings_of,
)
from reviews.bots import is_bot_login
from reviews.models import PullRequest, PullState
from reviews.selectors import APPROVED_WORDS, CHANGES_WORDS, Turn, author_turns


def your_turn_notify(*, now: datetime | None = None) -> int:
    """Write a row per channel for each author whose pull request came back to
    them lately and who was not told yet; returns how many were written."""
    now = now or timezone.now()
    pulls = list(
        PullRequest.objects.filter(
            state=PullState.OPEN,
            repository__is_active=True,
            provider_updated_at__gte=now - RECENT,
        )
        .exclude(draft=True)  # empty: no payload said it is one
        .exclude(repository__is_practice=True)
        .select_related("repository")
        .order_by("pk")[:2000]
    )
    turns = {
        pk: turn for pk, turn in author_turns(pulls).items() if turn.at >= now - RECENT
    }
    pulls = [
        pull for pull in pulls if pull.pk in turns and _after_followed(pull, turns)
    ]
    if not pulls:
        return 0
    keys = {pull.pk: f"turn:{pull.pk}:{turns[pull.pk].cause}" for pull in pulls}
    told = set(
        Notification.objects.filter(key__in=keys.values()).values_list("key", flat=True)
    )
    authors = authors_of(pulls)
    choices = settings_of(list(authors.values()))
    rows = []
    for pull in pulls:
        site = (pull.repository.provider, pull.repository.host)
        user = authors.get((*site, pull.author_login.lower()))
        turn = turns[pull.pk]
        if user is None or keys[pull.pk] in told:
            continue
        rows += person_rows(
            user,
            Kind.YOUR_TURN,
            keys[pull.pk],
            _message(pull, turn),
            now,
            choice=choices.get(user.pk),
            urgent=is_urgent(pull),
            from_bot=is_bot_login(turn.by),
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _after_followed(pull: PullRequest, turns: dict[int, Turn]) -> bool:
    """History from before the repository was followed is not news."""
    since = pull.repository.followed_since
    return since is None or turns[pull.pk].at >= since


def _message(pull: PullRequest, turn: Turn) -> Message:
    label = f"{pull.repository.full_name}#{pull.number}"
    if turn.words == CHANGES_WORDS:
        subject = f"Changes requested by @{turn.by}: {label} {pull.title}"
        first = f"@{turn.by} asks for changes on {label}: {pull.title}"
    elif turn.words == APPROVED_WORDS:
        subject = f"Approved by @{turn.by}: {label} {pull.title}"
        first = f"@{turn.by} approved {label}: {pull.title}. Ready to merge?"
    else:
        subject = f"A question from @{turn.by}: {label} {pull.title}"
        first = f"@{turn.by} asked a question on {label}: {pull.title}"
    body = message_body(
        [first, "", "The ball is with you."],
        pull.link,
        because="you opened the pull request",
    )
    return Message(subject=subject[:300], body=body, url=pull.link)
