"""Writes as pull requests: dashboard settings changes go into .codequest.yml on
a branch, in one commit per batch, through a pull request; conflicts are left
for a person. Mocked at the HTTP layer with recorded answers (PROVENANCE.md)."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
import responses
from django.utils import timezone
from responses import matchers

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
    ProviderCredential,
    RepositoryWrite,
    SyncRun,
)
from integrations.services.writes import (
    repository_write_run,
    settings_write_request,
)
from reviews.config_file import settings_parse
from reviews.models import PullRequest, RepositoryReviewSettings
from tests.integrations.test_connect_repo import contents_body, recorded
from tests.integrations.test_settings_file import (
    admin_client as admin_client,  # noqa: F401 (fixture)
)
from tests.reviews.test_assignment_flow import API, repo_body

pytestmark = pytest.mark.django_db

FILE = (
    "# Review settings of the shop\n"
    "assignment:\n"
    "  reviewers: 2   # two pairs of eyes\n"
    "  strategy: load_balance\n"
    "team: backend\n"
)
MASTER_SHA = "04cde900a0775b51f762735637bd30de392a2793"  # git_ref.json
NEW_COMMIT = "40dc47c114c30c816ae28355ec34b380916b39aa"  # git_commit.json
ON_MASTER = [matchers.query_param_matcher({"ref": "master"})]


@pytest.fixture
def repository(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    team = Organization.objects.create(name="Backend", slug="backend")
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_writes"
    credential.save()
    repository = ConnectedRepository.objects.create(
        organization=team,
        provider="github",
        host="github.com",
        external_id=186853002,
        full_name="Codertocat/Hello-World",
        default_branch="master",
        credential=credential,
    )
    RepositoryReviewSettings.objects.create(
        repository=repository,
        reviewer_count=2,
        file_status="valid",
        file_values={"reviewer_count": 2, "strategy": "load_balance"},
    )
    return repository


@pytest.fixture
def scheduled():
    with mock.patch("integrations.services.writes._schedule") as schedule:
        yield schedule


def later(write: RepositoryWrite):
    return write.due_at + timedelta(seconds=1)


def serve_file(rsps, text: str | None) -> None:
    rsps.get(API, json=repo_body())
    if text is None:
        rsps.get(
            f"{API}/contents/.codequest.yml",
            status=404,
            json={"message": "Not Found"},
            match=ON_MASTER,
        )
    else:
        rsps.get(
            f"{API}/contents/.codequest.yml",
            json=contents_body(".codequest.yml", text),
            match=ON_MASTER,
        )


def serve_commit(rsps) -> None:
    """The Git data API's answers for one commit (its parent, tree, commit)."""
    rsps.get(f"{API}/git/commits/{MASTER_SHA}", json=recorded("git_commit.json"))
    rsps.post(f"{API}/git/trees", status=201, json=recorded("git_tree_created.json"))
    rsps.post(f"{API}/git/commits", status=201, json=recorded("git_commit.json"))


def serve_new_pull(rsps) -> None:
    """The default branch, one commit on a new branch, and the pull request."""
    rsps.get(f"{API}/git/ref/heads/master", json=recorded("git_ref.json"))
    serve_commit(rsps)
    rsps.post(f"{API}/git/refs", status=201, json=recorded("git_ref_created.json"))
    rsps.post(f"{API}/pulls", status=201, json=recorded("pulls_open.json")[0])


def body_of(rsps, method: str, suffix: str) -> dict:
    calls = [
        call
        for call in rsps.calls
        if call.request.method == method and call.request.url.endswith(suffix)
    ]
    assert len(calls) == 1, [c.request.url for c in rsps.calls]
    return json.loads(calls[0].request.body)


def first_write(repository, scheduled, **changes) -> RepositoryWrite:
    return settings_write_request(repository=repository, changes=changes)


