"""Review requests are a function of every snapshot seen, whatever the order
in which the snapshots arrive."""

from __future__ import annotations

import copy
import importlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.providers import get_provider
from reviews.models import PullRequest, ReviewRequest, ReviewRequestSighting
from reviews.review_requests import Episode, episodes_derive, review_requests_sync
from tests.conftest import SHARED_FIXTURES, load_payload
from tests.reviews.test_apply_order import _at, apply_all, reset

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
OCTOCAT = {"login": "octocat", "id": 583231}
HUBOT = {"login": "hubot", "id": 480938}


def at(minute: int) -> datetime:
    return START + timedelta(minutes=minute)


@pytest.mark.parametrize(
    ("_case", "sightings", "expected"),
    [
        ("asked once", [(1, ["a"]), (2, ["a"])], {"a": Episode(at(1), True)}),
        ("asked, dropped", [(1, ["a"]), (2, [])], {"a": Episode(at(1), False)}),
        (
            "asked again after a gap: the latest episode",
            [(1, ["a"]), (2, []), (3, ["a"]), (4, ["a", "b"])],
            {"a": Episode(at(3), True), "b": Episode(at(4), True)},
        ),
        ("nobody", [(1, []), (2, [])], {}),
    ],
)
def test_episodes_derive(_case, sightings, expected):
    moments = [(at(minute), logins) for minute, logins in sightings]
    for order in itertools.permutations(moments):
        assert episodes_derive(order) == expected


# --- through apply, on real payload shapes --------------------------------------

pytestmark_corpus = pytest.mark.skipif(
    not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
)


def story() -> list[tuple[str, dict[str, Any]]]:
    """octocat asked at 09:01, dropped at 09:03, asked again at 09:05 with
    hubot; octocat reviews at 09:04 (before the second request) and 09:07."""
    opened = load_payload("github", "pull_request.opened.1.json")
    review = load_payload("github", "pull_request_review.submitted.2.json")

    def pr(action: str, minute: int, reviewers: list[dict]) -> tuple[str, dict]:
        payload = copy.deepcopy(opened)
        payload["action"] = action
        payload["pull_request"].update(
            updated_at=_at(minute), requested_reviewers=reviewers
        )
        return ("pull_request", payload)

    def reviewed(minute: int, review_id: int) -> tuple[str, dict]:
        payload = copy.deepcopy(review)
        payload["pull_request"].update(
            updated_at=_at(minute), requested_reviewers=[HUBOT]
        )
        payload["review"].update(
            id=review_id,
            user={**payload["review"]["user"], **OCTOCAT},
            submitted_at=_at(minute),
            state="commented",
        )
        return ("pull_request_review", payload)

    return [
        pr("review_requested", 1, [OCTOCAT]),
        pr("review_request_removed", 3, []),
        reviewed(4, 901),
        pr("review_requested", 5, [OCTOCAT, HUBOT]),
        reviewed(7, 902),
    ]


def requests() -> list[tuple]:
    return sorted(
        ReviewRequest.objects.values_list(
            "reviewer_login", "is_active", "requested_at", "responded_at"
        )
    )


@pytestmark_corpus
@pytest.mark.django_db
def test_every_order_of_arrival_gives_the_same_requests():
    deliveries = story()
    apply_all("github", deliveries)
    # In order: octocat's latest episode started at 09:05, answered at 09:07;
    # the review snapshots at 09:04 and 09:07 show only hubot asked.
    assert requests() == [
        ("hubot", True, at(4), None),
        ("octocat", False, at(5), at(7)),
    ]
    expected = requests()
    for order in itertools.permutations(deliveries):
        reset()
        apply_all("github", list(order))
        assert requests() == expected, [event for event, _ in order]


def apply_batched(deliveries: list[tuple[str, dict]], per_transaction: int) -> None:
    """As the worker does: several events a transaction, their sightings,
    heads and people written together before each commit."""
    from django.db import transaction

    from integrations.services import repository_upsert
    from integrations.services.events import EventBatch, event_handle

    adapter = get_provider("github")
    for start in range(0, len(deliveries), per_transaction):
        with transaction.atomic():
            batch = EventBatch()
            for event_name, payload in deliveries[start : start + per_transaction]:
                event = adapter.parse(event_name, copy.deepcopy(payload))
                repository = repository_upsert(snapshot=event.repository)
                event_handle(event=event, repository=repository, batch=batch)
            batch.finish()


@pytestmark_corpus
@pytest.mark.django_db
def test_batched_in_any_order_with_replays_gives_the_same_requests():
    """The batch path writes the sightings together at the end of each
    transaction: every order, the whole story twice, in one transaction (every
    other order) or in transactions of two, gives the requests applying one by
    one gives."""
    deliveries = story()
    apply_all("github", deliveries)
    expected = requests()
    for number, order in enumerate(itertools.permutations(deliveries)):
        per_transaction = 2 if number % 2 else len(deliveries) * 2
        reset()
        apply_batched([*order, *order], per_transaction)
        assert requests() == expected, ([e for e, _ in order], per_transaction)


@pytestmark_corpus
@pytest.mark.django_db
def test_a_late_snapshot_extends_an_episode_back_and_finds_its_answer():
    deliveries = story()
    apply_all("github", [deliveries[0], deliveries[2]])  # asked 09:01, review 09:04
    assert ("octocat", False, at(1), at(4)) in requests()
    reset()
    # Asked at 09:05 first; the 09:01 sighting arrives later, but the 09:03
    # one (nobody asked) came before it: the episode still starts at 09:05.
    apply_all("github", [deliveries[3], deliveries[1], deliveries[0]])
    assert ("octocat", True, at(5), None) in requests()


@pytestmark_corpus
@pytest.mark.django_db
def test_a_snapshot_seen_before_costs_one_statement_for_its_requests():
    deliveries = story()
    apply_all("github", deliveries)
    pull = PullRequest.objects.get()
    assert ReviewRequestSighting.objects.filter(pull_request=pull).count() == 5
    with CaptureQueriesContext(connection) as queries:
        apply_all("github", [deliveries[1]])  # an older snapshot, replayed
    touching = [q["sql"] for q in queries if "reviews_reviewrequest" in q["sql"]]
    assert len(touching) == 1  # the sighting's upsert, which changed nothing
    assert "reviews_reviewrequestsighting" in touching[0]


@pytest.mark.django_db
def test_sightings_backfilled_for_stored_requests_give_them_back():
    """Requests stored before sightings were kept: the migration writes
    sightings that derive them unchanged, so a late snapshot moves nothing."""
    from django.apps import apps

    from tests.factories import PullRequestFactory

    migration = importlib.import_module(
        "reviews.migrations.0008_review_request_sightings"
    )
    pull = PullRequestFactory(
        requested_reviewers=["a", "b"], provider_updated_at=at(10)
    )
    for login, minute, active in (("a", 2, True), ("b", 5, True), ("c", 1, False)):
        ReviewRequest.objects.create(
            pull_request=pull,
            reviewer_login=login,
            requested_at=at(minute),
            is_active=active,
        )
    before = requests()
    migration.sightings_backfill(apps, None)
    sightings = ReviewRequestSighting.objects.filter(pull_request=pull)
    assert sorted(sightings.values_list("seen_at", "logins")) == [
        (at(2), ["a"]),
        (at(5), ["a", "b"]),
        (at(10), ["a", "b"]),
    ]
    review_requests_sync(pull_request=pull, seen_at=at(3), logins=["a"])
    assert requests() == before
