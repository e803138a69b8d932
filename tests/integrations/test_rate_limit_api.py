"""Live rate limits (CONTRACT §7): status read from the provider now, track
keeps samples, health judges the latest. GitHub's ``GET /rate_limit`` is the
recorded answer (tests/provider_responses/github/rate_limit.json)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.budgets import token_fingerprint
from integrations.models import (
    OrganizationMembership,
    ProviderCredential,
    RateLimitSample,
)
from tests.factories import OrganizationFactory, RepositoryFactory

pytestmark = pytest.mark.django_db

RATE_LIMIT = "https://api.github.com:443/rate_limit"
RECORDED = json.loads(
    (
        Path(__file__).resolve().parents[1]
        / "provider_responses"
        / "github"
        / "rate_limit.json"
    ).read_text()
)


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.CODEQUEST_RATE_LIMIT_RESERVE = 200


def token(name: str, team) -> ProviderCredential:
    credential = ProviderCredential(
        provider="github",
        kind="access_token",
        api_url="https://api.github.com",
        label=name,
        organization=team,
    )
    credential.token = f"ghp_{name}"
    credential.save()
    return credential


@pytest.fixture
def world():
    mine, theirs = OrganizationFactory(slug="mine"), OrganizationFactory(slug="theirs")
    shared = token("team-bot", mine)
    first = RepositoryFactory(organization=mine, credential=shared)
    RepositoryFactory(organization=mine, credential=shared)  # the same budget
    RepositoryFactory(organization=mine)  # no token: nothing to read
    RepositoryFactory(organization=theirs, credential=token("other-bot", theirs))
    user = get_user_model().objects.create_user("kim")
    OrganizationMembership.objects.create(organization=mine, user=user)
    client = APIClient()
    client.force_authenticate(user)
    return client, first


def test_status_reads_each_budget_once_and_keeps_nothing(world):
    client, repository = world
    with responses.RequestsMock() as rsps:
        rsps.get(RATE_LIMIT, json=RECORDED)
        response = client.get("/api/v1/rate-limits/status/")
        assert len(rsps.calls) == 1  # one budget; the other team's not read
        assert rsps.calls[0].request.headers["Authorization"] == "token ghp_team-bot"
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["resource"] for row in rows] == ["core", "search", "graphql"]
    core = rows[0]
    assert core == {
        "provider": "github",
        "host": "github.com",
        "token_fingerprint": token_fingerprint(repository),
        "resource": "core",
        "limit": 5000,
        "remaining": 4904,
        "used": 96,
        "percent_used": 1.9,
        "reset_at": "2023-05-15T23:57:21Z",  # 1684195041
        "error": "",
    }
    assert "ghp_" not in response.content.decode()
    assert not RateLimitSample.objects.exists()


def test_track_keeps_the_samples_and_health_judges_them(world):
    client, repository = world
    assert client.get("/api/v1/rate-limits/health/").json() == {
        "status": "unknown",
        "reasons": ["no rate limit sampled yet"],
    }
    with responses.RequestsMock() as rsps:
        rsps.get(RATE_LIMIT, json=RECORDED)
        response = client.post("/api/v1/rate-limits/track/")
    assert response.status_code == 201
    assert RateLimitSample.objects.count() == 3
    # The recorded resets are long past: those samples say nothing now.
    assert client.get("/api/v1/rate-limits/health/").json()["status"] == "healthy"
    soon = timezone.now() + timedelta(minutes=20)
    fingerprint = token_fingerprint(repository)
    RateLimitSample.objects.create(
        provider="github",
        host="github.com",
        token_fingerprint=fingerprint,
        resource="core",
        limit=5000,
        remaining=150,
        reset_at=soon,
        sampled_at=timezone.now(),
    )
    body = client.get("/api/v1/rate-limits/health/").json()
    assert body["status"] == "low"
    assert body["reasons"] == [
        f"github core budget {fingerprint}: 150 of 5000 left (reserve 200) "
        f"until {soon:%H:%M} UTC"
    ]
    RateLimitSample.objects.create(
        provider="github",
        host="github.com",
        token_fingerprint=fingerprint,
        resource="search",
        limit=30,
        remaining=0,
        reset_at=soon,
        sampled_at=timezone.now(),
    )
    body = client.get("/api/v1/rate-limits/health/").json()
    assert body["status"] == "exhausted"
    assert body["reasons"][0].startswith(f"github search budget {fingerprint}: 0 of 30")


def test_a_refused_token_is_a_row_with_its_reason_not_a_500(world):
    client, repository = world
    with responses.RequestsMock() as rsps:
        rsps.get(RATE_LIMIT, status=401, json={"message": "Bad credentials"})
        response = client.get("/api/v1/rate-limits/status/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["limit"] is None and "refused the token (401)" in row["error"]
    assert (
        repository.credential.__class__.objects.get(pk=repository.credential_id).status
        == "needs_reconnect"
    )


def test_someone_in_no_team_sees_no_budget_and_strangers_none_at_all():
    client = APIClient()
    for path in ("status/", "health/"):
        assert client.get(f"/api/v1/rate-limits/{path}").status_code in (401, 403)
    assert client.post("/api/v1/rate-limits/track/").status_code in (401, 403)
    client.force_authenticate(get_user_model().objects.create_user("new"))
    with responses.RequestsMock():
        assert client.get("/api/v1/rate-limits/status/").json() == {"results": []}
    assert client.get("/api/v1/rate-limits/health/").json()["status"] == "unknown"
