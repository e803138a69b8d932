"""The ledger: what earns points, what never does, and nothing paid twice."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ConnectedRepository, OrganizationMembership
from integrations.providers.base import (
    EventKind,
    NormalizedEvent,
    ReviewSnapshot,
    ReviewState,
    UserRef,
)
from reviews.models import Member, ProviderIdentity, ReviewAssignment
from rewards.models import PointsEntry
from rewards.services import points_award as points_reconciled
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.factories import OrganizationFactory, PullRequestFactory

pytestmark = pytest.mark.django_db


def points_award(*, event, pull_request):
    """Store what the event says (as apply does), then award: the ledger is a
    function of the stored state, so the facts must be there first."""
    from reviews.models import PullRequest
    from reviews.services import comment_upsert, review_upsert

    if event.review is not None:
        review_upsert(pull_request=pull_request, snapshot=event.review)
    if event.comment is not None:
        comment_upsert(pull_request=pull_request, snapshot=event.comment)
    if event.kind is EventKind.PR_MERGED:
        PullRequest.objects.filter(pk=pull_request.pk).update(
            state="merged", merged_at=event.occurred_at
        )
    pull_request.refresh_from_db()
    return points_reconciled(event=event, pull_request=pull_request)


def review_event(
    pull,
    *,
    login="hubot",
    state=ReviewState.APPROVED,
    body="",
    kind=None,
    submitted_at=None,
    is_bot=False,
    external_id=None,
):
    submitted_at = submitted_at or timezone.now()
    return NormalizedEvent(
        kind=kind or EventKind.REVIEW_SUBMITTED,
        provider="github",
        occurred_at=timezone.now(),
        review=ReviewSnapshot(
            external_id=external_id or f"{login}@{submitted_at.isoformat()}",
            reviewer=UserRef(login, "9", is_bot),
            state=state,
            submitted_at=submitted_at,
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
    earned = points_award(event=considered, pull_request=pull)
    # A session, and the size bonus: 400 changed lines = 4 units of 2 points.
    assert [(entry.rule.key, entry.points) for entry in earned] == [
        ("review_session", 10),
        ("review_size", 8),
    ]


def test_dismissal_is_a_compensating_entry(pull):
    points_award(event=review_event(pull, external_id="1"), pull_request=pull)
    dismissed = review_event(
        pull,
        kind=EventKind.REVIEW_DISMISSED,
        state=ReviewState.DISMISSED,
        external_id="1",
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
            "provisional": 0,
            "reviews": 1,
            "is_me": False,
            "on_leaderboards": True,
            "level": 1,
        },
        {
            "member": "github:Codertocat",
            "identities": ["github:Codertocat"],
            "points": 5,
            "provisional": 0,
            "reviews": 0,
            "is_me": False,
            "on_leaderboards": True,
            "level": 1,
        },
    ]
    call_command("replay_deliveries", stdout=StringIO())  # replays pay nothing twice
    assert api.get("/api/v1/leaderboard/").json()["results"] == board
    # octocat's own history (someone else's is theirs alone: README "Privacy").
    octo = get_user_model().objects.create_user("octo")
    ProviderIdentity.objects.filter(login="octocat").update(
        member=Member.objects.create(display_name="Octo", user=octo)
    )
    team = OrganizationFactory(slug="hello")
    ConnectedRepository.objects.update(organization=team)
    OrganizationMembership.objects.create(organization=team, user=octo)
    own = APIClient()
    own.force_authenticate(octo)
    history = own.get("/api/v1/points/").json()["results"]
    assert [
        (item["points"], item["repository"], item["number"]) for item in history
    ] == [
        (3, "Codertocat/Hello-World", 2),
        (10, "Codertocat/Hello-World", 2),
    ]


def comment_event(pull, *, login="hubot", body="Please guard against n == 0.", **kw):
    from integrations.providers.base import CommentKind, CommentSnapshot

    now = timezone.now()
    kind = kw.pop("kind", EventKind.COMMENT_CREATED)
    return NormalizedEvent(
        kind=kind,
        provider="github",
        occurred_at=now,
        comment=CommentSnapshot(
            external_id=kw.pop("external_id", "c1"),
            kind=CommentKind.REVIEW_COMMENT,
            author=UserRef(login, "9", kw.pop("is_bot", False)),
            body=body,
            created_at=now,
            updated_at=now,
            review_external_id=kw.pop("review_external_id", ""),
            is_deleted=kind is EventKind.COMMENT_DELETED,
        ),
    )


def rules(login="hubot"):
    return sorted(
        PointsEntry.objects.filter(identity__login=login).values_list(
            "rule__key", "points"
        )
    )


def test_substantive_comments_earn_up_to_five_per_pull_request(pull):
    events = [comment_event(pull, external_id=f"c{number}") for number in range(7)]
    for event in events:
        points_award(event=event, pull_request=pull)
    points_award(event=events[0], pull_request=pull)  # a replay
    assert rules() == [("review_comment", 2)] * 5


@pytest.mark.parametrize(
    ("_case", "changes"),
    [
        ("too short", {"body": "nit: typo"}),
        ("the author's own", {"login": "octocat"}),
        ("a bot", {"login": "ci[bot]", "is_bot": True}),
    ],
)
def test_comments_that_earn_nothing(pull, _case, changes):
    assert points_award(event=comment_event(pull, **changes), pull_request=pull) == []


def test_a_deleted_comment_is_reversed(pull):
    points_award(event=comment_event(pull), pull_request=pull)
    deleted = comment_event(pull, kind=EventKind.COMMENT_DELETED)
    points_award(event=deleted, pull_request=pull)
    points_award(event=deleted, pull_request=pull)
    assert total("hubot") == 0
    assert sorted(PointsEntry.objects.values_list("points", flat=True)) == [-2, 2]


def test_inline_comments_give_a_bare_commented_review_substance(pull):
    from reviews.models import Comment

    bare = review_event(pull, state=ReviewState.COMMENTED, body="", external_id="1")
    assert points_award(event=bare, pull_request=pull) == []  # nothing yet
    Comment.objects.create(
        pull_request=pull,
        kind="review_comment",
        external_id="c1",
        review_external_id="1",
        author_login="hubot",
        body="Please guard against n == 0.",
        provider_created_at=timezone.now(),
        provider_updated_at=timezone.now(),
    )
    # The comment's own delivery opens the session...
    points_award(event=comment_event(pull, review_external_id="1"), pull_request=pull)
    # ...and the review, replayed after it, adds nothing.
    points_award(event=bare, pull_request=pull)
    assert rules() == [("review_comment", 2), ("review_session", 10)]


def test_sessions_are_per_head_with_a_24_hour_gap(pull):
    start = timezone.now()
    points_award(event=review_event(pull, submitted_at=start), pull_request=pull)
    same_session = review_event(pull, submitted_at=start + timedelta(hours=3))
    assert points_award(event=same_session, pull_request=pull) == []
    next_day = review_event(pull, submitted_at=start + timedelta(hours=25))
    assert len(points_award(event=next_day, pull_request=pull)) == 1
    pull.head_sha = "f" * 40
    pull.save()
    pushed = review_event(pull, submitted_at=start + timedelta(hours=26))
    assert len(points_award(event=pushed, pull_request=pull)) == 1
    assert total("hubot") == 30


def test_timeliness_bonus_within_the_sla_in_business_hours(pull):
    from reviews.models import ReviewRequest

    monday_10 = datetime(2026, 11, 16, 10, tzinfo=UTC)
    ReviewRequest.objects.create(
        pull_request=pull, reviewer_login="hubot", requested_at=monday_10
    )
    ReviewRequest.objects.create(
        pull_request=pull, reviewer_login="slowpoke", requested_at=monday_10
    )
    tuesday_9 = monday_10 + timedelta(hours=23)  # 8 business hours later
    points_award(event=review_event(pull, submitted_at=tuesday_9), pull_request=pull)
    thursday = monday_10 + timedelta(days=3)  # 27 business hours later
    points_award(
        event=review_event(pull, login="slowpoke", submitted_at=thursday),
        pull_request=pull,
    )
    assert rules() == [("review_session", 10), ("review_timely", 3)]
    assert rules("slowpoke") == [("review_session", 10)]


def test_spam_reverses_everything_and_stops_new_credit(pull):
    points_award(event=review_event(pull), pull_request=pull)
    points_award(event=comment_event(pull), pull_request=pull)
    pull.labels = ["Spam"]
    pull.save()
    labelled = NormalizedEvent(
        kind=EventKind.PR_UPDATED, provider="github", occurred_at=timezone.now()
    )
    points_award(event=labelled, pull_request=pull)
    points_award(event=labelled, pull_request=pull)
    late = review_event(pull, login="latecomer")
    points_award(event=late, pull_request=pull)
    assert total("hubot") == 0 and total("latecomer") == 0
    assert PointsEntry.objects.filter(points__lt=0).count() == 2


def test_dismissing_the_only_session_reverses_its_bonuses(pull):
    pull.additions = 250
    pull.save()
    points_award(event=review_event(pull, external_id="1"), pull_request=pull)
    assert total("hubot") == 14  # 10 + 2 units of size
    dismissed = review_event(
        pull,
        kind=EventKind.REVIEW_DISMISSED,
        state=ReviewState.DISMISSED,
        external_id="1",
    )
    points_award(event=dismissed, pull_request=pull)
    assert total("hubot") == 0


def test_daily_cap_counts_the_day_the_work_was_done(settings):
    settings.REWARDS_DAILY_CAP = 20
    yesterday = timezone.now() - timedelta(days=1)
    for number in range(3):
        pull = PullRequestFactory(author_login="octocat", number=200 + number)
        points_award(
            event=review_event(pull, submitted_at=yesterday), pull_request=pull
        )
    today_pull = PullRequestFactory(author_login="octocat", number=300)
    points_award(event=review_event(today_pull), pull_request=today_pull)
    assert list(
        PointsEntry.objects.order_by("id").values_list("points", flat=True)
    ) == [10, 10, 10]