def test_changes_become_one_commit_on_a_branch_and_a_pull_request(
    repository, scheduled, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        write = settings_write_request(
            repository=repository, changes={"reviewer_count": 3}
        )
        settings_write_request(
            repository=repository, changes={"quiet_labels": ["wip"]}
        )  # within the window: joins
    assert RepositoryWrite.objects.count() == 1
    assert scheduled.call_count == 2  # each change restarts the window
    write.refresh_from_db()
    assert write.changes == {"reviewer_count": 3, "quiet_labels": ["wip"]}
    assert repository_write_run(write_id=write.pk) == "wait"  # window still open

    with responses.RequestsMock() as rsps:
        serve_file(rsps, FILE)
        serve_new_pull(rsps)
        assert repository_write_run(write_id=write.pk, now=later(write)) == "success"
        tree = body_of(rsps, "POST", "/git/trees")
        commit = body_of(rsps, "POST", "/git/commits")
        ref = body_of(rsps, "POST", "/git/refs")
        pull = body_of(rsps, "POST", "/pulls")
    written = tree["tree"][0]
    assert written["path"] == ".codequest.yml"
    assert "# two pairs of eyes" in written["content"]  # comments kept
    assert settings_parse(written["content"]).values == {
        "reviewer_count": 3,
        "strategy": "load_balance",
        "quiet_labels": ["wip"],
    }
    assert commit["parents"] == [MASTER_SHA]
    assert commit["message"].startswith("Update review settings from CodeQuest (")
    assert ref == {
        "ref": f"refs/heads/codequest/settings-{write.pk}",
        "sha": NEW_COMMIT,
    }
    assert (pull["head"], pull["base"]) == (f"codequest/settings-{write.pk}", "master")
    assert "`assignment.reviewers`: `3`" in pull["body"]
    write.refresh_from_db()
    assert (write.status, write.pull_number, write.head_sha) == (
        "success",
        32,
        NEW_COMMIT,
    )
    # The recorded answer links to another host (ghe.example.com): not kept.
    assert write.pull_url == ""
    runs = SyncRun.objects.filter(repository=repository).order_by("id")
    assert [(run.kind, run.status, run.trigger) for run in runs] == [
        ("commit", "succeeded", "manual"),
        ("pull_request", "succeeded", "manual"),
    ]
    # The settings change only when the pull request is merged and read back.
    assert RepositoryReviewSettings.objects.get().reviewer_count == 2


def open_write(repository, **fields) -> RepositoryWrite:
    values = {
        "changes": {"reviewer_count": 3},
        "due_at": timezone.now() - timedelta(seconds=1),
        "branch": "codequest/settings-7",
        "pull_number": 9,
        "base_text": FILE,
        "status": "idle",
    }
    values.update(fields)
    return RepositoryWrite.objects.create(repository=repository, **values)


def test_a_later_batch_is_one_more_commit_on_the_same_pull_request(repository):
    write = open_write(repository)
    with responses.RequestsMock() as rsps:
        serve_file(rsps, FILE)  # unchanged since the branch was made
        rsps.get(f"{API}/git/ref/heads/master", json=recorded("git_ref.json"))
        rsps.get(
            f"{API}/git/ref/heads/codequest/settings-7", json=recorded("git_ref.json")
        )
        serve_commit(rsps)
        rsps.patch(
            f"{API}/git/refs/heads/codequest/settings-7", json=recorded("git_ref.json")
        )
        assert repository_write_run(write_id=write.pk) == "success"
        moved = body_of(rsps, "PATCH", "/git/refs/heads/codequest/settings-7")
    assert moved == {"sha": NEW_COMMIT, "force": True}
    assert list(SyncRun.objects.values_list("kind", flat=True)) == ["commit"]


def test_someone_else_changed_the_same_setting_is_a_conflict(repository):
    write = open_write(repository)
    theirs = FILE.replace("reviewers: 2", "reviewers: 4")
    with responses.RequestsMock() as rsps:
        serve_file(rsps, theirs)
        rsps.get(f"{API}/git/ref/heads/master", json=recorded("git_ref.json"))
        assert repository_write_run(write_id=write.pk) == "conflict"
    write.refresh_from_db()
    assert "in what it changes too (assignment.reviewers)" in write.error
    run = SyncRun.objects.get()
    assert (run.kind, run.status) == ("commit", "conflict")


def test_someone_else_changed_another_setting_is_rebased(repository):
    write = open_write(repository)
    theirs = FILE.replace("strategy: load_balance", "strategy: expertise")
    with responses.RequestsMock() as rsps:
        serve_file(rsps, theirs)
        rsps.get(f"{API}/git/ref/heads/master", json=recorded("git_ref.json"))
        serve_commit(rsps)
        rsps.patch(
            f"{API}/git/refs/heads/codequest/settings-7", json=recorded("git_ref.json")
        )
        assert repository_write_run(write_id=write.pk) == "success"
        tree = body_of(rsps, "POST", "/git/trees")
        commit = body_of(rsps, "POST", "/git/commits")
    # Made again on the new default branch, with their change and ours.
    assert commit["parents"] == [MASTER_SHA]
    assert settings_parse(tree["tree"][0]["content"]).values["strategy"] == "expertise"
    write.refresh_from_db()
    assert write.base_text == theirs


def test_a_refused_pull_request_fails_the_write_and_says_why(repository, scheduled):
    write = first_write(repository, scheduled, reviewer_count=3)
    with responses.RequestsMock() as rsps:
        serve_file(rsps, FILE)
        rsps.get(f"{API}/git/ref/heads/master", json=recorded("git_ref.json"))
        serve_commit(rsps)
        rsps.post(f"{API}/git/refs", status=201, json=recorded("git_ref_created.json"))
        rsps.post(f"{API}/pulls", status=422, json=recorded("pull_create_refused.json"))
        assert repository_write_run(write_id=write.pk, now=later(write)) == "error"
    write.refresh_from_db()
    assert "422" in write.error or "Validation Failed" in write.error
    assert "ghp_writes" not in write.error
    assert list(SyncRun.objects.values_list("kind", "status")) == [
        ("pull_request", "failed"),
        ("commit", "succeeded"),
    ]


def test_no_permission_to_push_fails_without_a_pull_request(repository, scheduled):
    write = first_write(repository, scheduled, reviewer_count=3)
    with responses.RequestsMock() as rsps:
        serve_file(rsps, FILE)
        rsps.get(f"{API}/git/ref/heads/master", json=recorded("git_ref.json"))
        rsps.get(f"{API}/git/commits/{MASTER_SHA}", json=recorded("git_commit.json"))
        rsps.post(
            f"{API}/git/trees",
            status=403,
            json={"message": "Resource not accessible by integration"},
        )
        assert repository_write_run(write_id=write.pk, now=later(write)) == "error"
    assert RepositoryWrite.objects.get().pull_number is None
    assert list(SyncRun.objects.values_list("kind", "status")) == [("commit", "failed")]


def test_a_path_the_team_excludes_is_never_written(repository, scheduled):
    Organization.objects.update(write_exclude_paths=[".codequest.yml"])
    write = first_write(repository, scheduled, reviewer_count=3)
    with responses.RequestsMock():  # no call at all
        assert repository_write_run(write_id=write.pk, now=later(write)) == "error"
    assert "never lets CodeQuest write .codequest.yml" in (
        RepositoryWrite.objects.get().error
    )


def test_a_merged_pull_request_ends_the_write(repository, scheduled):
    write = open_write(repository, status="success")
    PullRequest.objects.create(
        repository=repository, number=9, state="merged", author_login="codequest"
    )
    second = settings_write_request(repository=repository, changes={"sla_hours": 6})
    write.refresh_from_db()
    assert write.status == "done"
    assert second.pk != write.pk and second.changes == {"sla_hours": 6}


def test_unknown_fields_are_refused(repository):
    with pytest.raises(ValueError, match="sla_reminder"):
        settings_write_request(repository=repository, changes={"sla_reminder": "off"})


def test_gitlab_writes_one_commit_with_actions_and_a_merge_request(settings, scheduled):
    from tests.integrations.test_connect_repo_gitlab import BASE
    from tests.integrations.test_connect_repo_gitlab import (
        recorded as gitlab_recorded,
    )

    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.example.com"]
    credential = ProviderCredential(
        provider="gitlab", api_url=BASE, kind="access_token"
    )
    credential.token = "glpat-writes"
    credential.save()
    repository = ConnectedRepository.objects.create(
        organization=Organization.objects.create(name="Web", slug="web"),
        provider="gitlab",
        host="gitlab.example.com",
        external_id=3,
        full_name="diaspora/diaspora-project-site",
        default_branch="main",
        credential=credential,
    )
    project = f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site"
    write = settings_write_request(
        repository=repository, changes={"reviewer_count": 3, "size_labels": True}
    )
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            json=gitlab_recorded("project.json"),
        )
        rsps.get(
            f"{BASE}/api/v4/projects/3/repository/files/.codequest.yml/raw",
            status=404,
            json={"message": "404 File Not Found"},
        )
        rsps.get(
            f"{project}/repository/branches/main", json=gitlab_recorded("branch.json")
        )
        rsps.post(
            f"{project}/repository/commits",
            status=201,
            json=gitlab_recorded("commit_created.json"),
        )
        rsps.post(
            f"{project}/merge_requests",
            status=201,
            json=gitlab_recorded("merge_requests.json")[0],
        )
        assert repository_write_run(write_id=write.pk, now=later(write)) == "success"
        commit = body_of(rsps, "POST", "/repository/commits")
        merge = body_of(rsps, "POST", "/merge_requests")
    assert commit["branch"] == f"codequest/settings-{write.pk}"
    assert commit["start_sha"] == "7b5c3cc8be40ee161ae89a06bba6229da1032a0c"
    assert commit["force"] is False
    [action] = commit["actions"]
    assert (action["action"], action["file_path"]) == ("create", ".codequest.yml")
    assert settings_parse(action["content"]).values == {
        "reviewer_count": 3,
        "size_labels": True,
    }
    assert merge["source_branch"] == commit["branch"]
    assert merge["target_branch"] == "main" and merge["remove_source_branch"] is True
    write.refresh_from_db()
    assert write.head_sha == "ed899a2f4b50b4370feeea94676502b42383c746"
    assert write.pull_number == 1
    # On the provider's own host: kept, and shown as a link.
    assert (
        write.pull_url
        == "http://gitlab.example.com/my-group/my-project/merge_requests/1"
    )


