"""Expiring OAuth tokens are refreshed before use; a refused refresh marks the
connection "needs reconnect"."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.models import ProviderCredential
from integrations.providers.base import ProviderAuthError
from integrations.services import (
    NeedsReconnect,
    credential_token,
    oauth_credential_store,
)

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


@pytest.fixture(autouse=True)
def oauth_apps(settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    for slug in ("github", "gitlab"):
        providers[slug] = {
            **providers[slug],
            "APPS": [{"client_id": f"{slug}-id", "secret": f"{slug}-secret"}],
        }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    settings.PUBLIC_URL = "https://cq.example.com"


def credential(provider: str, expires_in: timedelta) -> ProviderCredential:
    user = get_user_model().objects.create_user(f"u-{provider}")
    return oauth_credential_store(
        user=user,
        provider=provider,
        account_login="someone",
        token="old-access",
        refresh_token="old-refresh",
        expires_at=timezone.now() + expires_in,
    )


def test_a_fresh_token_is_used_as_it_is():
    stored = credential("github", timedelta(hours=2))
    with responses.RequestsMock():
        assert credential_token(stored) == "old-access"


def test_github_token_close_to_expiry_is_refreshed_first():
    stored = credential("github", timedelta(minutes=2))
    with responses.RequestsMock() as rsps:
        rsps.post(
            "https://github.com/login/oauth/access_token",
            json=recorded("github/oauth_access_token.json"),
        )
        assert credential_token(stored) == "access_token_removed"
        sent = parse_qs(rsps.calls[0].request.body)
    assert sent["grant_type"] == ["refresh_token"]
    assert sent["refresh_token"] == ["old-refresh"]
    assert sent["client_id"] == ["github-id"]
    stored.refresh_from_db()
    assert stored.refresh_token == "refresh_token_removed"
    assert stored.expires_at > timezone.now() + timedelta(hours=7)
    assert "access_token_removed" not in stored.token_encrypted


def test_gitlab_refresh_sends_the_redirect_uri():
    stored = credential("gitlab", timedelta(minutes=-1))
    with responses.RequestsMock() as rsps:
        rsps.post(
            "https://gitlab.com/oauth/token", json=recorded("gitlab/oauth_token.json")
        )
        token = credential_token(stored)
        sent = parse_qs(rsps.calls[0].request.body)
    assert token.startswith("c97d1fe5")
    assert sent["redirect_uri"] == [
        "https://cq.example.com/accounts/gitlab/login/callback/"
    ]


def test_a_refused_refresh_needs_reconnect_and_is_not_retried():
    stored = credential("github", timedelta(minutes=1))
    refused = {
        "error": "bad_refresh_token",
        "error_description": "The refresh token passed is incorrect or expired.",
    }
    with responses.RequestsMock() as rsps:
        rsps.post("https://github.com/login/oauth/access_token", json=refused)
        with pytest.raises(ProviderAuthError, match="bad_refresh_token"):
            credential_token(stored)
    stored.refresh_from_db()
    assert stored.status == "needs_reconnect"
    from integrations.services import credential_client

    with responses.RequestsMock(), pytest.raises(NeedsReconnect):
        credential_client(stored)


def test_provider_down_during_refresh_is_temporary():
    from integrations.providers.base import ProviderTemporaryError

    stored = credential("gitlab", timedelta(minutes=1))
    with responses.RequestsMock() as rsps:
        rsps.post("https://gitlab.com/oauth/token", status=503, body="down")
        with pytest.raises(ProviderTemporaryError):
            credential_token(stored)
    stored.refresh_from_db()
    assert stored.status == "active"  # not the token's fault
