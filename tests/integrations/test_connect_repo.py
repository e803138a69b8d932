"""connect_repo against a GitHub Enterprise-style API, mocked at the HTTP layer
with responses recorded from the real API (tests/provider_responses)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from responses import matchers

from integrations.models import ConnectedRepository, ProviderCredential, WebhookEndpoint
from reviews.models import PullRequest, Review
from tests.conftest import post_webhook

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses"
HOST = "ghe.example.com"
API = f"https://{HOST}/api/v3"
# PyGithub's connections name the port explicitly.
REPO = f"https://{HOST}:443/api/v3/repos/PyGithub/PyGithub"
TOKEN = "ghp_test_token_value_1234567890"
HOOK_ID = 255190838


def recorded(name: str, **changes) -> object:
    """A recorded GitHub body, moved to the Enterprise host."""
    text = (RECORDED / "github" / name).read_text()
    text = text.replace("https://api.github.com/", f"{API}/")
    text = text.replace("https://github.com/", f"https://{HOST}/")
    # The hook was recorded on a fork; it is ours here.
    text = text.replace("ahmad88me/PyGithub", "PyGithub/PyGithub")
    body = json.loads(text)
    if isinstance(body, dict):
        body.update(changes)
    return body


@pytest.fixture(autouse=True)
def _client_settings(settings, monkeypatch):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.PUBLIC_URL = "https://cq.example.com"
    settings.CODEQUEST_ALLOWED_API_HOSTS = [HOST]  # the Enterprise host we call
    monkeypatch.setenv("GH_TOKEN", TOKEN)


# Rate-limit headers as recorded with repo.json (Repository.setUp.txt).
RATE_HEADERS = {
    "X-RateLimit-Limit": "5000",
    "X-RateLimit-Remaining": "4999",
    "X-RateLimit-Reset": "1736238735",
    "X-RateLimit-Used": "1",
    "X-RateLimit-Resource": "core",
}


def mock_github(rsps, *, existing_hooks: list | None = None) -> None:
    rsps.get(REPO, json=recorded("repo.json"), headers=RATE_HEADERS)
    rsps.get(f"{REPO}/hooks", json=existing_hooks or recorded("hooks_list.json"))
    rsps.post(f"{REPO}/hooks", status=201, json=recorded("hook_created.json"))
    if existing_hooks:
        rsps.patch(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
    rsps.get(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
    rsps.post(f"{REPO}/hooks/{HOOK_ID}/pings", status=204)
    state = matchers.query_param_matcher(
        {"state": "open", "sort": "updated", "direction": "desc"}
    )
    closed = matchers.query_param_matcher(
        {"state": "closed", "sort": "updated", "direction": "desc"}
    )
    rsps.get(f"{REPO}/pulls", json=recorded("pulls_open.json"), match=[state])
    rsps.get(f"{REPO}/pulls", json=[], match=[closed])
    rsps.get(f"{REPO}/pulls/32", json=recorded("pulls_open.json")[0])
    rsps.get(f"{REPO}/pulls/32/reviews", json=recorded("reviews.json"))
    rsps.get(f"{REPO}/pulls/32/comments", json=[])  # none yet
    rsps.get(f"{REPO}/issues/32/comments", json=[])


def connect(*extra: str) -> str:
    out = StringIO()
    call_command(
        "connect_repo",
        "--provider",
        "github",
        "--repo",
        "PyGithub/PyGithub",
        "--token-env",
        "GH_TOKEN",
        "--api-url",
        API,
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_connect_validates_stores_registers_pings_and_imports():
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        output = connect()
        created = [call for call in rsps.calls if call.request.method == "POST"]
    repository = ConnectedRepository.objects.get()
    assert (repository.provider, repository.host, repository.full_name) == (
        "github",
        HOST,
        "PyGithub/PyGithub",
    )
    assert repository.external_id == 3544490
    assert repository.webhook_status == "pending"
    assert repository.last_synced_at is not None
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.repository == repository
    assert endpoint.provider_hook_id == HOOK_ID
    hook_request = json.loads(created[0].request.body)
    assert hook_request["config"]["url"] == (
        f"https://cq.example.com/webhooks/github/{endpoint.public_id}/"
    )
    assert hook_request["config"]["secret"] == endpoint.secret
    assert hook_request["config"]["content_type"] == "json"
    assert set(hook_request["events"]) >= {"pull_request", "pull_request_review"}
    assert created[1].request.url.endswith(f"/hooks/{HOOK_ID}/pings")
    pull = PullRequest.objects.get()
    assert (pull.number, pull.author_login, pull.state) == (32, "jacquev6", "open")
    assert pull.head_sha == "aff8a573a19f0a42380e1c0cbbc63b6dc719f38e"
    assert pull.base_ref == "topic/RewriteWithGeneratedCode"
    review = Review.objects.get()
    assert (review.reviewer_login, review.state) == ("jzelinskie", "approved")
    assert "imported 1 pull request and 1 review" in output
    assert TOKEN not in output


def test_the_token_is_encrypted_at_rest_and_readable_back():
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect()
    stored = ProviderCredential.objects.values_list("token_encrypted", flat=True).get()
    assert TOKEN not in stored
    credential = ProviderCredential.objects.get()
    assert credential.token == TOKEN
    assert credential.api_url == API
    assert credential.label == "env GH_TOKEN"


def test_connecting_twice_updates_the_hook_instead_of_adding_one():
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect()
    endpoint = WebhookEndpoint.objects.get()
    ours = recorded(
        "hook_created.json",
        config={
            "url": f"https://cq.example.com/webhooks/github/{endpoint.public_id}/",
            "content_type": "json",
            "insecure_ssl": "0",
        },
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_github(rsps, existing_hooks=[ours])
        connect()
        methods = [call.request.method for call in rsps.calls]
    assert "PATCH" in methods
    assert methods.count("POST") == 1  # the ping, no second hook
    assert WebhookEndpoint.objects.count() == 1
    assert ProviderCredential.objects.count() == 1
    assert PullRequest.objects.count() == 1
    assert Review.objects.count() == 1


def test_the_ping_delivery_verifies_the_webhook(
    client, django_capture_on_commit_callbacks
):
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect()
    endpoint = WebhookEndpoint.objects.get()
    ping = {"zen": "Keep it logically awesome.", "hook_id": HOOK_ID}
    ping["repository"] = recorded("repo.json")
    from unittest import mock

    with (
        mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post_webhook(
            client,
            "github",
            ping,
            "ping",
            hook=endpoint.public_id,
            secret=endpoint.secret,
        )
    assert response.status_code == 202
    from integrations.services import delivery_process

    delivery_process(delivery_id=send.call_args.args[0][0])
    assert ConnectedRepository.objects.get().webhook_status == "verified"


def test_no_webhook_skips_registration():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_github(rsps)
        connect("--no-webhook")
        methods = [call.request.method for call in rsps.calls]
    assert methods == ["GET"] * len(methods)
    assert WebhookEndpoint.objects.count() == 0
    assert ConnectedRepository.objects.get().webhook_status == "none"


def test_refused_token_is_one_clear_line_and_stores_nothing():
    with responses.RequestsMock() as rsps:
        rsps.get(
            REPO,
            status=401,
            json={
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
            },
        )
        with pytest.raises(CommandError) as error:
            connect()
    assert str(error.value) == (
        "repository PyGithub/PyGithub: GitHub refused the token (401)"
    )
    assert TOKEN not in str(error.value)
    assert ConnectedRepository.objects.count() == 0
    assert ProviderCredential.objects.count() == 0


def test_read_only_token_names_the_missing_permission():
    permissions = {
        "admin": False,
        "maintain": False,
        "push": True,
        "triage": True,
        "pull": True,
    }
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("repo.json", permissions=permissions))
        with pytest.raises(
            CommandError, match="cannot manage its webhooks: it needs admin"
        ):
            connect()
    assert ConnectedRepository.objects.count() == 0


def test_unknown_repository_and_missing_token():
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=404, json={"message": "Not Found"})
        with pytest.raises(CommandError, match="not found, or the token cannot see it"):
            connect()
    with pytest.raises(CommandError, match="NOPE is empty or unset"):
        call_command(
            "connect_repo",
            "--provider",
            "github",
            "--repo",
            "a/b",
            "--token-env",
            "NOPE",
        )


def test_server_error_is_reported_as_temporary():
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=502, body="Bad Gateway")
        with pytest.raises(CommandError, match="kept answering with server errors"):
            connect()


def disconnect() -> str:
    out = StringIO()
    call_command(
        "disconnect_repo",
        "--provider",
        "github",
        "--repo",
        "PyGithub/PyGithub",
        stdout=out,
    )
    return out.getvalue()


def test_disconnect_removes_our_webhook_and_keeps_the_data():
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect()
    with responses.RequestsMock() as rsps:
        rsps.delete(f"{REPO}/hooks/{HOOK_ID}", status=204)  # one call
        output = disconnect()
    assert f"webhook {HOOK_ID} removed" in output
    repository = ConnectedRepository.objects.get()
    assert (repository.is_active, repository.webhook_status) == (False, "none")
    assert not WebhookEndpoint.objects.get().is_active
    assert PullRequest.objects.count() == 1


def test_a_refused_token_needs_reconnect_and_is_not_tried_again():
    from integrations.services import NeedsReconnect, credential_client

    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect()
    with responses.RequestsMock() as rsps:
        rsps.delete(
            f"{REPO}/hooks/{HOOK_ID}", status=401, json={"message": "Bad credentials"}
        )
        output = disconnect()
        assert len(rsps.calls) == 1
    assert f"left in place: deleting webhook {HOOK_ID}: GitHub refused" in output
    credential = ProviderCredential.objects.get()
    assert credential.status == "needs_reconnect"
    assert "401" in credential.last_error
    with responses.RequestsMock() as rsps, pytest.raises(NeedsReconnect):
        credential_client(credential)  # no HTTP call: nothing registered above
    # Connecting again with a working token clears the flag.
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect()
    assert ProviderCredential.objects.get().status == "active"


def test_disconnect_unknown_repository_is_one_line():
    with pytest.raises(CommandError, match="no connected github repository 'a/b'"):
        call_command("disconnect_repo", "--provider", "github", "--repo", "a/b")


def form_data(team, **changes) -> dict:
    data = {
        "organization": team.pk,
        "provider": "github",
        "full_name": "PyGithub/PyGithub",
        "token": TOKEN,
        "api_url": API,
        "register_webhook": "on",
    }
    data.update(changes)
    return data


def test_team_admin_connects_from_the_team_page(client, team_admin):
    team_page = client.get("/dashboard/teams/core/").content.decode()
    assert "<title>Core · CodeQuest Rewards</title>" in team_page
    assert 'type="password" name="token"' in team_page
    assert 'name="token"' not in client.get("/dashboard/").content.decode()
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        response = client.post(
            "/dashboard/repositories/connect", form_data(team_admin), follow=True
        )
    page = response.content.decode()
    assert "Connected PyGithub/PyGithub: 1 pull request and 1 review imported." in page
    assert TOKEN not in page
    repository = ConnectedRepository.objects.get()
    assert response.redirect_chain[-1][0] == f"/dashboard/repositories/{repository.pk}/"
    assert repository.organization == team_admin
    assert ProviderCredential.objects.get().label == "dashboard, lead"


def test_form_errors_and_provider_errors_are_messages(client, team_admin):
    response = client.post(
        "/dashboard/repositories/connect",
        form_data(team_admin, full_name="not-a-path"),
        follow=True,
    )
    assert "Use the full path, like octo/hello." in response.content.decode()
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=401, json={"message": "Bad credentials"})
        response = client.post(
            "/dashboard/repositories/connect", form_data(team_admin), follow=True
        )
    assert "GitHub refused the token (401)" in response.content.decode()
    assert ConnectedRepository.objects.count() == 0


def test_members_who_are_not_admins_cannot_connect(client):
    from integrations.models import Organization, OrganizationMembership

    user = get_user_model().objects.create_user("dev", password="pw")
    team = Organization.objects.create(name="Core", slug="core")
    OrganizationMembership.objects.create(organization=team, user=user, role="member")
    client.force_login(user)
    assert (
        "Connect a repository"
        not in client.get("/dashboard/teams/core/").content.decode()
    )
    with responses.RequestsMock():
        response = client.post("/dashboard/repositories/connect", form_data(team))
    assert response.status_code == 403
    assert ConnectedRepository.objects.count() == 0


def test_admin_cannot_connect_into_another_team(client, team_admin):
    from integrations.models import Organization

    other = Organization.objects.create(name="Other", slug="other")
    with responses.RequestsMock():
        response = client.post(
            "/dashboard/repositories/connect", form_data(other), follow=True
        )
    assert "Not connected." in response.content.decode()
    assert ConnectedRepository.objects.count() == 0


def _sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_provider_operation_is_recorded(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="integrations.providers.base")
    ok_before = _sample(
        "codequest_provider_calls_total",
        provider="github",
        operation="repository",
        outcome="ok",
    )
    refused_before = _sample(
        "codequest_provider_calls_total",
        provider="github",
        operation="repository",
        outcome="auth_error",
    )
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect()
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=401, json={"message": "Bad credentials"})
        with pytest.raises(CommandError):
            connect()
    operations = [
        (record.operation, record.outcome)
        for record in caplog.records
        if record.getMessage() == "integrations.provider.call"
    ]
    assert operations == [
        ("repository", "ok"),
        ("hooks", "ok"),
        ("hook_ping", "ok"),
        ("comments", "ok"),  # read while the pull request list is walked
        ("pull_requests", "ok"),
        ("repository", "auth_error"),
    ]
    ok = "codequest_provider_calls_total"
    labels = {"provider": "github", "operation": "repository"}
    assert _sample(ok, **labels, outcome="ok") == ok_before + 1
    assert _sample(ok, **labels, outcome="auth_error") == refused_before + 1
    assert (
        _sample("codequest_provider_rate_limit_remaining", provider="github", host=HOST)
        == 4999
    )


def test_a_passing_server_error_is_retried():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(REPO, status=502, body="Bad Gateway")
        rsps.get(REPO, json=recorded("repo.json"), headers=RATE_HEADERS)
        rsps.get(f"{REPO}/hooks", json=[])
        rsps.post(f"{REPO}/hooks", status=201, json=recorded("hook_created.json"))
        rsps.get(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
        rsps.post(f"{REPO}/hooks/{HOOK_ID}/pings", status=204)
        rsps.get(f"{REPO}/pulls", json=[])
        connect()
        assert [call.response.status_code for call in rsps.calls[:2]] == [502, 200]
    assert ConnectedRepository.objects.count() == 1


CODEOWNERS_TEXT = "* @global-owner\n*.py @acme/backend\n"


def contents_body(path: str, text: str) -> dict:
    """The contents API envelope (Repository.testGetContentsWithRef.txt) for a file."""
    import base64

    encoded = base64.encodebytes(text.encode()).decode()
    return {
        "type": "file",
        "path": path,
        "name": path.rsplit("/", 1)[-1],
        "encoding": "base64",
        "content": encoded,
        "size": len(text),
        "sha": "3929e1cac3d833cf0c05b10d20de66bcc35a3815",
        "url": f"{API}/repos/PyGithub/PyGithub/contents/{path}?ref=main",
    }


def test_github_reads_codeowners_and_requests_reviewers():
    from integrations.providers import get_provider

    client = get_provider("github").client(TOKEN, API)
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("repo.json"))
        rsps.get(
            f"{REPO}/contents/.github/CODEOWNERS",
            json=contents_body(".github/CODEOWNERS", CODEOWNERS_TEXT),
            match=[matchers.query_param_matcher({"ref": "main"})],
        )
        rsps.get(
            f"{REPO}/contents/CODEOWNERS",
            status=404,
            json={"message": "Not Found"},
            match=[matchers.query_param_matcher({"ref": "main"})],
        )
        rsps.post(f"{REPO}/pulls/32/requested_reviewers", status=201, body="")
        assert client.file_read("PyGithub/PyGithub", ".github/CODEOWNERS", "main") == (
            CODEOWNERS_TEXT
        )
        assert client.file_read("PyGithub/PyGithub", "CODEOWNERS", "main") is None
        client.reviewers_request(
            "PyGithub/PyGithub",
            32,
            logins=["sfdye"],
            teams=["@PyGithub/pygithub-owners"],
        )
        sent = json.loads(rsps.calls[-1].request.body)
    assert sent == {"reviewers": ["sfdye"], "team_reviewers": ["pygithub-owners"]}


def test_github_lists_the_files_a_pull_request_changes():
    from integrations.providers import get_provider

    client = get_provider("github").client(TOKEN, API)
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("repo.json"))
        rsps.get(f"{REPO}/pulls/31/files", json=recorded("pull_files.json"))
        assert client.changed_files("PyGithub/PyGithub", 31) == [
            "codegen/templates/GithubObject.py",
            "src/github/AuthenticatedUser.py",
        ]
