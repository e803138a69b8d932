""".codequest.yml end to end: read on the default branch, applied, kept when
invalid, re-read on the priority queue when a push touches it, and shown on
the repository page. GitHub's contents API is mocked with its recorded envelope."""

from __future__ import annotations

import copy
import json

import pytest
import responses
from responses import matchers

from integrations.models import ConnectedRepository, Organization, ProviderCredential
from integrations.services.settings_file import repository_settings_read
from reviews.models import FileStatus, PullRequest, RepositoryReviewSettings
from reviews.settings_file import COMMENT_MARKER
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.integrations.test_connect_repo import contents_body
from tests.reviews.test_assignment_flow import API, repo_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

NOT_FOUND = {"message": "Not Found"}
VALID = (
    "assignment:\n  reviewers: 2\n  strategy: round_robin\n  pool: [alice, bob]\n"
    "  sla_hours: 6\n  quiet_labels: [wip]\npoints:\n  exclude_paths: ['docs/**']\n"
    "team: backend\n"
)
MERGE_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"  # push.default.5.json's after


@pytest.fixture
def repository(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    team = Organization.objects.create(name="Backend", slug="backend")
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_settings"
    credential.save()
    return ConnectedRepository.objects.create(
        organization=team,
        provider="github",
        host="github.com",
        external_id=186853002,
        full_name="Codertocat/Hello-World",
        default_branch="master",
        credential=credential,
    )


def serve(rsps, *, config: str | None, codeowners: str | None = None) -> None:
    """The repository, its .codequest.yml and CODEOWNERS locations on master."""
    on_master = [matchers.query_param_matcher({"ref": "master"})]
    rsps.get(API, json=repo_body())
    if config is None:
        rsps.get(
            f"{API}/contents/.codequest.yml",
            status=404,
            json=NOT_FOUND,
            match=on_master,
        )
    else:
        rsps.get(
            f"{API}/contents/.codequest.yml",
            json=contents_body(".codequest.yml", config),
            match=on_master,
        )
    # GitHub's CODEOWNERS locations in its order, up to the one that exists.
    for path in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"):
        if codeowners is not None and path == ".github/CODEOWNERS":
            rsps.get(
                f"{API}/contents/{path}",
                json=contents_body(path, codeowners),
                match=on_master,
            )
            break
        rsps.get(f"{API}/contents/{path}", status=404, json=NOT_FOUND, match=on_master)


def settings_of(repository) -> RepositoryReviewSettings:
    return RepositoryReviewSettings.objects.get(repository=repository)


def test_a_valid_file_sets_what_it_names(repository):
    with responses.RequestsMock() as rsps:
        serve(rsps, config=VALID, codeowners="* @octo/backend\n")
        assert repository_settings_read(repository_id=repository.pk) == "valid"
    row = settings_of(repository)
    assert (row.reviewer_count, row.strategy, row.pool, row.sla_hours) == (
        2,
        "round_robin",
        ["alice", "bob"],
        6,
    )
    assert row.quiet_labels == ["wip"]
    assert row.points_exclude_paths == ["docs/**"]
    assert row.file_status == FileStatus.VALID
    assert row.codeowners_path == ".github/CODEOWNERS"
    assert set(row.file_values) == {
        "reviewer_count",
        "strategy",
        "pool",
        "sla_hours",
        "quiet_labels",
        "points_exclude_paths",
    }
    assert row.auto_assign is True  # not named: left as it was


def test_an_invalid_file_keeps_the_last_valid_settings(repository):
    with responses.RequestsMock() as rsps:
        serve(rsps, config=VALID)
        repository_settings_read(repository_id=repository.pk)
    with responses.RequestsMock() as rsps:
        serve(rsps, config="assignment:\n  reviewers: 50\n")
        assert repository_settings_read(repository_id=repository.pk) == "invalid"
    row = settings_of(repository)
    assert row.reviewer_count == 2  # the last valid value stays
    assert row.file_status == FileStatus.INVALID
    assert row.file_error == "assignment.reviewers: between 1 and 10"
    assert row.file_values["reviewer_count"] == 2


def test_a_file_naming_another_team_is_refused(repository):
    with responses.RequestsMock() as rsps:
        serve(rsps, config="assignment:\n  reviewers: 3\nteam: frontend\n")
        assert repository_settings_read(repository_id=repository.pk) == "invalid"
    row = settings_of(repository)
    assert row.reviewer_count == 1
    assert row.file_error == (
        "team: 'frontend' does not own this repository (its team is 'backend')"
    )
    assert ConnectedRepository.objects.get().organization.slug == "backend"


def test_a_removed_file_leaves_the_settings_to_the_dashboard(repository):
    with responses.RequestsMock() as rsps:
        serve(rsps, config=VALID)
        repository_settings_read(repository_id=repository.pk)
    with responses.RequestsMock() as rsps:
        serve(rsps, config=None)
        assert repository_settings_read(repository_id=repository.pk) == "absent"
    row = settings_of(repository)
    assert row.file_values == {} and row.reviewer_count == 2
    assert row.codeowners_path == ""


def test_a_refused_token_is_unreadable_and_changes_nothing(repository):
    with responses.RequestsMock() as rsps:
        rsps.get(API, status=401, json={"message": "Bad credentials"})
        assert repository_settings_read(repository_id=repository.pk) == "unreadable"
    row = settings_of(repository)
    assert row.file_status == FileStatus.UNREADABLE
    assert "ghp_settings" not in row.file_error


# --- pushes ---------------------------------------------------------------------


def push_payload(*paths: str, ref: str = "refs/heads/master") -> dict:
    payload = copy.deepcopy(load_payload("github", "push.default.5.json"))
    payload["ref"] = ref
    payload["commits"][0]["added"] = list(paths)
    return payload


def sent_tasks(mocked) -> list[tuple]:
    return [call.args for call in mocked.call_args_list]


@pytest.fixture
def queued(monkeypatch):
    from unittest import mock

    with mock.patch("integrations.tasks.repository_settings_read_task.delay") as delay:
        yield delay


@pytest.mark.parametrize(
    ("paths", "ref", "read"),
    [
        ((".codequest.yml",), "refs/heads/master", True),
        ((".github/CODEOWNERS",), "refs/heads/master", True),
        (("docs/CODEOWNERS", "README.md"), "refs/heads/master", True),
        (("README.md",), "refs/heads/master", False),
        ((".codequest.yml",), "refs/heads/feature", False),
        ((".codequest.yml",), "refs/tags/v1", False),
    ],
)
def test_only_pushes_that_touch_the_settings_read_them_again(
    client, repository, queued, django_capture_on_commit_callbacks, paths, ref, read
):
    from integrations.models import WebhookDelivery
    from integrations.services import deliveries_process

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, "github", push_payload(*paths, ref=ref), "push")
        deliveries_process(
            delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True))
        )
    assert WebhookDelivery.objects.get().status == "processed"
    assert sent_tasks(queued) == ([(repository.pk, MERGE_SHA)] if read else [])