# --- the dashboard ----------------------------------------------------------------


def form(**changes) -> dict:
    values = {
        "auto_assign": "on",
        "strategy": "load_balance",
        "reviewer_count": "2",
        "pool": "",
        "sla_hours": "9",
        "sla_reminder": "comment",
        "quiet_labels": "",
        "points_exclude_paths": "",
        "size_thresholds": "10, 100, 500, 1000",
    }
    values.update(changes)
    return values


def test_the_dashboard_proposes_file_settings_and_saves_the_rest(
    admin_client, repository, scheduled, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(
            f"/dashboard/repositories/{repository.pk}/settings/",
            form(reviewer_count="3", sla_reminder="off"),
            follow=True,
        )
    assert "Proposed in a pull request to .codequest.yml" in answer.content.decode()
    row = RepositoryReviewSettings.objects.get()
    assert row.reviewer_count == 2  # waits for the merge
    assert row.sla_reminder == "off"  # not a setting of the file: saved
    assert RepositoryWrite.objects.get().changes == {"reviewer_count": 3}
    page = admin_client.get(f"/dashboard/repositories/{repository.pk}/")
    assert "proposed in a pull request within a minute" in page.content.decode()


def test_a_repository_without_the_file_can_propose_one(
    admin_client, repository, scheduled
):
    RepositoryReviewSettings.objects.update(file_status="absent", file_values={})
    page = admin_client.get(f"/dashboard/repositories/{repository.pk}/")
    assert "Propose .codequest.yml in a pull request" in page.content.decode()
    admin_client.post(f"/dashboard/repositories/{repository.pk}/settings/propose/")
    changes = RepositoryWrite.objects.get().changes
    assert changes["reviewer_count"] == 2 and changes["strategy"] == "load_balance"


def test_members_who_are_not_admins_cannot_propose(client, repository):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("dev", password="pw-long-enough-1")
    OrganizationMembership.objects.create(
        organization=repository.organization, user=user, role="member"
    )
    client.force_login(user)
    answer = client.post(f"/dashboard/repositories/{repository.pk}/settings/propose/")
    assert answer.status_code == 403
    assert RepositoryWrite.objects.count() == 0


def test_end_to_end_connect_onboard_merge_in_force_edit_again(
    admin_client, repository, scheduled, django_capture_on_commit_callbacks
):
    """Connected without a file → "Configure CodeQuest" opened with the file →
    merged on the provider → the file's settings in force → an edit on the
    dashboard → a new pull request with one commit."""
    from integrations.services.settings_file import repository_settings_read
    from tests.integrations.test_settings_file import serve

    RepositoryReviewSettings.objects.update(
        file_status="", file_values={}, reviewer_count=2, sla_hours=6
    )
    with (
        responses.RequestsMock() as rsps,
        django_capture_on_commit_callbacks(execute=True),
    ):
        serve(rsps, config=None)  # the first reading after connecting
        assert repository_settings_read(repository_id=repository.pk) == "absent"
    write = RepositoryWrite.objects.get()
    with responses.RequestsMock() as rsps:
        serve_file(rsps, None)
        serve_new_pull(rsps)
        assert repository_write_run(write_id=write.pk, now=later(write)) == "success"
        tree = body_of(rsps, "POST", "/git/trees")["tree"]
        title = body_of(rsps, "POST", "/pulls")["title"]
    assert [item["path"] for item in tree] == [".codequest.yml"]  # no history yet
    assert title == "Configure CodeQuest" and write.purpose == "onboarding"
    proposed = tree[0]["content"]
    assert settings_parse(proposed).values["sla_hours"] == 6

    # Merged on the provider: its webhook records the merge, the push re-reads.
    PullRequest.objects.create(
        repository=repository, number=32, state="merged", author_login="lead"
    )
    RepositoryReviewSettings.objects.update(sla_hours=9)  # drifted meanwhile
    with responses.RequestsMock() as rsps:
        serve(rsps, config=proposed)
        assert repository_settings_read(repository_id=repository.pk) == "valid"
    row = RepositoryReviewSettings.objects.get()
    assert row.sla_hours == 6  # the file's value is in force
    assert "sla_hours" in row.file_values

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            f"/dashboard/repositories/{repository.pk}/settings/",
            form(sla_hours="4", size_thresholds="10, 100, 500, 1000"),
        )
    second = RepositoryWrite.objects.exclude(pk=write.pk).get()
    assert second.changes == {"sla_hours": 4}
    assert RepositoryWrite.objects.get(pk=write.pk).status == "done"
    with responses.RequestsMock() as rsps:
        serve_file(rsps, proposed)
        serve_new_pull(rsps)
        assert repository_write_run(write_id=second.pk, now=later(second)) == "success"
        commits = [
            call
            for call in rsps.calls
            if call.request.method == "POST" and call.request.url.endswith("/commits")
        ]
        rewritten = body_of(rsps, "POST", "/git/trees")["tree"][0]["content"]
    assert len(commits) == 1
    assert settings_parse(rewritten).values["sla_hours"] == 4


