"""End to end: a real pull_request.opened delivery leads to reviewers chosen from
CODEOWNERS and requested on the (mocked) provider, with the explanation stored."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from integrations.models import ConnectedRepository, ProviderCredential
from reviews.models import (
    AvailabilityWindow,
    ProviderIdentity,
    RepositoryReviewSettings,
    ReviewAssignment,
)
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.integrations.test_connect_repo import contents_body, recorded

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

API = "https://api.github.com:443/repos/Codertocat/Hello-World"


@pytest.fixture
def repository(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    payload = load_payload("github", "pull_request.opened.1.json")
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_assign"
    credential.save()
    repository = ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=payload["repository"]["id"],
        full_name="Codertocat/Hello-World",
        credential=credential,
    )
    RepositoryReviewSettings.objects.create(
        repository=repository,
        teams={"@octo/backend": ["alice", "bob", "Codertocat"]},
    )
    return repository


def repo_body() -> dict:
    text = json.dumps(recorded("repo.json"))
    text = text.replace("ghe.example.com/api/v3", "api.github.com")
    text = text.replace("PyGithub/PyGithub", "Codertocat/Hello-World")
    return json.loads(text)


def mock_provider(rsps, codeowners: str) -> None:
    rsps.get(API, json=repo_body())
    rsps.get(f"{API}/pulls/2/files", json=recorded("pull_files.json"))
    rsps.get(f"{API}/pulls/2/commits", json=recorded("pull_commits.json"))
    rsps.get(
        f"{API}/contents/.github/CODEOWNERS",
        json=contents_body(".github/CODEOWNERS", codeowners),
        match=[matchers.query_param_matcher({"ref": "master"})],
    )
    rsps.post(f"{API}/pulls/2/requested_reviewers", status=201, body="")
    # Nobody has set "Busy": the recorded status answer (not limited).
    rsps.post(
        "https://api.github.com:443/graphql",
        json=recorded("graphql_user_status.json"),
    )


def deliver(client, eager_celery, capture):
    payload = load_payload("github", "pull_request.opened.1.json")
    with capture(execute=True):
        response = post_webhook(client, "github", payload, "pull_request")
    assert response.status_code == 202


def test_opened_pull_request_gets_a_code_owner(
    client, repository, eager_celery, django_capture_on_commit_callbacks
):
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "* @global\n*.py @octo/backend\n")
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
        sent = json.loads(rsps.calls[-1].request.body)
    assignment = ReviewAssignment.objects.get()
    assert assignment.status == "requested"
    assert sent["reviewers"] == assignment.reviewers == ["alice"]
    explanation = assignment.explanation
    assert explanation["pool"]["alice"] == ["code owner (codeowners)"]
    assert explanation["filtered"]["Codertocat"] == "is the author"
    assert assignment.trigger == "opened" and assignment.is_automatic


def test_someone_away_is_skipped_and_the_next_owner_asked(
    client, repository, eager_celery, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    alice = ProviderIdentity.objects.create(
        provider="github", host="github.com", login="alice"
    )
    AvailabilityWindow.objects.create(
        identity=alice,
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=6),
        note="holiday",
    )
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
    assignment = ReviewAssignment.objects.get()
    assert assignment.reviewers == ["bob"]
    assert assignment.explanation["filtered"]["alice"].startswith(
        "unavailable: away until"
    )
    assert "holiday" not in json.dumps(assignment.explanation)  # the note stays private


def test_assignment_runs_once_per_pull_request(
    client, repository, eager_celery, django_capture_on_commit_callbacks
):
    from reviews.assignment.service import reviewer_assign

    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
    pull_id = ReviewAssignment.objects.get().pull_request_id
    with responses.RequestsMock():  # no provider call at all
        assert reviewer_assign(pull_request_id=pull_id, trigger="opened") is None
    assert ReviewAssignment.objects.count() == 1


def test_drafts_are_not_assigned(repository):
    from reviews.assignment.service import reviewer_assign
    from reviews.models import PullRequest

    pull = PullRequest.objects.create(
        repository=repository, number=9, state="open", draft=True, author_login="x"
    )
    with responses.RequestsMock():
        assert reviewer_assign(pull_request_id=pull.pk, trigger="opened") is None


def test_provider_failure_is_recorded_not_raised(
    client, repository, eager_celery, django_capture_on_commit_callbacks
):
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.get(f"{API}/pulls/2/files", status=403, json={"message": "Forbidden"})
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
    assignment = ReviewAssignment.objects.get()
    assert assignment.status == "failed"
    assert "403" in assignment.error


def test_opened_to_assigned_to_reviewed_to_merged_to_leaderboard(
    client, api, repository, eager_celery, django_capture_on_commit_callbacks
):
    """The whole product on real payloads: the chosen reviewer reviews, the PR
    merges, and the ledger and leaderboard show exactly what was earned."""
    import copy

    from rewards.models import PointsEntry

    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
    assert ReviewAssignment.objects.get().reviewers == ["alice"]

    review = copy.deepcopy(
        load_payload("github", "pull_request_review.submitted.2.json")
    )
    review["review"].update(state="approved", body="Looks right; tests cover it.")
    review["review"]["user"] = {**review["review"]["user"], "login": "alice", "id": 7}
    merged = copy.deepcopy(load_payload("github", "pull_request.opened.1.json"))
    merged["action"] = "closed"
    merged["pull_request"].update(
        state="closed",
        merged=True,
        merged_at="2019-05-15T15:30:00Z",
        closed_at="2019-05-15T15:30:00Z",
        updated_at="2019-05-15T15:30:00Z",
    )
    for event, payload in [("pull_request_review", review), ("pull_request", merged)]:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(client, "github", payload, event).status_code == 202

    ledger = sorted(
        PointsEntry.objects.values_list("identity__login", "rule__key", "points")
    )
    assert ledger == [
        ("Codertocat", "merge_author", 5),
        ("alice", "merge_reviewer", 3),
        ("alice", "review_session", 10),
    ]
    board = api.get("/api/v1/leaderboard/").json()["results"]
    assert [(row["member"], row["points"], row["reviews"]) for row in board] == [
        ("github:alice", 13, 1),
        ("github:Codertocat", 5, 0),
    ]


def test_admin_assigns_on_demand(
    client, admin_client, repository, eager_celery, django_capture_on_commit_callbacks
):
    from reviews.models import PullRequest

    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        deliver(client, eager_celery, django_capture_on_commit_callbacks)
    pull = PullRequest.objects.get()
    closed = PullRequest.objects.create(
        repository=repository, number=99, state="closed"
    )
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                "/admin/reviews/pullrequest/",
                {
                    "action": "assign_reviewers",
                    "_selected_action": [pull.pk, closed.pk],
                },
                follow=True,
            )
    assert "queued for 1 pull request(s); 1 closed or draft skipped." in (
        response.content.decode()
    )
    triggers = list(
        ReviewAssignment.objects.order_by("id").values_list("trigger", "is_automatic")
    )
    assert triggers == [("opened", True), ("manual", False)]


def test_assignment_waits_when_the_rate_limit_budget_is_low(repository):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    from integrations.budgets import token_fingerprint
    from integrations.models import RateLimitSample
    from reviews.models import PullRequest
    from reviews.tasks import reviewer_assign_task

    pull = PullRequest.objects.create(
        repository=repository, number=2, state="open", draft=False
    )
    RateLimitSample.objects.create(
        provider="github",
        host="github.com",
        token_fingerprint=token_fingerprint(repository),
        limit=5000,
        remaining=3,
        reset_at=timezone.now() + timedelta(minutes=10),
        sampled_at=timezone.now(),
    )
    with (
        responses.RequestsMock(),  # any provider call would fail the test
        mock.patch.object(reviewer_assign_task, "apply_async") as requeue,
    ):
        reviewer_assign_task.run(pull.pk, "opened")
    (args,), kwargs = requeue.call_args
    assert args == (pull.pk, "opened") and 590 <= kwargs["countdown"] <= 610
    assert not ReviewAssignment.objects.exists()


# --- quiet labels ---------------------------------------------------------------


def with_labels(name: str, *labels: str) -> dict:
    payload = load_payload("github", name)
    template = load_payload("github", "pull_request.labeled.1.json")["label"]
    payload["pull_request"]["labels"] = [dict(template, name=label) for label in labels]
    return payload


def test_a_quiet_label_asks_nobody_until_it_comes_off(
    client, repository, eager_celery, django_capture_on_commit_callbacks
):
    from unittest import mock

    from integrations.models import WebhookDelivery
    from integrations.services import deliveries_process

    RepositoryReviewSettings.objects.filter(repository=repository).update(
        quiet_labels=["WIP"]
    )
    # Any provider call would fail the test.
    with responses.RequestsMock(), django_capture_on_commit_callbacks(execute=True):
        post_webhook(
            client,
            "github",
            with_labels("pull_request.opened.1.json", "wip"),
            "pull_request",
        )
    from reviews.models import PullRequest

    pull = PullRequest.objects.get()  # applied, and
    assert pull.labels == ["wip"]
    assert ReviewAssignment.objects.count() == 0  # quiet (labels match any case)

    def unlabeled(*labels: str) -> list:
        WebhookDelivery.objects.all().delete()
        with (
            mock.patch(
                "integrations.services.events.reviewer_assign_task.delay"
            ) as delay,
            django_capture_on_commit_callbacks(execute=True),
        ):
            post_webhook(
                client,
                "github",
                with_labels("pull_request.unlabeled.1.json", *labels),
                "pull_request",
            )
            deliveries_process(
                delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True))
            )
        return [call.args for call in delay.call_args_list]

    assert unlabeled("wip", "bug") == []  # still quiet
    assert unlabeled("bug") == [(pull.pk, "quiet_label_removed")]
