"""Size labels: one size/* label per open pull request, created in one colour
scheme when missing, the stale one taken off, nothing done twice; mocked at the
HTTP layer with recorded answers."""

from __future__ import annotations

import json

import pytest
import responses

from integrations.models import ConnectedRepository, ProviderCredential
from reviews.models import PullRequest, RepositoryReviewSettings
from reviews.size_labels import COLOURS, pull_size_label, size_of
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.integrations.test_connect_repo import recorded
from tests.reviews.test_assignment_flow import API

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]
ISSUE_LABELS = f"{API}/issues/2/labels"


@pytest.mark.parametrize(
    ("lines", "size"),
    [(0, "XS"), (9, "XS"), (10, "S"), (99, "S"), (100, "M"), (999, "L"), (1000, "XL")],
)
def test_sizes_follow_the_thresholds(lines, size):
    assert size_of(lines, [10, 100, 500, 1000]) == size


@pytest.fixture
def repository(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_labels"
    credential.save()
    repository = ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=186853002,
        full_name="Codertocat/Hello-World",
        credential=credential,
    )
    RepositoryReviewSettings.objects.create(
        repository=repository, size_labels=True, auto_assign=False
    )
    return repository


def open_pull(repository, *, additions=3, deletions=2, labels=()):
    return PullRequest.objects.create(
        repository=repository,
        number=2,
        state="open",
        author_login="Codertocat",
        additions=additions,
        deletions=deletions,
        labels=list(labels),
    )


def test_a_missing_label_is_created_then_put_on(repository):
    pull = open_pull(repository)
    with responses.RequestsMock() as rsps:
        rsps.patch(
            f"{API}/labels/size%2FXS",
            status=404,
            json={"message": "Not Found"},
        )
        rsps.post(f"{API}/labels", status=201, json=recorded("label_created.json"))
        rsps.post(
            ISSUE_LABELS,
            json=recorded("issue_labels_added.json"),
        )
        assert pull_size_label(pull_request_id=pull.pk) == "size/XS"
        created = json.loads(rsps.calls[1].request.body)
        added = json.loads(rsps.calls[2].request.body)
    assert created == {
        "name": "size/XS",
        "color": COLOURS["XS"],
        "description": "Changes fewer than 10 lines",
    }
    assert added == {"labels": ["size/XS"]}
    pull.refresh_from_db()
    assert pull.labels == ["Bug", "Project management", "Question"]  # as answered


def test_new_commits_move_the_label_and_the_same_size_does_nothing(repository):
    pull = open_pull(repository, additions=400, deletions=300, labels=["size/XS"])
    with responses.RequestsMock() as rsps:
        # Exists already: recoloured to the scheme, not created.
        rsps.patch(f"{API}/labels/size%2FL", json=recorded("label_edited.json"))
        rsps.post(ISSUE_LABELS, json=recorded("issue_labels_added.json"))
        rsps.delete(
            f"{ISSUE_LABELS}/size%2FXS", json=recorded("issue_labels_removed.json")
        )
        assert pull_size_label(pull_request_id=pull.pk) == "size/L"
        methods = [call.request.method for call in rsps.calls]
    assert methods == ["PATCH", "POST", "DELETE"]
    PullRequest.objects.filter(pk=pull.pk).update(labels=["size/L", "bug"])
    with responses.RequestsMock():  # any call would fail the test
        assert pull_size_label(pull_request_id=pull.pk) == "size/L"


def test_closed_pull_requests_and_repositories_without_labels_are_left_alone(
    repository,
):
    pull = open_pull(repository)
    PullRequest.objects.filter(pk=pull.pk).update(state="merged")
    with responses.RequestsMock():
        assert pull_size_label(pull_request_id=pull.pk) == ""
    PullRequest.objects.filter(pk=pull.pk).update(state="open")
    RepositoryReviewSettings.objects.update(size_labels=False)
    with responses.RequestsMock():
        assert pull_size_label(pull_request_id=pull.pk) == ""


def test_an_opened_delivery_labels_once_committed_only_where_asked(
    client, repository, django_capture_on_commit_callbacks
):
    from unittest import mock

    from integrations.models import WebhookDelivery
    from integrations.services import deliveries_process

    ConnectedRepository.objects.filter(pk=repository.pk).update(followed_since=None)
    with (
        mock.patch("integrations.services.events.pull_size_label_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        post_webhook(
            client,
            "github",
            load_payload("github", "pull_request.opened.1.json"),
            "pull_request",
        )
        deliveries_process(
            delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True))
        )
    pull = PullRequest.objects.get()
    assert [call.args for call in delay.call_args_list] == [(pull.pk,)]
    RepositoryReviewSettings.objects.update(size_labels=False)
    with (
        mock.patch("integrations.services.events.pull_size_label_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        post_webhook(
            client,
            "github",
            load_payload("github", "pull_request.synchronize.1.json"),
            "pull_request",
        )
        deliveries_process(
            delivery_ids=list(
                WebhookDelivery.objects.filter(status="pending").values_list(
                    "pk", flat=True
                )
            )
        )
    assert delay.call_args_list == []


def test_a_refused_label_is_logged_not_retried(repository, caplog):
    from reviews.tasks import pull_size_label_task

    pull = open_pull(repository)
    with responses.RequestsMock() as rsps:
        rsps.patch(
            f"{API}/labels/size%2FXS",
            status=403,
            json={"message": "Resource not accessible by integration"},
        )
        pull_size_label_task.apply(args=(pull.pk,)).get()
    assert "reviews.size_label.refused" in caplog.text


def test_gitlab_counts_the_diff_lines_and_changes_labels_in_one_request(settings):
    from tests.integrations.test_connect_repo_gitlab import BASE, PROJECT
    from tests.integrations.test_connect_repo_gitlab import (
        recorded as gitlab_recorded,
    )

    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.example.com"]
    credential = ProviderCredential(
        provider="gitlab", api_url=BASE, kind="access_token"
    )
    credential.token = "glpat-labels"
    credential.save()
    repository = ConnectedRepository.objects.create(
        provider="gitlab",
        host="gitlab.example.com",
        external_id=3,
        full_name="diaspora/diaspora-project-site",
        credential=credential,
    )
    RepositoryReviewSettings.objects.create(repository=repository, size_labels=True)
    pull = PullRequest.objects.create(
        repository=repository,
        number=1,
        state="open",
        author_login="admin",
        labels=["size/XL", "Manage"],
    )
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            json=gitlab_recorded("project.json"),
        )
        rsps.get(
            f"{PROJECT}/merge_requests/1/diffs",
            json=gitlab_recorded("merge_request_diffs.json"),
        )
        rsps.put(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site/labels/size%2FXS",
            json=gitlab_recorded("label_edited.json"),
        )
        rsps.put(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site/merge_requests/1",
            json=gitlab_recorded("merge_requests.json")[0],
        )
        assert pull_size_label(pull_request_id=pull.pk) == "size/XS"
        change = json.loads(rsps.calls[-1].request.body)
    assert change == {"add_labels": "size/XS", "remove_labels": "size/XL"}
    pull.refresh_from_db()
    assert pull.labels == ["Community contribution", "Manage"]  # as answered