# --- onboarding -------------------------------------------------------------------


def test_suggested_codeowners_follow_reviews_then_authorship():
    from reviews.codeowners_suggest import PullHistory, codeowners_suggest

    history = [
        PullHistory("alice", ("bob",), ("api/views.py", "api/urls.py")),
        PullHistory("carol", ("bob", "alice"), ("api/models.py",)),
        PullHistory("bob", ("dependabot[bot]",), ("web/app.js", "README.md")),
        PullHistory("dave", (), ("docs/index.md",)),  # one authorship: too little
    ]
    text, reasons = codeowners_suggest(history)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ["/api/ @bob @alice"]
    assert reasons == [
        "`/api/`: @bob reviewed 2 and wrote 0; @alice reviewed 1 and wrote 1 "
        "of the 2 pull requests touching it"
    ]
    assert codeowners_suggest([]) == ("", [])


@pytest.fixture
def history(repository):
    from reviews.models import PullRequestFile, Review

    RepositoryReviewSettings.objects.update(file_status="", file_values={})
    known = PullRequest.objects.create(
        repository=repository,
        number=31,
        state="merged",
        author_login="alice",
        merged_at=timezone.now() - timedelta(days=2),
    )
    PullRequestFile.objects.create(
        pull_request=known, path="github/Repository.py", directory="github"
    )
    unread = PullRequest.objects.create(
        repository=repository,
        number=32,
        state="merged",
        author_login="carol",
        merged_at=timezone.now() - timedelta(days=1),
    )
    for pull in (known, unread):
        Review.objects.create(
            pull_request=pull,
            external_id=f"r{pull.number}",
            reviewer_login="bob",
            state="approved",
            submitted_at=timezone.now(),
        )
    return unread


