"""The ledger: what earns points, what never does, and nothing paid twice."""

from __future__ import annotations

import copy
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.providers.base import (
    EventKind,
    NormalizedEvent,
    ReviewSnapshot,
    ReviewState,
    UserRef,
)
from reviews.models import ReviewAssignment
from rewards.models import PointsEntry
from rewards.services import points_award
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.factories import PullRequestFactory

pytestmark = pytest.mark.django_db


def review_event(
    pull,
    *,
    login="hubot",
    state=ReviewState.APPROVED,
    body="",
    kind=None,
    submitted_at=None,
    is_bot=False,
):
    return NormalizedEvent(
        kind=kind or EventKind.REVIEW_SUBMITTED,
        provider="github",
        occurred_at=timezone.now(),
        review=ReviewSnapshot(
            external_id="1",
            reviewer=UserRef(login, "9", is_bot),
            state=state,
            submitted_at=submitted_at or timezone.now(),
            body=body,
            commit_sha=pull.head_sha,
        ),
    )


@pytest.fixture
def pull():
    return PullRequestFactory(
        author_login="octocat",
        additions=10,
        deletions=5,
        provider_created_at=timezone.now() - timedelta(hours=2),
    )


def total(login):
    return sum(
        PointsEntry.objects.filter(identity__login=login).values_list(
            "points", flat=True
        )
    )


def test_a_review_with_a_verdict_earns_a_session_once(pull):
    event = review_event(pull)
    assert len(points_award(event=event, pull_request=pull)) == 1
    assert points_award(event=event, pull_request=pull) == []  # replayed
    entry = PointsEntry.objects.get()
    assert (entry.points, entry.rule.key, entry.rule_version) == (
        10,
        "review_session",
        1,
    )


@pytest.mark.parametrize(
    ("_case", "changes"),
    [
        ("own pull request", {"login": "octocat"}),
        ("a bot", {"login": "dependabot[bot]", "is_bot": True}),
        ("no verdict, short comment", {"state": ReviewState.COMMENTED, "body": "nice"}),
    ],
)
def test_what_never_earns_points(pull, _case, changes):
    assert points_award(event=review_event(pull, **changes), pull_request=pull) == []
    assert PointsEntry.objects.count() == 0


def test_a_real_comment_without_verdict_counts(pull):
    event = review_event(
        pull, state=ReviewState.COMMENTED, body="This loop never ends when n=0."
    )
    assert len(points_award(event=event, pull_request=pull)) == 1


def test_rubber_stamp_on_a_big_change_earns_nothing(pull):
    pull.additions = 400
    pull.save()
    ReviewAssignment.objects.create(
        pull_request=pull, trigger="opened", strategy="load_balance", status="requested"
    )
    quick = review_event(pull, submitted_at=timezone.now() + timedelta(seconds=30))
    assert points_award(event=quick, pull_request=pull) == []
    considered = review_event(pull, submitted_at=timezone.now() + timedelta(minutes=20))
    assert len(points_award(event=considered, pull_request=pull)) == 1


def test_dismissal_is_a_compensating_entry(pull):
    points_award(event=review_event(pull), pull_request=pull)
    dismissed = review_event(
        pull, kind=EventKind.REVIEW_DISMISSED, state=ReviewState.DISMISSED
    )
    points_award(event=dismissed, pull_request=pull)
    points_award(event=dismissed, pull_request=pull)
    assert sorted(PointsEntry.objects.values_list("points", flat=True)) == [-10, 10]
    assert total("hubot") == 0


def test_merge_pays_the_author_and_the_credited_reviewers(pull):
    points_award(event=review_event(pull), pull_request=pull)
    merged = NormalizedEvent(
        kind=EventKind.PR_MERGED, provider="github", occurred_at=timezone.now()
    )
    points_award(event=merged, pull_request=pull)
    points_award(event=merged, pull_request=pull)
    assert (total("octocat"), total("hubot")) == (5, 13)


def test_merge_without_review_pays_nobody(pull):
    merged = NormalizedEvent(
        kind=EventKind.PR_MERGED, provider="github", occurred_at=timezone.now()
    )
    assert points_award(event=merged, pull_request=pull) == []


def test_daily_cap(settings):
    settings.REWARDS_DAILY_CAP = 25
    for number in range(4):
        pull = PullRequestFactory(author_login="octocat", number=100 + number)
        points_award(event=review_event(pull), pull_request=pull)
    assert list(
        PointsEntry.objects.order_by("id").values_list("points", flat=True)
    ) == [10, 10, 5]


def test_rule_changes_bump_the_version_and_new_entries_record_it(pull):
    from rewards.services import rule_get

    rule = rule_get("review_session")
    rule.points = 12
    rule.save()
    points_award(event=review_event(pull), pull_request=pull)
    entry = PointsEntry.objects.get()
    assert (entry.points, entry.rule_version) == (12, 2)


@pytest.mark.skipif(not (SHARED_FIXTURES / "github").exists(), reason="corpus missing")
def test_real_deliveries_to_ledger_and_leaderboard(
    client, api, eager_celery, django_capture_on_commit_callbacks
):
    opened = load_payload("github", "pull_request.opened.1.json")
    review = copy.deepcopy(
        load_payload("github", "pull_request_review.submitted.2.json")
    )
    review["review"].update(state="approved")
    review["review"]["user"] = {
        **review["review"]["user"],
        "login": "octocat",
        "id": 583231,
    }
    merged = copy.deepcopy(opened)
    merged["action"] = "closed"
    merged["pull_request"].update(
        state="closed",
        merged=True,
        merged_at="2019-05-15T15:30:00Z",
        closed_at="2019-05-15T15:30:00Z",
        updated_at="2019-05-15T15:30:00Z",
    )
    for event, payload in [
        ("pull_request", opened),
        ("pull_request_review", review),
        ("pull_request", merged),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(client, "github", payload, event).status_code == 202
    board = api.get("/api/v1/leaderboard/").json()["results"]
    assert board == [
        {
            "member": "github:octocat",
            "identities": ["github:octocat"],
            "points": 13,
            "reviews": 1,
        },
        {
            "member": "github:Codertocat",
            "identities": ["github:Codertocat"],
            "points": 5,
            "reviews": 0,
        },
    ]
    call_command("replay_deliveries", stdout=StringIO())  # replays pay nothing twice
    assert api.get("/api/v1/leaderboard/").json()["results"] == board
    history = api.get("/api/v1/points/?member=github:octocat").json()["results"]
    assert [
        (item["points"], item["repository"], item["number"]) for item in history
    ] == [
        (3, "Codertocat/Hello-World", 2),
        (10, "Codertocat/Hello-World", 2),
    ]
