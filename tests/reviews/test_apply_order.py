"""Apply is idempotent and order-proof: shuffled and duplicated deliveries end in
the provider's truth (the state after the last event in provider order)."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.models import ConnectedRepository
from integrations.providers import get_provider
from integrations.services import repository_upsert
from reviews.models import (
    Comment,
    PullRequest,
    PullRequestHead,
    Review,
    ReviewRequest,
)
from reviews.services import event_apply
from tests.conftest import SHARED_FIXTURES, load_payload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def github_story() -> list[tuple[str, dict[str, Any]]]:
    """A PR's life, built on the real opened/review payloads with rising times."""
    opened = load_payload("github", "pull_request.opened.1.json")
    review = load_payload("github", "pull_request_review.submitted.2.json")
    comment = load_payload("github", "pull_request_review_comment.created.2.json")

    def pr_event(action: str, minute: int, **changes: Any) -> dict[str, Any]:
        payload = copy.deepcopy(opened)
        payload["action"] = action
        # Labelled at minute 1: every later snapshot carries the label.
        changes.setdefault("labels", [{"name": "bug"}] if minute >= 1 else [])
        payload["pull_request"].update(updated_at=_at(minute), **changes)
        return payload

    reviewed = copy.deepcopy(review)
    reviewed["pull_request"]["updated_at"] = _at(6)
    reviewed["review"].update(state="approved", submitted_at=_at(6))
    commented = copy.deepcopy(comment)
    commented["pull_request"]["updated_at"] = _at(6)
    commented["comment"]["updated_at"] = _at(6)
    return [
        ("pull_request", pr_event("opened", 0, requested_reviewers=[])),
        ("pull_request", pr_event("labeled", 1, labels=[{"name": "bug"}])),
        (
            "pull_request",
            pr_event(
                "review_requested",
                2,
                requested_reviewers=[{"login": "octocat", "id": 583231}],
            ),
        ),
        ("pull_request", pr_event("converted_to_draft", 3, draft=True)),
        (
            "pull_request",
            pr_event(
                "synchronize",
                4,
                draft=True,
                head={**opened["pull_request"]["head"], "sha": "f" * 40},
            ),
        ),
        (
            "pull_request",
            pr_event(
                "ready_for_review",
                5,
                draft=False,
                head={**opened["pull_request"]["head"], "sha": "f" * 40},
            ),
        ),
        ("pull_request_review", reviewed),
        ("pull_request_review_comment", commented),
        (
            "pull_request",
            pr_event(
                "closed",
                9,
                state="closed",
                merged=True,
                merged_at=_at(9),
                closed_at=_at(9),
                head={**opened["pull_request"]["head"], "sha": "f" * 40},
            ),
        ),
    ]


def apply_all(provider: str, deliveries: list[tuple[str, dict[str, Any]]]) -> None:
    adapter = get_provider(provider)
    for event_name, payload in deliveries:
        event = adapter.parse(event_name, payload)
        assert event is not None
        repository = repository_upsert(snapshot=event.repository)
        event_apply(event=event, repository=repository)


def snapshot_state() -> dict[str, Any]:
    pull = PullRequest.objects.get()
    return {
        "pull": {
            field: getattr(pull, field)
            for field in (
                "title",
                "author_login",
                "state",
                "draft",
                "head_sha",
                "base_ref",
                "requested_reviewers",
                "labels",
                "merged_at",
                "provider_updated_at",
            )
        },
        "heads": sorted(PullRequestHead.objects.values_list("sha", "seen_at")),
        "reviews": sorted(Review.objects.values_list("reviewer_login", "state")),
        "comments": sorted(Comment.objects.values_list("external_id", "body")),
        "requests": sorted(
            ReviewRequest.objects.values_list(
                "reviewer_login", "is_active", "requested_at", "responded_at"
            )
        ),
        "repositories": ConnectedRepository.objects.count(),
    }


def reset() -> None:
    ConnectedRepository.objects.all().delete()


def test_github_story_in_order_matches_the_last_event():
    story = github_story()
    apply_all("github", story)
    state = snapshot_state()
    last = story[-1][1]["pull_request"]
    assert state["pull"]["state"] == "merged"
    assert state["pull"]["draft"] is False
    assert state["pull"]["head_sha"] == "f" * 40
    assert state["pull"]["labels"] == ["bug"]
    assert state["pull"]["provider_updated_at"].strftime("%H:%M") == "09:09"
    assert state["pull"]["merged_at"] is not None
    assert [sha for sha, _ in state["heads"]] == sorted(
        [last["head"]["sha"], "ec26c3e57ca3a959ca5aad62de7213c562f8c821"]
    )
    assert state["reviews"] == [("Codertocat", "approved")]
    assert len(state["comments"]) == 1
    # octocat: asked at 09:02, no longer at 09:03, asked again at 09:06 (the
    # review's snapshot), not any more at the merge; never answered.
    assert state["requests"] == [("octocat", False, START + timedelta(minutes=6), None)]


@pytest.mark.parametrize("seed", range(25))
def test_github_story_shuffled_and_duplicated_ends_the_same(seed):
    story = github_story()
    apply_all("github", story)
    expected = snapshot_state()
    reset()
    rng = random.Random(seed)
    shuffled = story + rng.sample(story, k=4)  # duplicates too
    rng.shuffle(shuffled)
    apply_all("github", shuffled)
    got = snapshot_state()
    assert got["pull"] == expected["pull"]
    assert got == expected


def test_closed_before_opened_stays_closed():
    story = github_story()
    apply_all("github", [story[-1], story[0]])
    assert PullRequest.objects.get().state == "merged"