def test_a_new_repository_without_the_file_gets_a_configure_pull_request(
    repository, history, scheduled, django_capture_on_commit_callbacks
):
    from integrations.services.settings_file import repository_settings_read
    from reviews.models import PullRequestFile
    from tests.integrations.test_settings_file import serve

    with (
        responses.RequestsMock() as rsps,
        django_capture_on_commit_callbacks(execute=True),
    ):
        serve(rsps, config=None)  # no .codequest.yml, no CODEOWNERS
        # The one merged pull request whose files were never read.
        rsps.get(f"{API}/pulls/32/files", json=recorded("pull_files.json"))
        assert repository_settings_read(repository_id=repository.pk) == "absent"
    # The files of #32 were read (once) and kept for expertise too.
    assert set(
        PullRequestFile.objects.filter(pull_request=history).values_list(
            "path", flat=True
        )
    ) == {"codegen/templates/GithubObject.py", "src/github/AuthenticatedUser.py"}
    write = RepositoryWrite.objects.get()
    assert write.purpose == "onboarding"
    assert scheduled.call_args.args == (write.pk, 0)  # no batching window
    owners = [
        line
        for line in write.extra_files["CODEOWNERS"].splitlines()
        if not line.startswith("#")
    ]
    # Bob reviewed all; one authorship each is too little to own anything.
    assert owners == ["/codegen/ @bob", "/github/ @bob", "/src/ @bob"]

    with responses.RequestsMock() as rsps:
        serve_file(rsps, None)
        serve_new_pull(rsps)
        assert repository_write_run(write_id=write.pk) == "success"
        tree = body_of(rsps, "POST", "/git/trees")["tree"]
        commit = body_of(rsps, "POST", "/git/commits")
        pull = body_of(rsps, "POST", "/pulls")
        ref = body_of(rsps, "POST", "/git/refs")
    assert sorted(item["path"] for item in tree) == [".codequest.yml", "CODEOWNERS"]
    assert commit["message"] == pull["title"] == "Configure CodeQuest"
    assert ref["ref"] == f"refs/heads/codequest/onboarding-{write.pk}"
    assert "who reviewed (counted twice)" in pull["body"]
    assert "`/github/`: @bob reviewed 1 and wrote 0 of the 1 pull" in pull["body"]

    # Once per repository: read again, nothing more.
    with responses.RequestsMock() as rsps:
        serve(rsps, config=None)
        repository_settings_read(repository_id=repository.pk)
    assert RepositoryWrite.objects.count() == 1


