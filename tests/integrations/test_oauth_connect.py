""" "Connect GitHub" end to end over HTTP: the OAuth dance with django-allauth,
GitHub mocked with responses recorded from the real API."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.contrib.auth import get_user_model

from integrations.models import ProviderCredential

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses" / "github"
TOKEN_URL = "https://github.com/login/oauth/access_token"
USER_URL = "https://api.github.com/user"
USER_REPOS_URL = "https://api.github.com:443/user/repos"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


@pytest.fixture(autouse=True)
def github_app(settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["github"] = {
        **providers["github"],
        "APPS": [{"client_id": "test-client-id", "secret": "test-client-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers


@pytest.fixture
def member(client):
    user = get_user_model().objects.create_user("mona", password="pw")
    client.force_login(user)
    return user


def start(client) -> dict[str, list[str]]:
    """Press "Connect GitHub": the browser is sent to GitHub's authorize page."""
    response = client.post("/accounts/github/login/?process=connect")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "github.com",
        "/login/oauth/authorize",
    )
    return parse_qs(location.query)


def complete(client, query: dict[str, list[str]]):
    """GitHub sends the browser back with a code; we trade it for a token.
    Returns the followed response and the calls made to GitHub."""
    # A connection goes on to the picker, which lists the person's repositories.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(TOKEN_URL, json=recorded("oauth_access_token.json"))
        rsps.get(USER_URL, json=recorded("user.json"))
        rsps.get(USER_REPOS_URL, json=[recorded("repo.json")])
        response = client.get(
            "/accounts/github/login/callback/",
            {"code": "oauth-code", "state": query["state"][0]},
            follow=True,
        )
        return response, list(rsps.calls)


def test_dashboard_offers_the_buttons(client, member):
    page = client.get("/dashboard/").content.decode()
    assert "Connect GitHub" in page
    assert 'action="/accounts/github/login/?process=connect"' in page
    assert "GITLAB_OAUTH_CLIENT_ID" in page  # GitLab is not configured here


def test_connect_github_happy_path(client, member):
    query = start(client)
    assert query["client_id"] == ["test-client-id"]
    assert sorted(query["scope"][0].split()) == [
        "admin:repo_hook",
        "read:org",
        "read:user",
        "repo",
    ]
    response, calls = complete(client, query)
    token_request = parse_qs(calls[0].request.body)
    assert token_request["client_secret"] == ["test-client-secret"]
    # On to the repositories this account administers.
    assert response.redirect_chain[-1][0] == "/dashboard/repositories/pick/github/"
    page = response.content.decode()
    assert "GitHub connected as @ahmad88me." in page
    assert "PyGithub/PyGithub" in page
    assert "Connected as <strong>@ahmad88me</strong>" in (
        client.get("/dashboard/").content.decode()
    )
    credential = ProviderCredential.objects.get()
    assert (credential.user, credential.kind, credential.account_login) == (
        member,
        "oauth",
        "ahmad88me",
    )
    assert credential.token == "access_token_removed"
    assert credential.refresh_token == "refresh_token_removed"
    assert credential.expires_at is not None
    assert "access_token_removed" not in credential.token_encrypted
    assert "access_token_removed" not in page
    # The login is now this person's: their queue, points and settings follow it.
    from reviews.models import ProviderIdentity

    identity = ProviderIdentity.objects.get(login="ahmad88me")
    assert (identity.provider, identity.host) == ("github", "github.com")
    assert identity.member.user == credential.user


def test_connecting_again_replaces_the_token(client, member):
    for _ in range(2):
        complete(client, start(client))
    assert ProviderCredential.objects.count() == 1


