"""Reconciliation against a fake GitHub: dropped webhooks converge, an unchanged
repository costs nothing, k changes cost O(k), a spent budget defers, errors
lose nothing; plus `manage.py sync` and GET /api/v1/sync-history/."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
import responses
from django.core.management import CommandError, call_command
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    ProviderCredential,
    RateLimitSample,
    SyncRun,
)
from integrations.providers.base import ProviderTemporaryError
from integrations.services.sync import SyncDeferred, repository_sync
from reviews.models import Comment, PullRequest, RepositoryReviewSettings, Review
from rewards.models import PointsEntry
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.factories import CommentFactory
from tests.integrations.fake_github import FakeGitHub

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


@pytest.fixture
def repository(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    payload = load_payload("github", "pull_request.opened.1.json")
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_sync"
    credential.save()
    repository = ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=payload["repository"]["id"],
        full_name=payload["repository"]["full_name"],
        credential=credential,
        webhook_status="verified",
    )
    # Assignment is not under test here; it would call the provider.
    RepositoryReviewSettings.objects.create(repository=repository, auto_assign=False)
    # Followed since before the scripted activity (START).
    ConnectedRepository.objects.filter(pk=repository.pk).update(
        created_at=START - timedelta(days=1)
    )
    repository.refresh_from_db()
    return repository


@pytest.fixture
def github(repository):
    fake = FakeGitHub(repository.full_name)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake


def a_minute_later() -> None:
    """The pull request list cached by the last run has expired."""
    from django.core.cache import cache

    cache.clear()


def assert_same_as_provider(repository, github: FakeGitHub) -> None:
    ours = {
        pull.number: pull for pull in PullRequest.objects.filter(repository=repository)
    }
    assert set(ours) == set(github.pulls)
    for number, truth in github.pulls.items():
        pull = ours[number]
        state = "merged" if truth["merged_at"] else truth["state"]
        assert (pull.state, pull.head_sha, pull.title) == (
            state,
            truth["head"]["sha"],
            truth["title"],
        ), number
        assert pull.requested_reviewers == [
            person["login"] for person in truth["requested_reviewers"]
        ], number
        reviews = set(
            Review.objects.filter(pull_request=pull).values_list(
                "external_id", "reviewer_login", "state"
            )
        )
        assert reviews == {
            (str(review["id"]), review["user"]["login"], review["state"].lower())
            for review in github.reviews[number]
        }, number


def test_dropped_webhooks_converge_to_the_provider(
    client, repository, github, eager_celery, django_capture_on_commit_callbacks
):
    rng = random.Random(3)
    delivered = dropped = 0
    clock = iter(START + timedelta(minutes=10 * step) for step in range(200))

    def deliver(event: str, payload: dict) -> None:
        nonlocal delivered, dropped
        if rng.random() < 0.3:
            dropped += 1
            return
        delivered += 1
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(client, "github", payload, event).status_code == 202

    for number in range(1, 11):
        github.open(number, f"author{number % 3}", next(clock))
        deliver("pull_request", github.pull_payload(number, "opened"))
        github.request_review(number, "kim", next(clock))
        deliver("pull_request", github.pull_payload(number, "review_requested"))
    for number in range(1, 11):
        state = "approved" if number % 2 else "changes_requested"
        review = github.review(number, "kim", state, next(clock))
        deliver("pull_request_review", github.review_payload(number, review))
    for number in (2, 4):  # force-pushed after changes were requested
        github.push(number, f"{number:039x}f", next(clock))
        deliver("pull_request", github.pull_payload(number, "synchronize"))
    for number in (1, 3, 5):
        github.merge(number, next(clock))
        deliver("pull_request", github.pull_payload(number, "closed"))
    github.close(6, next(clock))
    deliver("pull_request", github.pull_payload(6, "closed"))
    github.close(7, next(clock))
    deliver("pull_request", github.pull_payload(7, "closed"))
    github.reopen(7, next(clock))
    deliver("pull_request", github.pull_payload(7, "reopened"))
    github.touch(8, next(clock), title="Renamed while webhooks were down")
    deliver("pull_request", github.pull_payload(8, "edited"))
    assert dropped >= 8 and delivered >= 20  # the script really lost deliveries

    with pytest.raises(AssertionError):
        assert_same_as_provider(repository, github)  # webhooks alone fell short
    result = repository_sync(repository=repository)
    assert_same_as_provider(repository, github)

    run = result.run
    assert run.status == "succeeded" and run.changes == len(result.changed) > 0
    assert run.missed_by_webhooks == run.changes  # all older than the grace period
    repository.refresh_from_db()
    assert repository.webhook_status == "degraded"

    at_once = repository_sync(repository=repository).run
    assert (at_once.api_calls, at_once.changes) == (0, 0)  # listed < 1 min ago
    assert at_once.not_modified
    a_minute_later()
    again = repository_sync(repository=repository).run
    assert (again.api_calls, again.rate_limit_points, again.changes) == (1, 0, 0)
    assert again.not_modified
    assert github.calls[-1] == ("pulls", 304)


def test_k_changed_pull_requests_cost_about_k(repository, github):
    for number in range(1, 51):
        github.open(number, "octocat", START + timedelta(minutes=number))
    first = repository_sync(repository=repository).run
    assert first.changes == 50
    # One list page; each pull request's reviews and its two comment lists.
    assert first.rate_limit_points == 1 + 50 * 3

    later = START + timedelta(hours=5)
    for number in (7, 19, 33):
        github.review(number, "kim", "approved", later + timedelta(minutes=number))
    a_minute_later()
    run = repository_sync(repository=repository).run
    # The list's first page (it changed) stops at the cursor; 3 PRs are read.
    assert run.rate_limit_points == 1 + 3 * 3
    assert run.changes == 6  # three pull requests and three reviews
    assert Review.objects.count() == 3


def test_a_spent_budget_defers_instead_of_failing(repository, github):
    from integrations.budgets import token_fingerprint

    RateLimitSample.objects.create(
        provider="github",
        host="github.com",
        token_fingerprint=token_fingerprint(repository),
        limit=5000,
        remaining=12,
        reset_at=timezone.now() + timedelta(minutes=20),
        sampled_at=timezone.now(),
    )
    with pytest.raises(SyncDeferred):
        repository_sync(repository=repository)
    assert github.calls == []  # not one call spent
    run = SyncRun.objects.get()
    assert run.status == "deferred" and "rate limit below the reserve" in run.error

    from integrations.tasks import repository_sync_task

    with mock.patch.object(repository_sync_task, "apply_async") as requeue:
        repository_sync_task.run(repository.pk)
    (args,), kwargs = requeue.call_args
    assert args == (repository.pk, False, "schedule")
    assert 20 * 60 - 5 <= kwargs["countdown"] <= 20 * 60 + 10


def test_provider_errors_fail_the_run_and_lose_nothing(repository, github):
    github.open(1, "octocat", START)
    repository_sync(repository=repository)
    github.review(1, "kim", "approved", START + timedelta(hours=1))
    github.fail_next = [502, 502, 502, 502]
    a_minute_later()
    with pytest.raises(ProviderTemporaryError):
        repository_sync(repository=repository)
    failed = SyncRun.objects.order_by("-id").first()
    assert failed.status == "failed" and "server errors" in failed.error
    assert PullRequest.objects.count() == 1  # what we had is intact
    github.fail_next = []
    assert repository_sync(repository=repository).run.changes == 2
    assert Review.objects.get().state == "approved"


def test_a_502_and_a_secondary_rate_limit_are_waited_out(repository, github):
    github.open(1, "octocat", START)
    secondary = (
        403,
        {"Retry-After": "1"},
        {
            "message": "You have exceeded a secondary rate limit. Please wait a "
            "few minutes before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        },
    )
    github.fail_next = [502, secondary]
    run = repository_sync(repository=repository).run
    assert run.status == "succeeded" and run.changes == 1
    assert [status for _, status in github.calls] == [502, 403, 200, 200, 200, 200]


def test_a_malformed_answer_fails_the_run_in_one_line(repository, github):
    github.open(1, "octocat", START)
    del github.pulls[1]["number"]  # not what GitHub sends
    err = StringIO()
    with pytest.raises(CommandError, match="1 repositories could not be synced"):
        call_command("sync", stdout=StringIO(), stderr=err)
    assert (
        err.getvalue()
        .strip()
        .endswith("not synced: PayloadError: payload has no pull_request.number")
    )
    run = SyncRun.objects.get()
    assert run.status == "failed" and run.error.startswith("PayloadError")
    assert not PullRequest.objects.exists()


def test_rate_limit_samples_are_kept_and_listed(repository, github, api):
    github.open(1, "octocat", START)
    repository_sync(repository=repository)
    sample = RateLimitSample.objects.get()
    assert (sample.limit, sample.remaining) == (5000, 5000 - github.points)
    body = api.get("/api/v1/rate-limits/").json()
    assert body["count"] == 1
    assert body["results"][0]["remaining"] == sample.remaining
    assert "ghp_sync" not in str(body)
    metrics = api.get("/metrics").content.decode()
    labels = 'host="github.com",provider="github",resource="core"'
    assert f"codequest_rate_limit_remaining{{{labels}}} {float(sample.remaining)}" in (
        metrics
    )
    assert 'codequest_sync_runs_total{provider="github",status="succeeded"}' in metrics


def test_sync_command_reports_changes_and_cost(repository, github):
    github.open(1, "octocat", START)
    out = StringIO()
    call_command("sync", "--repo", repository.full_name, stdout=out)
    text = out.getvalue()
    assert f"[1/1] github:{repository.full_name}: syncing…" in text
    assert "#1: new" in text
    assert "1 changes (1 missed by webhooks); 4 API calls, 4 rate-limit points" in text
    assert "Synced 1 of 1: 1 changes, 4 API calls, 4 rate-limit points" in text
    out = StringIO()
    call_command("sync", stdout=out)
    assert "not modified; 0 API calls, 0 rate-limit points" in out.getvalue()


def test_sync_command_bad_input_is_one_clear_line(repository, github):
    with pytest.raises(CommandError, match="no connected repository 'nope/nope'"):
        call_command("sync", "--repo", "nope/nope")
    with pytest.raises(CommandError, match="invalid choice: 'bitbucket'"):
        call_command("sync", "--provider", "bitbucket")
    github.fail_next = [401]
    err = StringIO()
    with pytest.raises(CommandError, match="1 repositories could not be synced"):
        call_command("sync", stdout=StringIO(), stderr=err)
    assert "not synced:" in err.getvalue() and "401" in err.getvalue()


def test_sync_history_api(repository, github, api, client):
    from django.contrib.auth import get_user_model

    github.open(1, "octocat", START)
    repository_sync(repository=repository)
    repository_sync(repository=repository)
    items = api.get(f"/api/v1/sync-history/?repository={repository.full_name}").json()[
        "results"
    ]
    assert [item["changes"] for item in items] == [0, 1]
    assert set(items[0]) >= {
        "repository",
        "kind",
        "status",
        "started_at",
        "finished_at",
        "api_calls",
        "changes",
    }
    assert items[0]["not_modified"] and items[0]["rate_limit_points"] == 0
    assert api.get("/api/v1/sync-history/?provider=svn").status_code == 400
    outsider = get_user_model().objects.create_user("outsider")
    client.force_login(outsider)
    assert client.get("/api/v1/sync-history/").json()["count"] == 0


def test_beat_spreads_repositories_over_the_interval(repository):
    from integrations.services.sync import repository_sync_all
    from integrations.tasks import repository_sync_task

    with mock.patch.object(repository_sync_task, "apply_async") as queued:
        assert repository_sync_all(interval=300) == 1
    (args,), kwargs = queued.call_args
    assert args == (repository.pk,) and 0 <= kwargs["countdown"] < 300


def test_gitlab_project_reconciles_with_updated_after(settings):
    from responses import matchers

    from tests.integrations.test_connect_repo_gitlab import BASE, documented_project
    from tests.integrations.test_connect_repo_gitlab import recorded as gitlab

    settings.CODEQUEST_SYNC_HISTORY_DAYS = 365 * 20  # the documented MR is from 2017
    project = documented_project("glpat-sync")
    url = f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site/merge_requests"
    limits = {"RateLimit-Limit": "2000", "RateLimit-Remaining": "1998"}
    newest_first = matchers.query_param_matcher(
        {"order_by": "updated_at", "sort": "desc"}, strict_match=False
    )
    with responses.RequestsMock() as rsps:
        rsps.get(
            url,
            json=gitlab("merge_requests.json"),
            headers=limits,
            match=[newest_first],
        )
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site"
            "/merge_requests/1/approvals",
            json=gitlab("approvals.json"),
            headers={**limits, "RateLimit-Remaining": "1997"},
        )
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site"
            "/merge_requests/1/notes",
            json=[gitlab("merge_request_note.json")],
            headers={**limits, "RateLimit-Remaining": "1996"},
        )
        run = repository_sync(repository=project).run
        rsps.replace(responses.GET, url, json=[], headers=limits)
        again = repository_sync(repository=project).run
        asked = rsps.calls[-1].request.url
    pull = PullRequest.objects.get(repository=project)
    assert (pull.number, pull.state) == (1, "merged")
    assert Review.objects.filter(pull_request=pull, state="approved").exists()
    note = Comment.objects.get(pull_request=pull)
    assert (note.kind, note.external_id, note.author_login) == ("note", "301", "pipin")
    assert (run.api_calls, run.rate_limit_points, run.status) == (3, 3, "succeeded")
    assert (again.api_calls, again.changes) == (1, 0)
    assert "updated_after=2017-04-29T08%3A46%3A00%2B00%3A00" in asked  # the cursor
    sample = RateLimitSample.objects.order_by("-id").first()
    assert (sample.limit, sample.remaining) == (2000, 1998)


def test_a_webhook_event_makes_the_next_sync_ask_again(
    client, repository, github, eager_celery, django_capture_on_commit_callbacks
):
    github.open(1, "octocat", START)
    repository_sync(repository=repository)
    assert repository_sync(repository=repository).run.api_calls == 0  # cached
    github.review(1, "kim", "approved", START + timedelta(minutes=5))
    review = github.reviews[1][-1]
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(
            client, "github", github.review_payload(1, review), "pull_request_review"
        )
    run = repository_sync(repository=repository).run
    # The list (changed: 200), its reviews, and both comment lists: unchanged
    # since the first sync, they answer 304 and cost no rate-limit point.
    assert (run.api_calls, run.rate_limit_points) == (4, 2)
    assert github.calls[-2:] == [("review_comments", 304), ("issue_comments", 304)]
    assert run.changes == 0  # the webhook had already brought the review


def test_app_repositories_without_app_credentials_are_skipped_not_failed(settings):
    from io import StringIO

    from django.core.management import call_command

    from integrations.models import SyncRun
    from tests.factories import RepositoryFactory

    settings.GITHUB_APP_ID = ""
    RepositoryFactory(installation_id=42, full_name="octo/app-only")

    out = StringIO()
    call_command("sync", stdout=out)  # exits 0: nothing failed

    assert "skipped 1 repositories known only through the GitHub App" in out.getvalue()
    assert SyncRun.objects.count() == 0


def comment_credits(repository) -> dict[str, int]:
    """Net review_comment points per login on the repository's ledger."""
    totals: dict[str, int] = {}
    for login, points in PointsEntry.objects.filter(
        repository=repository, rule__key="review_comment"
    ).values_list("identity__login", "points"):
        totals[login] = totals.get(login, 0) + points
    return {login: points for login, points in totals.items() if points}