def test_teams_can_turn_onboarding_off_and_exclude_codeowners(
    repository, history, scheduled
):
    from integrations.services.settings_file import repository_settings_read
    from tests.integrations.test_settings_file import serve

    Organization.objects.update(onboarding_pull_requests=False)
    with responses.RequestsMock() as rsps:
        serve(rsps, config=None)
        repository_settings_read(repository_id=repository.pk)
    assert RepositoryWrite.objects.count() == 0

    Organization.objects.update(
        onboarding_pull_requests=True, write_exclude_paths=["CODEOWNERS"]
    )
    with responses.RequestsMock() as rsps:
        serve(rsps, config=None)
        rsps.get(f"{API}/pulls/32/files", json=recorded("pull_files.json"))
        repository_settings_read(repository_id=repository.pk)
    write = RepositoryWrite.objects.get()
    with responses.RequestsMock() as rsps:
        serve_file(rsps, None)
        serve_new_pull(rsps)
        repository_write_run(write_id=write.pk)
        tree = body_of(rsps, "POST", "/git/trees")["tree"]
        pull = body_of(rsps, "POST", "/pulls")
    assert [item["path"] for item in tree] == [".codequest.yml"]
    assert "Not written, as the team asks: `CODEOWNERS`" in pull["body"]


# --- CODEOWNERS drift ---------------------------------------------------------------


