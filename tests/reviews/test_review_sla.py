"""Review SLA: one reminder after the SLA (in business hours), reassignment after
a second period when the repository turns it on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from reviews.assignment.sla import review_sla_check
from reviews.models import (
    PullRequest,
    RepositoryReviewSettings,
    ReviewAssignment,
    ReviewRequest,
)
from tests.reviews.test_assignment_flow import API, mock_provider, repo_body
from tests.reviews.test_assignment_flow import (
    repository as repository,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 11, 16, 9, tzinfo=UTC)
COMMENTS = f"{API}/issues/2/comments"


@pytest.fixture
def waiting(repository):  # noqa: F811
    pull = PullRequest.objects.create(
        repository=repository,
        number=2,
        state="open",
        draft=False,
        author_login="Codertocat",
        requested_reviewers=["alice"],
        base_ref="master",
    )
    return ReviewRequest.objects.create(
        pull_request=pull, reviewer_login="alice", requested_at=MONDAY_9
    )


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_one_reminder_comment_after_a_business_day(waiting):
    with responses.RequestsMock() as rsps:
        assert review_sla_check(now=at(16, 17)).reminded == []  # 8 h: not yet
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, body="")
        result = review_sla_check(now=at(17, 10))  # 10 business hours
        body = json.loads(rsps.calls[-1].request.body)["body"]
        assert review_sla_check(now=at(17, 15)).reminded == []  # only once
        assert [call.request.method for call in rsps.calls] == ["GET", "POST"]
    assert result.reminded == ["alice on Codertocat/Hello-World#2"]
    assert body.startswith("@alice, a friendly nudge")
    assert "10 business hours" in body and "aims for 9" in body
    waiting.refresh_from_db()
    assert waiting.reminded_at == at(17, 10)


def test_weekends_do_not_count(waiting):
    ReviewRequest.objects.filter(pk=waiting.pk).update(requested_at=at(20, 17))
    with responses.RequestsMock():  # any provider call would fail the test
        assert review_sla_check(now=at(23, 9, 30)).reminded == []


def test_answered_closed_and_draft_requests_are_left_alone(waiting):
    ReviewRequest.objects.filter(pk=waiting.pk).update(responded_at=at(16, 10))
    with responses.RequestsMock():
        assert review_sla_check(now=at(19, 10)).reminded == []
    ReviewRequest.objects.filter(pk=waiting.pk).update(responded_at=None)
    PullRequest.objects.update(draft=True)
    with responses.RequestsMock():
        assert review_sla_check(now=at(19, 10)).reminded == []


def test_dashboard_nudge_makes_no_provider_call(waiting):
    RepositoryReviewSettings.objects.update(sla_reminder="dashboard")
    with responses.RequestsMock():
        result = review_sla_check(now=at(17, 10))
    assert result.reminded == ["alice on Codertocat/Hello-World#2"]
    waiting.refresh_from_db()
    assert waiting.reminded_at == at(17, 10)


def test_provider_down_means_the_reminder_is_tried_again(waiting):
    with responses.RequestsMock():  # nothing registered: connection refused
        assert review_sla_check(now=at(17, 10)).reminded == []
    waiting.refresh_from_db()
    assert waiting.reminded_at is None
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, body="")
        assert review_sla_check(now=at(17, 11)).reminded


def test_reassignment_after_a_second_period_when_enabled(waiting):
    RepositoryReviewSettings.objects.update(sla_reassign=True)
    ReviewRequest.objects.filter(pk=waiting.pk).update(reminded_at=at(17, 10))
    with responses.RequestsMock() as rsps:
        assert review_sla_check(now=at(17, 16)).reassigned == []  # 16 h < 18 h
        mock_provider(rsps, "*.py @octo/backend\n")
        rsps.delete(f"{API}/pulls/2/requested_reviewers", json={})
        result = review_sla_check(now=at(18, 12))  # 21 business hours
        sent = {
            (call.request.method, call.request.url.rsplit("/", 1)[-1]): call.request
            for call in rsps.calls
        }
        requested = json.loads(sent[("POST", "requested_reviewers")].body)
        withdrawn = json.loads(sent[("DELETE", "requested_reviewers")].body)
    assert result.reassigned == ["alice on Codertocat/Hello-World#2"]
    assert requested["reviewers"] == ["bob"]
    assert withdrawn == {"reviewers": ["alice"], "team_reviewers": []}
    assignment = ReviewAssignment.objects.get()
    assert (assignment.trigger, assignment.is_automatic) == ("sla_reassign", False)
    assert assignment.explanation["filtered"]["alice"] == (
        "unavailable: did not answer in time"
    )
    with responses.RequestsMock():
        assert review_sla_check(now=at(19, 12)).reassigned == []  # once


def test_reassignment_is_off_by_default(waiting):
    ReviewRequest.objects.filter(pk=waiting.pk).update(reminded_at=at(17, 10))
    with responses.RequestsMock():
        assert review_sla_check(now=at(20, 12)).reassigned == []


def removed(waiting, *, seen_at: datetime) -> None:
    """CodeQuest asked alice; then a snapshot without her (she took herself
    off), applied as ingest does."""
    from reviews.models import ReviewRequestSighting

    ReviewAssignment.objects.create(
        pull_request=waiting.pull_request,
        trigger="opened",
        strategy="load_balance",
        status="requested",
        reviewers=["alice"],
    )
    ReviewRequestSighting.objects.create(
        pull_request=waiting.pull_request, seen_at=MONDAY_9, logins=["alice"]
    )
    ReviewRequestSighting.objects.create(
        pull_request=waiting.pull_request, seen_at=seen_at, logins=[]
    )
    ReviewRequest.objects.filter(pk=waiting.pk).update(is_active=False)
    PullRequest.objects.update(requested_reviewers=[])


def test_a_reviewer_who_took_themselves_off_is_replaced_once(waiting):
    from reviews.assignment.sla import removed_reviewers_replace

    removed(waiting, seen_at=at(16, 10))
    with responses.RequestsMock():  # settling: her review may still be coming
        assert removed_reviewers_replace(now=at(16, 10, 2)) == []
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        replaced = removed_reviewers_replace(now=at(16, 10, 6))
        posted = [
            c for c in rsps.calls if c.request.url.endswith("requested_reviewers")
        ]
        asked = json.loads(posted[0].request.body)
    assert replaced == ["alice on Codertocat/Hello-World#2"]
    assert asked["reviewers"] == ["bob"]
    latest = ReviewAssignment.objects.latest("pk")
    assert latest.trigger == "reviewer_removed"
    with responses.RequestsMock():  # once
        assert removed_reviewers_replace(now=at(16, 12)) == []


def test_who_is_not_replaced(waiting):
    from reviews.assignment.sla import removed_reviewers_replace

    removed(waiting, seen_at=at(16, 10))
    # She reviewed (GitHub takes a reviewer off when they review).
    ReviewRequest.objects.filter(pk=waiting.pk).update(responded_at=at(16, 10))
    with responses.RequestsMock():
        assert removed_reviewers_replace(now=at(16, 11)) == []
    # A person asked for her, not CodeQuest.
    ReviewRequest.objects.filter(pk=waiting.pk).update(responded_at=None)
    ReviewAssignment.objects.update(reviewers=["carol"])
    with responses.RequestsMock():
        assert removed_reviewers_replace(now=at(16, 11)) == []
    # The pull request was closed.
    ReviewAssignment.objects.update(reviewers=["alice"])
    PullRequest.objects.update(state="closed")
    with responses.RequestsMock():
        assert removed_reviewers_replace(now=at(16, 11)) == []