def test_lost_comment_webhooks_are_reconciled_and_deletions_reversed(
    repository, github
):
    github.open(1, "author0", START)
    github.review(1, "kim", "commented", START + timedelta(minutes=5))
    talk = github.comment(
        1, "kim", "Could this loop stop early when the list is empty?", START
    )
    github.comment(
        1,
        "lee",
        "This branch never runs on Windows; guard it or drop it.",
        START + timedelta(minutes=7),
        kind="review",
    )
    run = repository_sync(repository=repository).run  # every webhook was lost
    assert run.changes == 4  # the pull request, the review and both comments
    stored = Comment.objects.filter(pull_request__number=1, is_deleted=False)
    assert sorted(stored.values_list("kind", "author_login")) == [
        ("issue_comment", "kim"),
        ("review_comment", "lee"),
    ]
    earned = comment_credits(repository)
    assert set(earned) == {"kim", "lee"} and all(p > 0 for p in earned.values())

    # Deleted on GitHub with its webhook lost: the pull request does not move,
    # so the rescan (--full) finds it; unchanged lists answer 304.
    github.delete_comment(1, talk["id"])
    a_minute_later()
    rescan = repository_sync(repository=repository, full=True).run
    assert rescan.changes == 1
    assert Comment.objects.get(external_id=str(talk["id"])).is_deleted
    assert comment_credits(repository) == {"lee": earned["lee"]}  # kim's reversed
    lines = PointsEntry.objects.filter(rule__key="review_comment")
    assert lines.filter(points__lt=0).count() == 1  # a compensating line, no edit
    assert ("issue_comments", 200) in github.calls[-3:]

    again = repository_sync(repository=repository, full=True).run
    assert again.changes == 0
    assert PointsEntry.objects.filter(rule__key="review_comment").count() == 3


def test_a_comment_made_while_listing_is_not_taken_for_deleted(repository, github):
    """The list was read before a comment's webhook arrived: only comments
    older than the grace period count as missing."""
    github.open(1, "author0", START)
    repository_sync(repository=repository)
    pull = PullRequest.objects.get(repository=repository, number=1)
    # Just arrived by webhook, after the list was read.
    CommentFactory(
        pull_request=pull,
        kind="issue_comment",
        external_id="99",
        author_login="kim",
        provider_created_at=timezone.now(),
        provider_updated_at=timezone.now(),
    )
    a_minute_later()
    repository_sync(repository=repository, full=True)
    assert not Comment.objects.get(external_id="99").is_deleted
