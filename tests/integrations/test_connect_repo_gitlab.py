"""connect_repo against a self-managed GitLab, mocked at the HTTP layer with the
example responses of GitLab's API documentation (tests/provider_responses)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
import responses
from django.core.management import CommandError, call_command
from responses import matchers

from integrations.models import ConnectedRepository, ProviderCredential, WebhookEndpoint
from reviews.models import PullRequest, Review

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses"
BASE = "https://gitlab.example.com"
PROJECT = f"{BASE}/api/v4/projects/3"
TOKEN = "glpat-test-token-value"


def recorded(name: str) -> object:
    """A documented GitLab body, moved to the self-managed host."""
    text = (RECORDED / "gitlab" / name).read_text()
    return json.loads(text.replace("http://example.com/", f"{BASE}/"))


def documented_project(token: str, **changes) -> ConnectedRepository:
    """The documentation's project, connected with a token (for sync and health)."""
    credential = ProviderCredential(
        provider="gitlab", api_url=BASE, kind="access_token"
    )
    credential.token = token
    credential.save()
    return ConnectedRepository.objects.create(
        provider="gitlab",
        host="gitlab.example.com",
        external_id=3,
        full_name="diaspora/diaspora-project-site",
        credential=credential,
        **changes,
    )


@pytest.fixture(autouse=True)
def _client_settings(settings, monkeypatch):
    settings.PUBLIC_URL = "https://cq.example.com"
    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.example.com"]  # self-managed
    monkeypatch.setenv("GL_TOKEN", TOKEN)


def mock_gitlab(rsps, *, existing_hooks: list | None = None) -> None:
    rsps.get(
        f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
        json=recorded("project.json"),
    )
    rsps.get(f"{PROJECT}/hooks", json=existing_hooks or [])
    if existing_hooks:
        rsps.put(f"{PROJECT}/hooks/1", json=recorded("hook.json"))
    else:
        rsps.post(f"{PROJECT}/hooks", status=201, json=recorded("hook.json"))
    rsps.post(
        f"{PROJECT}/hooks/1/test/push_events",
        status=201,
        json={"message": "201 Created"},
    )
    opened = matchers.query_param_matcher({"state": "opened"}, strict_match=False)
    rsps.get(f"{PROJECT}/merge_requests", json=[], match=[opened])
    recent = matchers.query_param_matcher(
        {"order_by": "updated_at"}, strict_match=False
    )
    rsps.get(
        f"{PROJECT}/merge_requests",
        json=recorded("merge_requests.json"),
        match=[recent],
    )
    rsps.get(f"{PROJECT}/merge_requests/1/approvals", json=recorded("approvals.json"))
    rsps.get(
        f"{PROJECT}/merge_requests/1/notes", json=[recorded("merge_request_note.json")]
    )


def connect() -> str:
    out = StringIO()
    call_command(
        "connect_repo",
        "--provider",
        "gitlab",
        "--repo",
        "diaspora/diaspora-project-site",
        "--token-env",
        "GL_TOKEN",
        "--api-url",
        BASE,
        stdout=out,
    )
    return out.getvalue()


def test_connect_gitlab_project_end_to_end():
    with responses.RequestsMock() as rsps:
        mock_gitlab(rsps)
        output = connect()
        hook_call = next(
            call
            for call in rsps.calls
            if call.request.method == "POST" and call.request.url.endswith("/hooks")
        )
        assert hook_call.request.headers["PRIVATE-TOKEN"] == TOKEN
    repository = ConnectedRepository.objects.get()
    assert (repository.provider, repository.host, repository.full_name) == (
        "gitlab",
        "gitlab.example.com",
        "diaspora/diaspora-project-site",
    )
    assert repository.is_private is True
    endpoint = WebhookEndpoint.objects.get()
    sent = json.loads(hook_call.request.body)
    assert (
        sent["url"] == f"https://cq.example.com/webhooks/gitlab/{endpoint.public_id}/"
    )
    assert sent["token"] == endpoint.secret
    assert sent["merge_requests_events"] and sent["note_events"]
    assert endpoint.provider_hook_id == 1
    pull = PullRequest.objects.get()
    assert (pull.number, pull.title, pull.state) == (1, "test1", "merged")
    assert (pull.author_login, pull.merged_by_login) == ("admin", "DouweM")
    assert pull.requested_reviewers == ["kenyatta_oconnell"]
    assert pull.labels == ["Community contribution", "Manage"]
    assert pull.head_sha == "8" * 40
    review = Review.objects.get()
    assert (review.reviewer_login, review.state) == ("root", "approved")
    assert "imported 1 pull request and 1 review" in output
    credential = ProviderCredential.objects.get()
    assert credential.token == TOKEN
    assert TOKEN not in credential.token_encrypted


