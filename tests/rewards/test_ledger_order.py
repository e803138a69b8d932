"""The ledger is a function of the state: every order of a realistic set of
deliveries for one pull request, each with a duplicate, ends in one ledger."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from integrations.providers import get_provider
from integrations.services import repository_upsert
from integrations.services.events import event_handle
from rewards.models import PointsEntry
from rewards.services import base_key
from tests.conftest import SHARED_FIXTURES, load_payload
from tests.reviews.test_apply_order import _at

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

OCTOCAT = {"login": "octocat", "id": 583231, "type": "User"}
HUBOT = {"login": "hubot", "id": 480938, "type": "User"}


def deliveries() -> list[tuple[str, dict[str, Any]]]:
    """Opened with a review request, two reviews, an inline comment, merged:
    real payload shapes with rising provider times."""
    opened = load_payload("github", "pull_request.opened.1.json")
    review = load_payload("github", "pull_request_review.submitted.2.json")
    comment = load_payload("github", "pull_request_review_comment.created.2.json")

    def pr(action: str, minute: int, **changes: Any) -> dict[str, Any]:
        payload = copy.deepcopy(opened)
        payload["action"] = action
        payload["pull_request"].update(
            updated_at=_at(minute), additions=180, deletions=40, **changes
        )
        return payload

    def reviewed(user: dict, state: str, minute: int, review_id: int) -> dict:
        payload = copy.deepcopy(review)
        payload["pull_request"]["updated_at"] = _at(minute)
        payload["review"].update(
            id=review_id, user=user, state=state, submitted_at=_at(minute), body=""
        )
        return payload

    inline = copy.deepcopy(comment)
    inline["pull_request"]["updated_at"] = _at(6)
    inline["comment"].update(
        user=OCTOCAT,
        body="This loop never ends when the list is empty; guard it.",
        created_at=_at(6),
        updated_at=_at(6),
    )
    return [
        ("pull_request", pr("review_requested", 1, requested_reviewers=[OCTOCAT])),
        ("pull_request_review", reviewed(OCTOCAT, "approved", 6, 237895671)),
        ("pull_request_review_comment", inline),
        ("pull_request_review", reviewed(HUBOT, "changes_requested", 7, 900001)),
        (
            "pull_request",
            pr(
                "closed",
                9,
                state="closed",
                merged=True,
                merged_at=_at(9),
                closed_at=_at(9),
            ),
        ),
    ]


def handle_all(sequence: list[tuple[str, dict[str, Any]]]) -> None:
    adapter = get_provider("github")
    for event_name, payload in sequence:
        event = adapter.parse(event_name, payload)
        repository = repository_upsert(snapshot=event.repository)
        event_handle(event=event, repository=repository)


def ledger() -> Counter:
    """What each login holds, per rule, credit and moment (zero nets dropped)."""
    held: Counter = Counter()
    for login, rule, source, earned_at, points in PointsEntry.objects.values_list(
        "identity__login", "rule__key", "source", "earned_at", "points"
    ):
        kind, _pull_id, *rest = base_key(source).split(":")  # ids differ per run
        held[(login, rule, ":".join([kind, *rest]), earned_at)] += points
    return +held


class Rollback(Exception):
    pass


def ledger_after(sequence: list[tuple[str, dict[str, Any]]]) -> Counter:
    result: Counter = Counter()
    try:
        with transaction.atomic():
            handle_all(sequence)
            result = ledger()
            raise Rollback
    except Rollback:
        pass
    return result


def test_the_ledger_in_provider_order_pays_what_the_rules_say():
    held = ledger_after(deliveries())
    totals = Counter()
    for (login, rule, _key, _moment), points in held.items():
        totals[(login, rule)] += points
    assert dict(totals) == {
        ("octocat", "review_session"): 10,
        ("octocat", "review_comment"): 2,
        ("octocat", "review_size"): 4,
        ("octocat", "review_timely"): 3,
        ("octocat", "merge_reviewer"): 3,
        ("hubot", "review_session"): 10,
        ("hubot", "review_size"): 4,
        ("hubot", "merge_reviewer"): 3,
        ("Codertocat", "merge_author"): 5,
    }


def test_every_order_with_duplicates_ends_in_the_same_ledger():
    events = deliveries()
    expected = ledger_after(events)
    assert expected
    for number, order in enumerate(itertools.permutations(range(len(events)))):
        sequence = [events[index] for index in order]
        # A duplicate (a redelivery or a replay) of one of them, somewhere.
        sequence.insert(number % (len(sequence) + 1), events[number % len(events)])
        assert ledger_after(sequence) == expected, (order, number)