def test_drift_replaces_only_owners_who_no_longer_review():
    from reviews.codeowners_suggest import PullHistory, codeowners_drift

    text = (
        "# owners\n"
        "* @lead\n"
        "/api/ @old-owner\n"
        "/web/ @org/web-team\n"  # a team: not judged
        "/docs/ @bob\n"
    )
    history = [PullHistory("alice", ("bob",), ("api/x.py",)) for _ in range(5)] + [
        PullHistory("carol", ("bob",), ("docs/a.md",)) for _ in range(5)
    ]
    new_text, reasons = codeowners_drift(text, history)
    assert new_text == (
        "# owners\n* @lead\n/api/ @bob @alice\n/web/ @org/web-team\n/docs/ @bob\n"
    )
    assert reasons == [
        "`/api/`: @old-owner reviewed 0 of the 5 pull requests touching it; "
        "reviews came from @bob 5, @alice 0"
    ]
    few = history[:4]  # fewer than five pull requests: not judged
    assert codeowners_drift(text, few) == ("", [])


@pytest.fixture
def drifted(repository):
    from reviews.models import PullRequestFile, Review

    RepositoryReviewSettings.objects.update(codeowners_path=".github/CODEOWNERS")
    for number in range(40, 46):
        pull = PullRequest.objects.create(
            repository=repository,
            number=number,
            state="merged",
            author_login="alice",
            merged_at=timezone.now() - timedelta(days=3),
        )
        PullRequestFile.objects.create(
            pull_request=pull, path="github/Repository.py", directory="github"
        )
        Review.objects.create(
            pull_request=pull,
            external_id=f"d{number}",
            reviewer_login="bob",
            state="approved",
            submitted_at=timezone.now(),
        )
    return "/github/ @old-owner\n"


def serve_codeowners(rsps, text: str) -> None:
    rsps.get(API, json=repo_body())
    rsps.get(
        f"{API}/contents/.github/CODEOWNERS",
        json=contents_body(".github/CODEOWNERS", text),
        match=ON_MASTER,
    )


