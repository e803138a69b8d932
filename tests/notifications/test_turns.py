"""Your turn: what puts the ball with a pull request's author (changes
requested, an unanswered question, an approval), read the same on the
dashboard, in the digest and in the message the author gets once per cause."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from integrations.models import ConnectedRepository
from notifications.models import Notification
from notifications.services import notifications_send_due
from notifications.turns import your_turn_notify
from reviews.selectors import asks, author_turns
from tests.conftest import load_payload
from tests.factories import CommentFactory, PullRequestFactory, ReviewFactory
from tests.notifications.test_review_requested import deliver, person, requested
from tests.notifications.test_review_requested import (
    pytestmark as corpus_marks,
)

pytestmark = corpus_marks


@pytest.mark.parametrize(
    ("body", "asked"),
    [
        ("Why not reuse the cache here?", True),
        ("Looks good.\nShould we also bump the version?  ", True),
        ("Could this be `None?` (see below)?", True),
        ("**Is this thread-safe?**", True),
        ("> Why not reuse the cache here?\nBecause it is cold.", False),
        ("```python\nx = a if b else c  # why?\n```\nFine.", False),
        ("See https://example.com/search?q=cache for the numbers.", False),
        ("/codequest why?", False),
        ("Use `maybe?` here.", False),
        ("", False),
    ],
)
def test_what_counts_as_a_question(body, asked):
    assert asks(body) is asked


def test_the_ball_is_with_the_author_for_one_reason_at_a_time():
    pull = PullRequestFactory(author_login="mona")
    assert author_turns([pull]) == {}
    # A question from a reviewer: the author's turn, until they answer.
    question = CommentFactory(
        pull_request=pull, author_login="hubot", body="Why a new table?"
    )
    (turn,) = author_turns([pull]).values()
    assert (turn.words, turn.cause, turn.by) == (
        "a question from @hubot: your turn",
        f"comment:{question.pk}",
        "hubot",
    )
    CommentFactory(
        pull_request=pull,
        author_login="Mona",
        body="It keeps history.",
        provider_created_at=question.provider_created_at + timedelta(minutes=1),
    )
    assert author_turns([pull]) == {}
    # Bots and resolved threads do not ask.
    CommentFactory(
        pull_request=pull,
        author_login="linter[bot]",
        body="Did you mean `ruff`?",
        provider_created_at=question.provider_created_at + timedelta(minutes=2),
    )
    CommentFactory(
        pull_request=pull,
        author_login="hubot",
        body="And the index?",
        is_resolved=True,
        provider_created_at=question.provider_created_at + timedelta(minutes=3),
    )
    assert author_turns([pull]) == {}
    # An approval; then another reviewer asks for changes, which comes first.
    approval = ReviewFactory(pull_request=pull, reviewer_login="hubot")
    assert author_turns([pull])[pull.pk].words == "approved: ready to merge?"
    changes = ReviewFactory(
        pull_request=pull, reviewer_login="octocat", state="changes_requested"
    )
    turn = author_turns([pull])[pull.pk]
    assert (turn.words, turn.cause) == (
        "changes requested: your turn",
        f"review:{changes.pk}",
    )
    # The same reviewer approves later: their latest verdict counts.
    later = ReviewFactory(
        pull_request=pull,
        reviewer_login="octocat",
        submitted_at=changes.submitted_at + timedelta(hours=1),
    )
    turn = author_turns([pull])[pull.pk]
    assert (turn.words, turn.cause) == (
        "approved: ready to merge?",
        f"review:{later.pk}",
    )
    assert approval.pk < later.pk


def review(state: str, by: str, at, review_id: int) -> dict:
    """The recorded ``pull_request_review.submitted``, by someone else, now."""
    payload = load_payload("github", "pull_request_review.submitted.1.json")
    payload["review"].update(id=review_id, state=state, submitted_at=_stamp(at))
    payload["review"]["user"] = {**payload["review"]["user"], "login": by}
    payload["pull_request"]["updated_at"] = _stamp(at)
    return payload


def _stamp(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_author_is_told_once_per_cause_whatever_replays(
    client, django_capture_on_commit_callbacks, settings, eager_celery
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Codertocat opened the recorded pull request; Mona is Codertocat here.
    user, _ = person(
        login="Codertocat",
        quiet_outside_working_hours=False,
        kinds={"your_turn": {"email": True}},
    )
    now = timezone.now()
    deliver(client, requested(minutes_ago=10), django_capture_on_commit_callbacks)
    ConnectedRepository.objects.update(followed_since=now - timedelta(days=1))
    assert your_turn_notify() == 0  # nothing back with the author yet

    changes = review("changes_requested", "octocat", now - timedelta(minutes=5), 1)
    for _ in range(2):  # delivered twice
        deliver(
            client,
            copy.deepcopy(changes),
            django_capture_on_commit_callbacks,
            event="pull_request_review",
        )
    assert your_turn_notify() == 2  # dashboard and email
    assert your_turn_notify() == 0
    notifications_send_due()
    (message,) = mail.outbox
    assert message.subject == (
        "Changes requested by @octocat: Codertocat/Hello-World#2 "
        "Update the README with new information."
    )
    assert "The ball is with you." in message.body
    assert "https://github.com/Codertocat/Hello-World/pull/2" in message.body

    # octocat approves after the fix: a new cause, told once.
    approved = review("approved", "octocat", now - timedelta(minutes=1), 2)
    deliver(client, approved, django_capture_on_commit_callbacks, "pull_request_review")
    your_turn_notify()
    your_turn_notify()
    notifications_send_due()
    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "Changes requested by @octocat",
        "Approved by @octocat",
    ]
    assert Notification.objects.filter(recipient=user, kind="your_turn").count() == 4


def test_history_from_before_following_is_not_news(
    client, django_capture_on_commit_callbacks, eager_celery
):
    person(login="Codertocat", quiet_outside_working_hours=False)
    now = timezone.now()
    deliver(client, requested(minutes_ago=10), django_capture_on_commit_callbacks)
    deliver(
        client,
        review("changes_requested", "octocat", now - timedelta(minutes=5), 1),
        django_capture_on_commit_callbacks,
        "pull_request_review",
    )
    ConnectedRepository.objects.update(followed_since=now)  # followed since now
    assert your_turn_notify() == 0