def test_connect_gitlab_twice_updates_the_hook():
    with responses.RequestsMock() as rsps:
        mock_gitlab(rsps)
        connect()
    endpoint = WebhookEndpoint.objects.get()
    ours = recorded("hook.json")
    ours["url"] = f"https://cq.example.com/webhooks/gitlab/{endpoint.public_id}/"
    with responses.RequestsMock() as rsps:
        mock_gitlab(rsps, existing_hooks=[ours])
        connect()
        methods = [call.request.method for call in rsps.calls]
    assert "PUT" in methods
    assert WebhookEndpoint.objects.count() == 1
    assert PullRequest.objects.count() == 1


def test_developer_token_cannot_register_hooks():
    project = recorded("project.json")
    project["permissions"] = {
        "project_access": {"access_level": 30, "notification_level": 3},
        "group_access": None,
    }
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site", json=project
        )
        with pytest.raises(CommandError, match="needs the Maintainer role"):
            connect()
    assert ConnectedRepository.objects.count() == 0


def test_gitlab_refused_token():
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            status=401,
            json={"message": "401 Unauthorized"},
        )
        with pytest.raises(CommandError, match=r"GitLab refused the token \(401\)"):
            connect()
    assert ProviderCredential.objects.count() == 0


def test_gitlab_rate_limit_answer_is_waited_out_and_retried():
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            status=429,
            json={"message": "429 Too Many Requests"},
            headers={"Retry-After": "0"},
        )
        mock_gitlab(rsps)
        connect()
        statuses = [call.response.status_code for call in rsps.calls[:2]]
    assert statuses == [429, 200]
    assert ConnectedRepository.objects.count() == 1


def test_disconnect_gitlab_removes_the_hook():
    with responses.RequestsMock() as rsps:
        mock_gitlab(rsps)
        connect()
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            json=recorded("project.json"),
        )
        rsps.delete(f"{PROJECT}/hooks/1", status=204)
        out = StringIO()
        call_command(
            "disconnect_repo",
            "--provider",
            "gitlab",
            "--repo",
            "diaspora/diaspora-project-site",
            stdout=out,
        )
    assert "webhook 1 removed" in out.getvalue()
    assert not WebhookEndpoint.objects.get().is_active
    assert not ConnectedRepository.objects.get().is_active


def test_gitlab_reads_codeowners_and_adds_reviewers():
    from integrations.providers import get_provider

    client = get_provider("gitlab").client(TOKEN, BASE)
    merge_request = recorded("merge_requests.json")[0]
    user = recorded("user.json")
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            json=recorded("project.json"),
        )
        rsps.get(
            f"{PROJECT}/repository/files/CODEOWNERS/raw",
            body="[Backend]\n*.rb @backend\n",
            match=[matchers.query_param_matcher({"ref": "main"})],
        )
        rsps.get(
            f"{PROJECT}/repository/files/docs%2FCODEOWNERS/raw",
            status=404,
            json={"message": "404 File Not Found"},
        )
        rsps.get(f"{PROJECT}/merge_requests/1", json=merge_request)
        rsps.get(
            f"{BASE}/api/v4/users",
            json=[user],
            match=[
                matchers.query_param_matcher(
                    {"username": "john_smith"}, strict_match=False
                )
            ],
        )
        rsps.put(f"{PROJECT}/merge_requests/1", json=merge_request)
        project_path = "diaspora/diaspora-project-site"
        assert client.file_read(project_path, "CODEOWNERS", "main") == (
            "[Backend]\n*.rb @backend\n"
        )
        assert client.file_read(project_path, "docs/CODEOWNERS", "main") is None
        client.reviewers_request(project_path, 1, logins=["john_smith"], teams=[])
        sent = json.loads(rsps.calls[-1].request.body)
    # The existing reviewer (id 2) is kept; john_smith (id 1) is added.
    assert sent["reviewer_ids"] == [2, 1]


def test_gitlab_lists_the_files_a_merge_request_changes():
    from integrations.providers import get_provider

    client = get_provider("gitlab").client(TOKEN, BASE)
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            json=recorded("project.json"),
        )
        rsps.get(
            f"{PROJECT}/merge_requests/1/diffs",
            json=recorded("merge_request_diffs.json"),
        )
        assert client.changed_files("diaspora/diaspora-project-site", 1) == [
            "README",
            "VERSION",
        ]