def test_applying_twice_changes_nothing():
    story = github_story()
    apply_all("github", story)
    first = snapshot_state()
    updated = PullRequest.objects.values_list("updated_at", flat=True).get()
    with CaptureQueriesContext(connection) as queries:
        apply_all("github", story)
    assert snapshot_state() == first
    assert PullRequest.objects.values_list("updated_at", flat=True).get() == updated
    # A review or comment stored before is found without a failed INSERT, so
    # without a savepoint to recover from one.
    assert [q["sql"] for q in queries if "SAVEPOINT" in q["sql"]] == []


def test_dismissed_review_is_not_resurrected_by_a_late_submitted():
    story = github_story()
    review_event = story[6][1]
    dismissed = copy.deepcopy(review_event)
    dismissed["action"] = "dismissed"
    dismissed["review"]["state"] = "dismissed"
    apply_all("github", [("pull_request_review", dismissed)])
    apply_all("github", [("pull_request_review", review_event)])
    assert Review.objects.get().state == "dismissed"


def test_deleted_comment_stays_deleted():
    story = github_story()
    created = story[7][1]
    deleted = copy.deepcopy(created)
    deleted["action"] = "deleted"
    apply_all("github", [("pull_request_review_comment", deleted)])
    apply_all("github", [("pull_request_review_comment", created)])
    assert Comment.objects.get().is_deleted is True


# --- GitLab --------------------------------------------------------------------


def gitlab_story() -> list[tuple[str, dict[str, Any]]]:
    base = load_payload("gitlab", "merge_request.update.7.json")

    def mr(action: str, minute: int, **changes: Any) -> dict[str, Any]:
        payload = copy.deepcopy(base)
        payload["object_attributes"].update(
            action=action, updated_at=_at(minute).replace("T", " ").replace("Z", " UTC")
        )
        payload["object_attributes"].update(changes)
        payload.pop("reviewers", None)
        payload["changes"] = {}
        return payload

    opened = mr("open", 0)
    reviewers = mr("update", 1)
    reviewers["reviewers"] = base["reviewers"]
    pushed = mr("update", 2, oldrev="a" * 40, last_commit={"id": "b" * 40})
    pushed["reviewers"] = base["reviewers"]
    approved = mr("approved", 3, last_commit={"id": "b" * 40})
    approved["reviewers"] = base["reviewers"]
    merged = mr("merge", 4, state="merged", last_commit={"id": "b" * 40})
    merged["reviewers"] = base["reviewers"]
    hook = "Merge Request Hook"
    return [
        (hook, opened),
        (hook, reviewers),
        (hook, pushed),
        (hook, approved),
        (hook, merged),
    ]


@pytest.mark.parametrize("seed", range(15))
def test_gitlab_story_shuffled_and_duplicated_ends_the_same(seed):
    story = gitlab_story()
    apply_all("gitlab", story)
    expected = snapshot_state()
    assert expected["pull"]["state"] == "merged"
    assert expected["pull"]["head_sha"] == "b" * 40
    assert expected["pull"]["requested_reviewers"] == ["sheather"]
    assert expected["reviews"] == [("sheather", "approved")]
    reset()
    rng = random.Random(seed)
    shuffled = story + rng.sample(story, k=3)
    rng.shuffle(shuffled)
    apply_all("gitlab", shuffled)
    got = snapshot_state()
    assert got["pull"] == expected["pull"]
    assert got == expected


def test_gitlab_unapproval_after_approval_dismisses():
    story = gitlab_story()
    approved = story[3][1]
    unapproved = copy.deepcopy(approved)
    unapproved["object_attributes"]["action"] = "unapproved"
    unapproved["object_attributes"]["updated_at"] = "2024-03-01 09:03:30 UTC"
    apply_all(
        "gitlab", [("Merge Request Hook", unapproved), ("Merge Request Hook", approved)]
    )
    assert Review.objects.get().state == "dismissed"


def same_second_pairs() -> list[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """Pairs of real-shaped deliveries stamped with the same second, and the
    state the pull request was in after both."""
    opened = load_payload("github", "pull_request.opened.1.json")
    new_head = {**opened["pull_request"]["head"], "sha": "e" * 40}

    def event(action: str, **changes: Any) -> dict[str, Any]:
        payload = copy.deepcopy(opened)
        payload["action"] = action
        payload["pull_request"].update(updated_at=_at(9), **changes)
        return payload

    return [
        (
            "push then ready for review",
            [
                event("synchronize", draft=True, head=new_head),
                event("ready_for_review", draft=False, head=new_head),
            ],
            {"draft": False, "head_sha": "e" * 40},
        ),
        (
            "push then converted to draft",
            [
                event("synchronize", draft=False, head=new_head),
                event("converted_to_draft", draft=True, head=new_head),
            ],
            {"draft": True, "head_sha": "e" * 40},
        ),
        (
            "labelled then closed",
            [
                event("labeled", labels=[{"name": "wontfix"}]),
                event(
                    "closed",
                    state="closed",
                    closed_at=_at(9),
                    labels=[{"name": "wontfix"}],
                ),
            ],
            {"state": "closed"},
        ),
    ]


@pytest.mark.parametrize(
    ("_case", "pair", "expected"),
    same_second_pairs(),
    ids=[case[0] for case in same_second_pairs()],
)
@pytest.mark.parametrize("reverse", [False, True])
def test_snapshots_of_the_same_second_resolve_to_the_later_state(
    _case, pair, expected, reverse
):
    opened = load_payload("github", "pull_request.opened.1.json")
    opened["pull_request"]["updated_at"] = _at(0)
    ordered = list(reversed(pair)) if reverse else pair
    apply_all("github", [("pull_request", opened)])
    apply_all("github", [("pull_request", payload) for payload in ordered])

    pull = PullRequest.objects.get()
    assert {field: getattr(pull, field) for field in expected} == expected
