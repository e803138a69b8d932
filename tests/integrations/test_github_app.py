"""GitHub App: JWT-minted installation tokens, cached; the install callback checks
the installation is the person's before following its repositories."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from integrations import credentials
from integrations.models import AppInstallation, ConnectedRepository, ProviderCredential
from integrations.providers.github.app import AppNotConfiguredError
from integrations.services import oauth_credential_store

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses" / "github"
# PyGithub names the port explicitly.
API = "https://api.github.com:443"
APP_ID = "10101"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def app_settings(settings, private_key):
    settings.GITHUB_APP_ID = APP_ID
    settings.GITHUB_APP_PRIVATE_KEY = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    cache.clear()


def token_body(expires_in: timedelta) -> dict:
    body = recorded("app_access_token.json")
    body["expires_at"] = (timezone.now() + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body


def test_token_is_minted_from_a_jwt_and_cached(private_key):
    url = f"{API}/app/installations/30614431/access_tokens"
    with responses.RequestsMock() as rsps:
        rsps.post(url, status=201, json=token_body(timedelta(hours=1)))
        first = credentials.installation_token("github", 30614431)
        second = credentials.installation_token("github", 30614431)
        assert len(rsps.calls) == 1
        bearer = rsps.calls[0].request.headers["Authorization"].removeprefix("Bearer ")
    assert first == second == "ghs_1llwuELtXN5HDOB99XhpcTXdJxbOuF0ZlSmj"
    claims = jwt.decode(bearer, private_key.public_key(), algorithms=["RS256"])
    assert claims["iss"] == APP_ID
    assert claims["exp"] - claims["iat"] <= 600  # GitHub's 10-minute maximum
    cached = cache.get(credentials._cache_key("github", 30614431))
    assert first not in cached  # encrypted in the cache


def test_a_token_about_to_expire_is_not_reused():
    url = f"{API}/app/installations/30614431/access_tokens"
    with responses.RequestsMock() as rsps:
        rsps.post(url, status=201, json=token_body(timedelta(minutes=3)))
        credentials.installation_token("github", 30614431)
        credentials.installation_token("github", 30614431)
        assert len(rsps.calls) == 2


def test_uninstall_forgets_the_cached_token():
    from integrations.providers.base import InstallationSnapshot
    from integrations.services import installation_apply

    url = f"{API}/app/installations/30614431/access_tokens"
    with responses.RequestsMock() as rsps:
        rsps.post(url, status=201, json=token_body(timedelta(hours=1)))
        credentials.installation_token("github", 30614431)
    installation_apply(
        provider="github",
        snapshot=InstallationSnapshot(
            installation_id=30614431, account_login="x", action="deleted"
        ),
    )
    assert cache.get(credentials._cache_key("github", 30614431)) is None


def test_not_configured_is_a_clear_error(settings):
    settings.GITHUB_APP_ID = ""
    with pytest.raises(AppNotConfiguredError, match="GITHUB_APP_ID"):
        credentials.installation_token("github", 1)


@pytest.fixture
def member(client):
    user = get_user_model().objects.create_user("rigas", password="pw")
    client.force_login(user)
    oauth_credential_store(
        user=user, provider="github", account_login="rigaspapas", token="ghu_user"
    )
    return user


def mock_install(rsps) -> None:
    rsps.get(f"{API}/user/installations", json=recorded("user_installations.json"))
    rsps.post(
        f"{API}/app/installations/123456/access_tokens",
        status=201,
        json=token_body(timedelta(hours=1)),
    )
    rsps.get(
        f"{API}/installation/repositories",
        json=recorded("installation_repositories.json"),
    )


def test_install_callback_links_the_installation_and_its_repositories(client, member):
    with responses.RequestsMock() as rsps:
        mock_install(rsps)
        response = client.get(
            "/auth/github/install",
            {"installation_id": "123456", "setup_action": "install"},
            follow=True,
        )
        assert rsps.calls[0].request.headers["Authorization"] == "token ghu_user"
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert (
        "GitHub App installed on @rigaspapas: 2 repositories connected."
        in response.content.decode()
    )
    installation = AppInstallation.objects.get()
    assert (installation.installation_id, installation.linked_by) == (123456, member)
    assert sorted(
        ConnectedRepository.objects.values_list("full_name", "installation_id")
    ) == [("EnricoMi/python", 123456), ("EnricoMi/sandbox", 123456)]
    listing = client.get("/auth/github/installations").json()
    assert listing == [
        {
            "installation_id": 123456,
            "account": "rigaspapas",
            "host": "github.com",
            "suspended": False,
            "repositories": ["EnricoMi/python", "EnricoMi/sandbox"],
        }
    ]


def test_someone_elses_installation_is_refused(client, member):
    with responses.RequestsMock() as rsps:
        rsps.get(f"{API}/user/installations", json=recorded("user_installations.json"))
        response = client.get(
            "/auth/github/install", {"installation_id": "999"}, follow=True
        )
    assert "does not belong to your GitHub account" in response.content.decode()
    assert AppInstallation.objects.count() == 0
    assert ConnectedRepository.objects.count() == 0


@pytest.mark.parametrize("value", ["", "abc", "1" * 30])
def test_a_bad_installation_id_is_explained(client, member, value):
    response = client.get(
        "/auth/github/install", {"installation_id": value}, follow=True
    )
    assert "did not say which installation" in response.content.decode()


def test_install_without_connecting_github_first(client):
    user = get_user_model().objects.create_user("anon", password="pw")
    client.force_login(user)
    response = client.get(
        "/auth/github/install", {"installation_id": "123456"}, follow=True
    )
    assert "connect GitHub first" in response.content.decode()


def test_installations_need_a_signed_in_person(client):
    assert client.get("/auth/github/installations").status_code in (401, 403)
    assert client.get("/auth/github/install?installation_id=1").status_code == 302


def test_linked_repositories_are_imported_in_the_background(
    client, member, django_capture_on_commit_callbacks
):
    from unittest import mock

    with (
        responses.RequestsMock() as rsps,
        mock.patch("integrations.tasks.repository_import_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        mock_install(rsps)
        client.get("/auth/github/install", {"installation_id": "123456"})
    imported = sorted(call.args[0] for call in delay.call_args_list)
    assert imported == sorted(ConnectedRepository.objects.values_list("pk", flat=True))


def test_importing_an_app_repository_reads_with_the_installation_token():
    from integrations.services import repository_import
    from reviews.models import PullRequest

    repository = ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=3544490,
        full_name="PyGithub/PyGithub",
        installation_id=123456,
    )
    repo_api = f"{API}/repos/PyGithub/PyGithub"
    pulls = json.loads((RECORDED / "pulls_open.json").read_text())
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{API}/app/installations/123456/access_tokens",
            status=201,
            json=token_body(timedelta(hours=1)),
        )
        rsps.get(repo_api, json=recorded("repo.json"))
        rsps.get(
            f"{repo_api}/pulls",
            json=pulls,
            match=[
                responses.matchers.query_param_matcher(
                    {"state": "open", "sort": "updated", "direction": "desc"}
                )
            ],
        )
        rsps.get(
            f"{repo_api}/pulls",
            json=[],
            match=[
                responses.matchers.query_param_matcher(
                    {"state": "closed", "sort": "updated", "direction": "desc"}
                )
            ],
        )
        rsps.get(f"{repo_api}/pulls/32", json=pulls[0])
        rsps.get(f"{repo_api}/pulls/32/reviews", json=recorded("reviews.json"))
        rsps.get(f"{repo_api}/pulls/32/comments", json=[])  # none yet
        rsps.get(f"{repo_api}/issues/32/comments", json=[])
        assert repository_import(repository_id=repository.pk) == (1, 1)
        bearer = rsps.calls[1].request.headers["Authorization"]
    assert bearer == "token ghs_1llwuELtXN5HDOB99XhpcTXdJxbOuF0ZlSmj"
    assert PullRequest.objects.get().number == 32


def test_installations_of_another_team_are_not_listed(client, member):
    from integrations.models import Organization, OrganizationMembership

    theirs = Organization.objects.create(name="Theirs", slug="theirs")
    owner = get_user_model().objects.create_user("owner")
    OrganizationMembership.objects.create(organization=theirs, user=owner)
    AppInstallation.objects.create(
        host="github.com",
        installation_id=777,
        account_login="their-org",
        organization=theirs,
        linked_by=owner,
    )
    assert client.get("/auth/github/installations").json() == []


def test_install_refreshes_an_expiring_user_token_first(client, settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["github"] = {
        **providers["github"],
        "APPS": [{"client_id": "github-id", "secret": "github-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    user = get_user_model().objects.create_user("late", password="pw")
    client.force_login(user)
    oauth_credential_store(
        user=user,
        provider="github",
        account_login="rigaspapas",
        token="ghu_expiring",
        refresh_token="ghr_refresh",
        expires_at=timezone.now() + timedelta(minutes=2),
    )
    with responses.RequestsMock() as rsps:
        rsps.post(
            "https://github.com/login/oauth/access_token",
            json=recorded("oauth_access_token.json"),
        )
        mock_install(rsps)
        client.get("/auth/github/install", {"installation_id": "123456"})
        listing = next(
            call
            for call in rsps.calls
            if call.request.url.endswith("/user/installations")
        )
    assert listing.request.headers["Authorization"] == "token access_token_removed"
    assert AppInstallation.objects.get().linked_by == user


def test_install_with_a_refused_user_token_asks_to_reconnect(client, member):
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{API}/user/installations", status=401, json={"message": "Bad credentials"}
        )
        response = client.get(
            "/auth/github/install", {"installation_id": "123456"}, follow=True
        )
    credential = ProviderCredential.objects.get(user=member)
    assert credential.status == ProviderCredential.Status.NEEDS_RECONNECT
    assert AppInstallation.objects.count() == 0
    assert response.status_code == 200