def test_a_push_that_does_not_list_every_path_reads_them_again(
    client, repository, queued, django_capture_on_commit_callbacks
):
    from integrations.models import WebhookDelivery
    from integrations.services import deliveries_process

    payload = push_payload("README.md")
    payload["forced"] = True  # rewritten history: the commits do not say
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, "github", payload, "push")
        deliveries_process(
            delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True))
        )
    assert sent_tasks(queued) == [(repository.pk, MERGE_SHA)]


def test_the_read_goes_to_the_priority_queue():
    from codequest.celery import app

    route = app.amqp.router.route({}, "integrations.repository_settings_read")
    assert route["queue"].name == "priority"
    other = app.amqp.router.route({}, "integrations.deliveries_process")
    assert other["queue"].name == "celery"


def test_an_invalid_merge_gets_one_comment_on_its_pull_request(
    repository, django_capture_on_commit_callbacks
):
    PullRequest.objects.create(
        repository=repository,
        number=2,
        state="merged",
        merge_commit_sha=MERGE_SHA,
        author_login="Codertocat",
    )
    broken = "assignment:\n  strategy: fastest\n"
    with responses.RequestsMock() as rsps:
        serve(rsps, config=broken)
        rsps.post(f"{API}/issues/2/comments", status=201, body="")
        with django_capture_on_commit_callbacks(execute=True):
            repository_settings_read(repository_id=repository.pk, commit=MERGE_SHA)
        body = json.loads(rsps.calls[-1].request.body)["body"]
    assert body.startswith(COMMENT_MARKER)
    assert "assignment.strategy: one of round_robin" in body
    # The same broken file read again (reconciliation) says nothing more.
    with responses.RequestsMock() as rsps:
        serve(rsps, config=broken)
        with django_capture_on_commit_callbacks(execute=True):
            repository_settings_read(repository_id=repository.pk, commit=MERGE_SHA)
        assert all(call.request.method == "GET" for call in rsps.calls)


