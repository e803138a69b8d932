"""Disconnect GitHub / Disconnect GitLab: the grant is revoked on the provider
where its API allows, the token is forgotten here in any case, and the person's
identities and points stay."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from integrations.models import ConnectedRepository, ProviderCredential
from integrations.services import oauth_credential_store
from reviews.models import ProviderIdentity
from reviews.people import identity_link

pytestmark = pytest.mark.django_db

GITHUB_GRANT = "https://api.github.com/applications/test-client-id/grant"
GITLAB_REVOKE = "https://gitlab.com/oauth/revoke"
APP = {"client_id": "test-client-id", "secret": "test-client-secret"}


@pytest.fixture(autouse=True)
def oauth_apps(settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    for slug in ("github", "gitlab"):
        providers[slug] = {**providers[slug], "APPS": [APP]}
    settings.SOCIALACCOUNT_PROVIDERS = providers
    settings.GITHUB_API_URL = "https://api.github.com"
    settings.GITLAB_URL = "https://gitlab.com"


@pytest.fixture
def mona(client):
    user = get_user_model().objects.create_user("mona", password="pw")
    oauth_credential_store(
        user=user, provider="github", account_login="mona", token="gho_mona_token"
    )
    oauth_credential_store(
        user=user, provider="gitlab", account_login="mona", token="glo_mona_token"
    )
    identity_link(user=user, provider="github", host="github.com", login="mona")
    client.force_login(user)
    return user


def disconnect(client, provider: str):
    return client.post(f"/dashboard/connections/{provider}/disconnect/", follow=True)


def test_disconnect_github_revokes_the_grant_and_forgets_the_token(client, mona):
    other = get_user_model().objects.create_user("lee")
    oauth_credential_store(
        user=other, provider="github", account_login="lee", token="gho_lee"
    )
    with responses.RequestsMock() as rsps:
        rsps.delete(GITHUB_GRANT, status=204)
        page = disconnect(client, "github").content.decode()
        (call,) = rsps.calls
    expected = base64.b64encode(b"test-client-id:test-client-secret").decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert json.loads(call.request.body) == {"access_token": "gho_mona_token"}
    assert "GitHub disconnected: our access is revoked on GitHub" in page
    assert "Connect GitHub" in page and "Disconnect GitHub" not in page
    assert "Disconnect GitLab" in page
    remaining = ProviderCredential.objects.values_list("user__username", "provider")
    assert sorted(remaining) == [("lee", "github"), ("mona", "gitlab")]
    identity = ProviderIdentity.objects.get(login="mona")
    assert identity.member.user == mona  # who they are does not change


def test_disconnect_gitlab_revokes_the_token(client, mona):
    with responses.RequestsMock() as rsps:
        rsps.post(GITLAB_REVOKE, status=200, json={})
        page = disconnect(client, "gitlab").content.decode()
        (call,) = rsps.calls
    assert parse_qs(call.request.body) == {
        "client_id": ["test-client-id"],
        "client_secret": ["test-client-secret"],
        "token": ["glo_mona_token"],
    }
    assert "GitLab disconnected: our access is revoked on GitLab" in page
    assert not ProviderCredential.objects.filter(provider="gitlab").exists()


@pytest.mark.parametrize(
    ("_case", "answer", "reason"),
    [
        ("GitHub refuses", {"status": 422}, "HTTP 422"),
        ("GitHub is down", {"status": 502}, "HTTP 502"),
        (
            "GitHub does not answer",
            {"body": requests.ConnectionError("reset")},
            "ConnectionError",
        ),
    ],
)
def test_the_token_is_forgotten_even_when_github_does_not_confirm(
    client, mona, caplog, _case, answer, reason
):
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock() as rsps:
        rsps.delete(GITHUB_GRANT, **answer)
        page = disconnect(client, "github").content.decode()
    assert "the token is forgotten here, but GitHub did not confirm" in page
    assert reason in page
    assert "under Applications" in page
    assert not ProviderCredential.objects.filter(provider="github").exists()
    shown = page + caplog.text
    assert "gho_mona_token" not in shown and "test-client-secret" not in shown


def test_a_grant_already_gone_on_github_is_disconnected(client, mona):
    with responses.RequestsMock() as rsps:
        rsps.delete(GITHUB_GRANT, status=404, json={"message": "Not Found"})
        page = disconnect(client, "github").content.decode()
    assert "our access is revoked on GitHub" in page


def test_a_repository_connected_with_the_token_keeps_its_data(client, mona):
    credential = ProviderCredential.objects.get(user=mona, provider="github")
    repository = ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=5,
        full_name="mona/app",
        credential=credential,
    )
    with responses.RequestsMock() as rsps:
        rsps.delete(GITHUB_GRANT, status=204)
        disconnect(client, "github")
    repository.refresh_from_db()
    assert repository.credential is None


def test_nothing_to_disconnect_says_so(client):
    user = get_user_model().objects.create_user("kim")
    client.force_login(user)
    with responses.RequestsMock():
        page = disconnect(client, "github").content.decode()
    assert "GitHub was not connected; nothing changed." in page


def test_only_a_signed_in_post_with_csrf_disconnects(mona):
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(mona)
    url = "/dashboard/connections/github/disconnect/"
    with responses.RequestsMock():
        assert guarded.post(url).status_code == 403  # no CSRF token
        assert guarded.get(url).status_code == 405
        assert Client().post(url).status_code == 302  # to sign in
        assert guarded.post("/dashboard/connections/svn/disconnect/").status_code in (
            403,
            404,
        )
    assert ProviderCredential.objects.filter(user=mona).count() == 2


def test_an_unknown_provider_is_a_404(client, mona):
    response = client.post("/dashboard/connections/svn/disconnect/")
    assert response.status_code == 404
    assert ProviderCredential.objects.filter(user=mona).count() == 2
