"""Expertise from history, provider busy status, teams read from the provider,
and review requests tracked from the provider's requested_reviewers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.core.cache import cache
from django.utils import timezone
from responses import matchers

from reviews.assignment.service import expertise_scores, pull_files_record
from reviews.business_time import business_hours_between, is_working_time
from reviews.models import (
    PullRequest,
    RepositoryReviewSettings,
    Review,
    ReviewAssignment,
    ReviewRequest,
)
from tests.conftest import load_payload, post_webhook
from tests.integrations.test_connect_repo import recorded
from tests.integrations.test_connect_repo_gitlab import BASE, TOKEN
from tests.integrations.test_connect_repo_gitlab import recorded as gitlab_recorded
from tests.reviews.test_assignment_flow import (
    API,
    deliver,
    mock_provider,
)
from tests.reviews.test_assignment_flow import (
    repository as repository,  # noqa: F401 (fixture)
)

GRAPHQL = "https://api.github.com:443/graphql"


# --- business hours -------------------------------------------------------------


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("_case", "start", "end", "zone", "hours"),
    [
        ("same morning", utc(2026, 11, 18, 10), utc(2026, 11, 18, 12), "UTC", 2.0),
        ("before opening", utc(2026, 11, 18, 6), utc(2026, 11, 18, 10), "UTC", 1.0),
        ("over a weekend", utc(2026, 11, 20, 17), utc(2026, 11, 23, 10), "UTC", 2.0),
        ("whole weekend", utc(2026, 11, 21, 9), utc(2026, 11, 22, 20), "UTC", 0.0),
        ("one week", utc(2026, 11, 18, 10), utc(2026, 11, 25, 10), "UTC", 45.0),
        ("ten weeks", utc(2026, 9, 7, 0), utc(2026, 11, 16, 0), "UTC", 450.0),
        # 09:00-18:00 in Tokyo is 00:00-09:00 UTC.
        ("other zone", utc(2026, 11, 18, 0), utc(2026, 11, 18, 12), "Asia/Tokyo", 9.0),
        ("backwards", utc(2026, 11, 18, 12), utc(2026, 11, 18, 10), "UTC", 0.0),
        ("unknown zone", utc(2026, 11, 18, 10), utc(2026, 11, 18, 11), "Mars/X", 1.0),
    ],
)
def test_business_hours(_case, start, end, zone, hours):
    assert business_hours_between(start, end, zone=zone) == pytest.approx(hours)


def test_long_spans_match_day_by_day_counting():
    start = utc(2026, 1, 7, 13, 30)
    total = 0.0
    for day in range(120):  # sum of one-day slices == one long span
        total += business_hours_between(
            start + timedelta(days=day), start + timedelta(days=day + 1)
        )
    assert business_hours_between(start, start + timedelta(days=120)) == (
        pytest.approx(total)
    )


def test_working_time_respects_the_zone():
    monday_noon_utc = utc(2026, 11, 23, 12)
    assert is_working_time(monday_noon_utc, zone="Europe/Berlin")
    assert not is_working_time(monday_noon_utc, zone="Asia/Tokyo")  # 21:00 there


# --- expertise ------------------------------------------------------------------


@pytest.mark.django_db
def test_expertise_weighs_same_file_recency_and_authorship(repository):  # noqa: F811
    now = timezone.now()

    def past_pull(number, author, days_ago, paths, reviewers=()):
        pull = PullRequest.objects.create(
            repository=repository,
            number=number,
            state="merged",
            author_login=author,
            provider_created_at=now - timedelta(days=days_ago),
        )
        pull_files_record(pull=pull, paths=paths)
        for login, state in reviewers:
            Review.objects.create(
                pull_request=pull,
                external_id=f"{number}-{login}",
                reviewer_login=login,
                state=state,
                submitted_at=now - timedelta(days=days_ago),
            )
        return pull

    past_pull(1, "carol", 1, ["app/models.py"], [("alice", "approved")])
    past_pull(2, "dave", 1, ["app/views.py"], [("bob", "approved")])
    past_pull(3, "erin", 60, ["app/models.py"], [("frank", "approved")])
    past_pull(4, "gina", 1, ["app/models.py"], [("hank", "dismissed")])
    past_pull(5, "ivan", 400, ["app/models.py"], [("judy", "approved")])
    past_pull(6, "kate", 1, ["docs/readme.md"], [("leo", "approved")])
    current = PullRequest.objects.create(
        repository=repository, number=7, state="open", author_login="carol"
    )
    logins = {"alice", "bob", "carol", "frank", "hank", "judy", "leo", "nobody"}

    scores = expertise_scores(pull=current, paths=["app/models.py"], logins=logins)

    # Same file, yesterday: the best. Authors count like reviewers.
    assert scores["alice"] == scores["carol"] == 1.0
    assert scores["bob"] == pytest.approx(0.5)  # same directory only
    assert scores["frank"] == pytest.approx(0.25, abs=0.01)  # two half-lives ago
    # Dismissed reviews, history older than 180 days, other directories: nothing.
    assert {"hank", "judy", "leo", "nobody"}.isdisjoint(scores)


@pytest.mark.django_db
def test_expertise_strategy_picks_who_knows_the_files(
    client,
    repository,
    eager_celery,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    RepositoryReviewSettings.objects.filter(repository=repository).update(
        strategy="expertise"
    )
    earlier = PullRequest.objects.create(
        repository=repository,
        number=1,
        state="merged",
        author_login="bob",
        provider_created_at=timezone.now() - timedelta(days=3),
    )
    # pull_files.json names src/github/Issue.py among the changed files.
    pull_files_record(pull=earlier, paths=["src/github/Issue.py"])
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
    assignment = ReviewAssignment.objects.get()
    assert assignment.reviewers == ["bob"]  # alice would win a plain tie on login
    assert (
        assignment.explanation["scores"]["bob"]
        < assignment.explanation["scores"]["alice"]
    )
    stored = set(PullRequest.objects.get(number=2).files.values_list("path", flat=True))
    assert stored == {item["filename"] for item in recorded("pull_files.json")}


# --- busy status and teams from the provider ------------------------------------


def status_answer(busy_alias: str) -> dict:
    """The recorded GraphQL status, re-aliased and with limited availability on."""
    answer = recorded("graphql_user_status.json")
    status = dict(answer["data"]["u0"]["status"], indicatesLimitedAvailability=True)
    return {"data": {busy_alias: {"status": status}}}


@pytest.mark.django_db
def test_busy_on_github_is_filtered_out(
    client,
    repository,
    eager_celery,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        # Asked in login order, the author left out: alice (u0), bob (u1).
        rsps.replace(responses.POST, GRAPHQL, json=status_answer("u0"))
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
        asked = [call.request for call in rsps.calls if call.request.url == GRAPHQL]
        query = json.loads(asked[0].body)["query"]
    assignment = ReviewAssignment.objects.get()
    assert assignment.reviewers == ["bob"]
    assert assignment.explanation["filtered"]["alice"] == (
        "unavailable: busy on the provider: This is the way"
    )
    assert 'u0: user(login: "alice")' in query and "Codertocat" not in query


@pytest.mark.django_db
def test_team_members_come_from_github_and_are_cached(
    client,
    repository,
    eager_celery,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    RepositoryReviewSettings.objects.filter(repository=repository).update(teams={})
    cache.clear()
    members_url = "https://api.github.com:443/orgs/octo/teams/web/members"
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/web\n")
        rsps.get(members_url, json=recorded("team_members.json"))
        # In the recorded commits jacquev6 is the committer; here the author is.
        commits = json.loads(
            json.dumps(recorded("pull_commits.json")).replace("jacquev6", "Codertocat")
        )
        rsps.replace(responses.GET, f"{API}/pulls/2/commits", json=commits)
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
        asked = [call.request.url for call in rsps.calls]
    assignment = ReviewAssignment.objects.get()
    assert assignment.reviewers == ["jacquev6"]
    assert assignment.explanation["pool"] == {"jacquev6": ["code owner (codeowners)"]}
    assert sum(url.startswith(members_url) for url in asked) == 1
    assert cache.get("team-members:github:github.com:@octo/web") == ["jacquev6"]


@pytest.mark.django_db
def test_committers_to_the_change_are_filtered_out(
    client,
    repository,
    eager_celery,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    commits = recorded("pull_commits.json")
    commits[0]["committer"] = {**commits[0]["committer"], "login": "alice"}
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        rsps.replace(responses.GET, f"{API}/pulls/2/commits", json=commits)
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
    assignment = ReviewAssignment.objects.get()
    assert assignment.reviewers == ["bob"]
    assert assignment.explanation["filtered"]["alice"] == "committed to this change"


def test_gitlab_committers_are_found_by_their_commit_emails():
    from integrations.providers import get_provider

    client = get_provider("gitlab").client(TOKEN, BASE)
    users = gitlab_recorded("users.json")
    project = f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site"
    with responses.RequestsMock() as rsps:
        rsps.get(project, json=gitlab_recorded("project.json"))
        rsps.get(
            f"{BASE}/api/v4/projects/3/merge_requests/1/commits",
            json=gitlab_recorded("merge_request_commits.json"),
        )
        search = "search"
        rsps.get(
            f"{BASE}/api/v4/users",
            json=users[:1],
            match=[
                matchers.query_param_matcher(
                    {search: "dmitriy.zaporozhets@gmail.com"}, strict_match=False
                )
            ],
        )
        rsps.get(  # two people match: not a reliable answer, skipped
            f"{BASE}/api/v4/users",
            json=users,
            match=[
                matchers.query_param_matcher(
                    {search: "dzaporozhets@sphereconsultinginc.com"},
                    strict_match=False,
                )
            ],
        )
        found = client.committers("diaspora/diaspora-project-site", 1)
    assert found == ["john_smith"]


def test_gitlab_team_members_and_busy_status():
    from integrations.providers import get_provider

    client = get_provider("gitlab").client(TOKEN, BASE)
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/groups/acme%2Fweb/members/all",
            json=gitlab_recorded("group_members_all.json"),
        )
        rsps.get(
            f"{BASE}/api/v4/users/raymond_smith/status",
            json=gitlab_recorded("user_status.json"),
        )
        rsps.get(
            f"{BASE}/api/v4/users/john_doe/status",
            json=dict(gitlab_recorded("user_status.json"), availability="not_set"),
        )
        members = client.team_members("acme/site", "@acme/web")
        busy = client.users_busy(["raymond_smith", "john_doe"])
    assert members == ["raymond_smith", "john_doe", "foo_bar"]
    assert busy == {"raymond_smith": "I crave coffee :coffee:"}


# --- review requests follow requested_reviewers ---------------------------------


@pytest.mark.django_db
def test_review_requests_follow_the_provider(
    client, eager_celery, django_capture_on_commit_callbacks
):
    from dataclasses import replace

    from integrations.providers import get_provider
    from integrations.providers.base import ReviewSnapshot, UserRef
    from reviews.services import pull_request_upsert, review_upsert

    payload = load_payload("github", "pull_request.review_requested.1.json")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, "github", payload, "pull_request")
    assert response.status_code == 202
    request = ReviewRequest.objects.get()
    assert (request.reviewer_login, request.is_active) == ("octocat", True)
    assert request.requested_at == utc(2019, 5, 15, 15, 20, 33)
    assert request.responded_at is None

    pull = PullRequest.objects.get()
    review_at = utc(2019, 5, 15, 16, 0)
    review_upsert(
        pull_request=pull,
        snapshot=ReviewSnapshot(
            external_id="9",
            reviewer=UserRef("octocat", "583231"),
            state="approved",
            submitted_at=review_at,
        ),
    )
    request.refresh_from_db()
    assert request.responded_at == review_at

    # GitHub drops a reviewer from requested_reviewers once they review.
    event = get_provider("github").parse("pull_request", payload)
    later = replace(
        event.pull_request,
        requested_reviewers=(),
        updated_at=utc(2019, 5, 15, 16, 1),
    )
    pull_request_upsert(repository=pull.repository, snapshot=later)
    request.refresh_from_db()
    assert not request.is_active
    assert request.responded_at == review_at  # history kept