def test_reconciliation_reads_files_not_read_for_an_hour(repository):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    from integrations.services.sync import repository_sync_all

    with (
        mock.patch(
            "integrations.services.sync.repository_settings_read_task.apply_async"
        ) as read,
        mock.patch("integrations.services.sync.repository_sync_task.apply_async"),
    ):
        repository_sync_all(interval=300)
        assert [call.args[0] for call in read.call_args_list] == [(repository.pk,)]
        assert read.call_args.kwargs["queue"] == "celery"  # not urgent
        RepositoryReviewSettings.objects.create(
            repository=repository, file_checked_at=timezone.now() - timedelta(minutes=5)
        )
        read.reset_mock()
        repository_sync_all(interval=300)
        assert read.call_args_list == []


# --- the dashboard -----------------------------------------------------------------


@pytest.fixture
def admin_client(client, repository):
    from django.contrib.auth import get_user_model

    from integrations.models import OrganizationMembership

    user = get_user_model().objects.create_user("lead", password="pw-long-enough-1")
    OrganizationMembership.objects.create(
        organization=repository.organization, user=user, role="admin"
    )
    client.force_login(user)
    return client


def test_the_repository_page_shows_the_file_and_proposes_changes_to_it(
    admin_client, repository, django_capture_on_commit_callbacks
):
    from unittest import mock

    from integrations.models import RepositoryWrite

    with responses.RequestsMock() as rsps:
        serve(rsps, config=VALID)
        repository_settings_read(repository_id=repository.pk)
    page = admin_client.get(f"/dashboard/repositories/{repository.pk}/")
    html = page.content.decode()
    assert "is in force</strong>" in html
    assert "proposes the change to it as a pull request" in html
    # What the file sets goes to it; the rest is saved at once.
    with (
        mock.patch("integrations.services.writes._schedule"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        answer = admin_client.post(
            f"/dashboard/repositories/{repository.pk}/settings/",
            {
                "auto_assign": "",
                "strategy": "expertise",
                "reviewer_count": "2",
                "pool": "alice, bob",
                "sla_hours": "6",
                "sla_reminder": "off",
                "quiet_labels": "wip",
                "points_exclude_paths": "docs/**",
                "size_thresholds": "10, 100, 500, 1000",
            },
        )
    assert answer.status_code == 302
    row = settings_of(repository)
    assert (row.strategy, row.reviewer_count) == ("round_robin", 2)  # until merged
    assert (row.auto_assign, row.sla_reminder) == (True, "off")
    assert RepositoryWrite.objects.get().changes == {
        "strategy": "expertise",
        "auto_assign": False,
    }


def test_while_the_file_is_invalid_what_it_set_is_locked(admin_client, repository):
    with responses.RequestsMock() as rsps:
        serve(rsps, config=VALID)
        repository_settings_read(repository_id=repository.pk)
    with responses.RequestsMock() as rsps:
        serve(rsps, config="assignment:\n  reviewers: 0\n")
        repository_settings_read(repository_id=repository.pk)
    answer = admin_client.post(
        f"/dashboard/repositories/{repository.pk}/settings/",
        {
            "auto_assign": "on",
            "strategy": "expertise",
            "reviewer_count": "9",
            "pool": "mallory",
            "sla_hours": "100",
            "sla_reminder": "off",
            "quiet_labels": "",
            "points_exclude_paths": "",
            "size_thresholds": "10, 100, 500, 1000",
        },
    )
    assert answer.status_code == 302
    row = settings_of(repository)
    assert (row.strategy, row.reviewer_count, row.pool, row.sla_hours) == (
        "round_robin",
        2,
        ["alice", "bob"],
        6,
    )
    assert row.sla_reminder == "off"


def test_an_invalid_file_is_explained_on_the_page(admin_client, repository):
    with responses.RequestsMock() as rsps:
        serve(rsps, config="assignment:\n  reviewers: 0\n  strategy: fastest\n")
        repository_settings_read(repository_id=repository.pk)
    html = admin_client.get(
        f"/dashboard/repositories/{repository.pk}/"
    ).content.decode()
    assert "is invalid</strong>" in html
    assert "<li>assignment.reviewers: between 1 and 10</li>" in html
    assert "<li>assignment.strategy: one of" in html


def test_changing_excluded_paths_on_the_dashboard_recounts(
    admin_client, repository, django_capture_on_commit_callbacks
):
    from unittest import mock

    with (
        mock.patch(
            "integrations.repository_views.repository_points_recount_task.delay"
        ) as recount,
        django_capture_on_commit_callbacks(execute=True),
    ):
        admin_client.post(
            f"/dashboard/repositories/{repository.pk}/settings/",
            {
                "auto_assign": "on",
                "strategy": "load_balance",
                "reviewer_count": "1",
                "pool": "",
                "sla_hours": "9",
                "sla_reminder": "comment",
                "quiet_labels": "wip, do-not-review",
                "points_exclude_paths": "docs/**, *.md",
            },
        )
    assert recount.call_args_list == [mock.call(repository.pk)]
    row = settings_of(repository)
    assert row.quiet_labels == ["wip", "do-not-review"]
    assert row.points_exclude_paths == ["docs/**", "*.md"]


@pytest.mark.parametrize(
    ("provider", "name", "paths"),
    [
        ("github", "push.default.5.json", ("README.md",)),
        ("github", "push.default.1.json", ()),  # a tag: no commits
        ("gitlab", "push.default.2.json", ("README.md",)),
        # GitLab lists 2 of the push's 4 commits: the paths are not all known.
        ("gitlab", "push.default.6.json", None),
    ],
)
def test_pushed_paths_from_real_payloads(provider, name, paths):
    from integrations.providers import get_provider

    event_name = "push" if provider == "github" else "Push Hook"
    event = get_provider(provider).parse(event_name, load_payload(provider, name))
    assert event.push.paths == paths


def test_gitlab_file_is_read_raw_from_the_default_branch(settings):
    from integrations.providers import get_provider
    from reviews.settings_file import settings_file_read

    base = "https://gitlab.example.com"
    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.example.com"]
    team = Organization.objects.create(name="Backend", slug="backend")
    repository = ConnectedRepository.objects.create(
        organization=team,
        provider="gitlab",
        host="gitlab.example.com",
        external_id=15,
        full_name="mike/diaspora",
        default_branch="master",
    )
    project = f"{base}/api/v4/projects/mike%2Fdiaspora"
    from tests.integrations.test_connect_repo_gitlab import recorded as gitlab_recorded

    on_master = [matchers.query_param_matcher({"ref": "master"})]
    client = get_provider("gitlab").client("glpat-test", base)
    with responses.RequestsMock() as rsps:
        rsps.get(project, json=gitlab_recorded("project.json"))
        project_id = gitlab_recorded("project.json")["id"]
        files = f"{base}/api/v4/projects/{project_id}/repository/files"
        rsps.get(
            f"{files}/.codequest.yml/raw",
            body="assignment:\n  reviewers: 3\n",
            match=on_master,
        )
        rsps.get(f"{files}/CODEOWNERS/raw", body="* @mike\n", match=on_master)
        result = settings_file_read(repository=repository, client=client)
    assert result.status == "valid"
    row = settings_of(repository)
    assert row.reviewer_count == 3 and row.codeowners_path == "CODEOWNERS"