def callback_error(client, params: dict, *, token_response=None) -> str:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        if token_response is not None:
            rsps.post(TOKEN_URL, **token_response)
        response = client.get("/accounts/github/login/callback/", params, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert ProviderCredential.objects.count() == 0
    return response.content.decode()


def test_denied_consent_is_explained(client, member):
    query = start(client)
    page = callback_error(
        client, {"error": "access_denied", "state": query["state"][0]}
    )
    assert "You cancelled the connection to GitHub; nothing was changed." in page


@pytest.mark.parametrize("state", ["forged-state", ""])
def test_unknown_or_missing_state_is_refused(client, member, state):
    start(client)
    page = callback_error(client, {"code": "c", "state": state})
    assert "could not be completed" in page


def test_a_state_cannot_be_used_twice(client, member):
    query = start(client)
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, json=recorded("oauth_access_token.json"))
        rsps.get(USER_URL, json=recorded("user.json"))
        client.get(
            "/accounts/github/login/callback/",
            {"code": "c", "state": query["state"][0]},
        )
    ProviderCredential.objects.all().delete()
    page = callback_error(client, {"code": "c", "state": query["state"][0]})
    assert "could not be completed" in page


def test_github_down_is_explained(client, member):
    query = start(client)
    page = callback_error(
        client,
        {"code": "c", "state": query["state"][0]},
        token_response={"body": requests.ConnectionError("connection refused")},
    )
    assert "GitHub did not answer. Please try again in a minute." in page


def test_github_error_answer_is_explained(client, member):
    query = start(client)
    page = callback_error(
        client,
        {"code": "c", "state": query["state"][0]},
        token_response={"status": 502, "body": "Bad Gateway"},
    )
    assert "GitHub answered with an error" in page


def test_connect_needs_a_post(client, member):
    response = client.get("/accounts/github/login/?process=connect")
    assert response.status_code == 200  # a confirmation page, no redirect
    assert b"github.com/login/oauth" not in response.content


def sign_in_with_github(client):
    """Press "Continue with GitHub" (a POST), approve, come back: the followed
    response. GitHub answers with the recorded token and user (ahmad88me)."""
    start = client.post("/accounts/github/login/?process=login")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, json=recorded("oauth_access_token.json"))
        rsps.get(USER_URL, json=recorded("user.json"))
        return client.get(
            "/accounts/github/login/callback/",
            {"code": "c", "state": query["state"][0]},
            follow=True,
        )


def test_signing_in_with_github_creates_the_person_and_keeps_the_token(client):
    response = sign_in_with_github(client)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    user = get_user_model().objects.get(username="ahmad88me")
    assert ProviderCredential.objects.get().user == user


def test_install_the_github_app_link(client, member, settings):
    assert "Install the GitHub App" not in client.get("/dashboard/").content.decode()
    settings.GITHUB_APP_SLUG = "codequest-rewards"
    page = client.get("/dashboard/").content.decode()
    assert 'href="https://github.com/apps/codequest-rewards/installations/new"' in page


def test_connect_gitlab_happy_path(client, member, settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["gitlab"] = {
        **providers["gitlab"],
        "APPS": [{"client_id": "gl-client", "secret": "gl-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    response = client.post("/accounts/gitlab/login/?process=connect")
    location = urlsplit(response["Location"])
    assert (location.netloc, location.path) == ("gitlab.com", "/oauth/authorize")
    query = parse_qs(location.query)
    assert sorted(query["scope"][0].split()) == ["api", "read_user"]
    gitlab_docs = RECORDED.parent / "gitlab"
    with responses.RequestsMock() as rsps:
        rsps.post(
            "https://gitlab.com/oauth/token",
            json=json.loads((gitlab_docs / "oauth_token.json").read_text()),
        )
        rsps.get(
            "https://gitlab.com/api/v4/user",
            json=json.loads((gitlab_docs / "user.json").read_text()),
        )
        rsps.get(
            "https://gitlab.com/api/v4/projects",
            json=[json.loads((gitlab_docs / "project.json").read_text())],
        )
        page = client.get(
            "/accounts/gitlab/login/callback/",
            {"code": "c", "state": query["state"][0]},
            follow=True,
        ).content.decode()
    assert "GitLab connected as @john_smith." in page
    assert "Choose repositories from GitLab" in page
    credential = ProviderCredential.objects.get(provider="gitlab")
    assert credential.token.startswith("c97d1fe5")
    assert credential.refresh_token.startswith("803c1fd4")
    assert credential.expires_at is not None
