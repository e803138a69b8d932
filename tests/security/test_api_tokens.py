"""API tokens: hashed at rest, shown once, listed and revoked by their owner."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def mona() -> tuple[Client, object]:
    user = get_user_model().objects.create_user("mona", password="pw")
    client = Client()
    client.force_login(user)
    return client, user


def create(client: Client) -> str:
    page = client.post("/dashboard/tokens/").content.decode()
    start = page.index('value="cq_') + len('value="')
    return page[start : page.index('"', start)]


def works(token: str) -> bool:
    response = APIClient().get("/api/v1/pulls/", HTTP_AUTHORIZATION=f"Token {token}")
    return response.status_code == 200


def test_a_token_is_shown_once_and_only_its_hash_is_stored(mona):
    client, user = mona
    token = create(client)

    assert works(token)
    row = AuthToken.objects.get(user=user)
    assert token not in row.digest and row.token_key == token[:15]
    listing = client.get("/dashboard/tokens/").content.decode()
    assert token not in listing
    assert f"{token[:15]}…" in listing
    assert row.expiry is not None


def test_revoking_a_token_stops_it_at_once(mona):
    client, _ = mona
    keep, drop = create(client), create(client)

    response = client.post(f"/dashboard/tokens/{drop[:15]}/revoke/", follow=True)

    assert "revoked" in response.content.decode()
    assert not works(drop)
    assert works(keep)


def test_nobody_revokes_someone_elses_token(mona):
    client, _ = mona
    token = create(client)
    eve = get_user_model().objects.create_user("eve")
    other = Client()
    other.force_login(eve)

    response = other.post(f"/dashboard/tokens/{token[:15]}/revoke/", follow=True)

    assert "not found" in response.content.decode()
    assert works(token)


def test_an_expired_token_is_refused(mona):
    from datetime import timedelta

    from django.utils import timezone

    client, user = mona
    token = create(client)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(1))
    assert not works(token)


@pytest.mark.parametrize(
    "header",
    ["Token cq_\x00abc", "Token " + "a" * 5000, "Token cq_é1234567", "Token a b"],
)
def test_malformed_tokens_are_401_not_500(header):
    client = APIClient()
    response = client.get("/api/v1/pulls/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_the_admin_never_shows_digests_nor_mints_tokens(admin_client, mona):
    client, _ = mona
    create(client)
    row = AuthToken.objects.get()

    page = admin_client.get("/admin/knox/authtoken/").content.decode()

    assert row.token_key in page
    # The digest is the row's key (it appears in links) but is never displayed.
    assert f">{row.digest}<" not in page
    assert "Digest" not in page
    assert admin_client.get("/admin/knox/authtoken/add/").status_code == 403
