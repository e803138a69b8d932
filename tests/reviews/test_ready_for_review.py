"""Time to first review starts when the pull request is ready for review, not
while it is a draft: ``ready_at`` is the first moment seen ready, whatever the
order of deliveries (duplicates included), and a second round (back to draft,
ready again) keeps the first one's start."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from integrations.models import ConnectedRepository
from integrations.providers import get_provider
from integrations.services import repository_upsert
from reviews.models import PullRequest, Review
from reviews.services import event_apply
from reviews.stats import _compute
from tests.conftest import SHARED_FIXTURES, load_payload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def story() -> list[tuple[str, dict]]:
    """Opened as a draft on Monday at 9, ready on Tuesday at 9, labelled at 10,
    back to draft at 11 and ready again at 12 (the recorded payloads, dated)."""

    def event(name: str, at: datetime, draft: bool) -> tuple[str, dict]:
        payload = load_payload("github", f"{name}.json")
        payload["pull_request"].update(
            created_at=stamp(MONDAY_9), updated_at=stamp(at), draft=draft
        )
        return ("pull_request", payload)

    tuesday = MONDAY_9 + timedelta(days=1)
    return [
        event("pull_request.opened.1", MONDAY_9, True),
        event("pull_request.ready_for_review.1", tuesday, False),
        event("pull_request.labeled.1", tuesday + timedelta(hours=1), False),
        event("pull_request.converted_to_draft.1", tuesday + timedelta(hours=2), True),
        event("pull_request.ready_for_review.2", tuesday + timedelta(hours=3), False),
    ]


def apply(events: list[tuple[str, dict]]) -> PullRequest:
    provider = get_provider("github")
    for name, payload in events:
        event = provider.parse(name, copy.deepcopy(payload))
        event_apply(
            event=event, repository=repository_upsert(snapshot=event.repository)
        )
    return PullRequest.objects.get()


def test_ready_at_is_the_first_moment_seen_ready_in_any_order():
    events = story()
    tuesday_9 = MONDAY_9 + timedelta(days=1)
    for order in itertools.permutations(range(len(events))):
        PullRequest.objects.all().delete()
        ConnectedRepository.objects.all().delete()
        shuffled = [events[index] for index in order]
        pull = apply(shuffled + shuffled[:2])  # with duplicates
        assert (pull.ready_at, pull.draft) == (tuesday_9, False), order


def test_a_draft_never_made_ready_has_no_start():
    pull = apply(story()[:1])
    assert (pull.draft, pull.ready_at) == (True, None)


def test_the_time_to_first_review_counts_from_ready():
    pull = apply(story())
    Review.objects.create(
        pull_request=pull,
        external_id="1",
        reviewer_login="alice",
        state="approved",
        submitted_at=MONDAY_9 + timedelta(days=1, hours=2),  # Tuesday 11:00
    )
    stats = _compute(
        ConnectedRepository.objects.all(), 28, datetime(2026, 11, 30, tzinfo=UTC)
    )
    # Two working hours after it was ready, not eleven after it was opened.
    assert (stats.time_to_first_review.count, stats.time_to_first_review.median) == (
        1,
        2,
    )