def test_a_drift_pull_request_at_most_one_and_silenced_after_a_close(
    repository, drifted, scheduled
):
    from integrations.providers import get_provider
    from integrations.services.writes import codeowners_drift_check

    client = get_provider("github").client("ghp_writes", "https://api.github.com")
    with responses.RequestsMock() as rsps:
        serve_codeowners(rsps, drifted)
        write = codeowners_drift_check(repository=repository, client=client)
    assert write.purpose == "drift"
    assert write.extra_files == {".github/CODEOWNERS": "/github/ @bob @alice\n"}
    with responses.RequestsMock():  # one open at a time: not even read
        assert codeowners_drift_check(repository=repository, client=client) is None
    with responses.RequestsMock() as rsps:
        serve_file(rsps, None)
        rsps.get(
            f"{API}/contents/.github/CODEOWNERS",
            json=contents_body(".github/CODEOWNERS", drifted),
            match=ON_MASTER,
        )
        serve_new_pull(rsps)
        assert repository_write_run(write_id=write.pk) == "success"
        tree = body_of(rsps, "POST", "/git/trees")["tree"]
        pull = body_of(rsps, "POST", "/pulls")
    assert [item["path"] for item in tree] == [".github/CODEOWNERS"]  # nothing else
    assert tree[0]["content"] == "/github/ @bob @alice\n"
    assert pull["title"].startswith("CODEOWNERS drift")
    assert "`/github/`: @old-owner reviewed 0 of the 6" in pull["body"]
    assert "Closing it unmerged silences this suggestion for 90 days" in pull["body"]
    # A person closes it unmerged: nothing is asked for 90 days.
    PullRequest.objects.create(
        repository=repository,
        number=32,
        state="closed",
        author_login="codequest",
        closed_at=timezone.now(),
    )
    RepositoryWrite.objects.filter(pk=write.pk).update(status="done")
    with responses.RequestsMock():  # not even read
        assert codeowners_drift_check(repository=repository, client=client) is None
        assert (
            codeowners_drift_check(
                repository=repository,
                client=client,
                now=timezone.now() + timedelta(days=89),
            )
            is None
        )
    fresh = get_provider("github").client("ghp_writes", "https://api.github.com")
    with responses.RequestsMock() as rsps:
        serve_codeowners(rsps, drifted)
        # 91 days on, the history of the last 90 days has nothing left.
        assert (
            codeowners_drift_check(
                repository=repository,
                client=fresh,
                now=timezone.now() + timedelta(days=91),
            )
            is None
        )
        assert len(rsps.calls) == 2  # asked again: the file was read


def test_a_drift_onto_a_changed_file_is_a_conflict(repository, drifted, scheduled):
    write = RepositoryWrite.objects.create(
        repository=repository,
        purpose="drift",
        changes={},
        extra_files={".github/CODEOWNERS": "/github/ @bob\n"},
        base_text=drifted,
        due_at=timezone.now(),
    )
    with responses.RequestsMock() as rsps:
        serve_file(rsps, None)  # every write reads .codequest.yml first
        rsps.get(
            f"{API}/contents/.github/CODEOWNERS",
            json=contents_body(".github/CODEOWNERS", "/github/ @someone-new\n"),
            match=ON_MASTER,
        )
        rsps.get(f"{API}/git/ref/heads/master", json=recorded("git_ref.json"))
        assert repository_write_run(write_id=write.pk) == "conflict"
    assert "changed since this suggestion was made" in (
        RepositoryWrite.objects.get().error
    )
    assert list(SyncRun.objects.values_list("kind", "status")) == [
        ("commit", "conflict")
    ]


def test_repositories_connected_long_ago_are_not_onboarded_unasked(
    repository, scheduled
):
    from integrations.services.settings_file import repository_settings_read
    from tests.integrations.test_settings_file import serve

    ConnectedRepository.objects.update(created_at=timezone.now() - timedelta(days=8))
    with responses.RequestsMock() as rsps:
        serve(rsps, config=None)
        assert repository_settings_read(repository_id=repository.pk) == "absent"
    assert RepositoryWrite.objects.count() == 0
