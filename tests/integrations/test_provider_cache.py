"""Repository metadata is cached per token for 5 minutes, refreshed after a
webhook event for the repository, and never needed: a cache outage only costs
requests."""

from __future__ import annotations

from unittest import mock

import pytest
import responses
from django.core.cache import cache

from integrations.providers import get_provider
from integrations.providers.cache import repository_cache_invalidate
from tests.reviews.test_assignment_flow import API, repo_body

FULL_NAME = "Codertocat/Hello-World"


def client(token: str):
    return get_provider("github").client(token, "https://api.github.com")


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None


def test_metadata_is_read_once_per_token_within_the_ttl():
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body(), headers={"ETag": '"repo-v1"'})
        first = client("ghp_one").repository(FULL_NAME)
        second = client("ghp_one").repository(FULL_NAME)  # a new client, same token
        assert len(rsps.calls) == 1
        client("ghp_two").repository(FULL_NAME)  # another token: its own read
        assert len(rsps.calls) == 2
    assert first == second
    assert first.repository.full_name == FULL_NAME


def test_a_webhook_event_makes_the_next_read_conditional():
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body(), headers={"ETag": '"repo-v1"'})
        client("ghp_one").repository(FULL_NAME)
        repository_cache_invalidate("github", FULL_NAME)
        rsps.replace(responses.GET, API, status=304, body="")
        again = client("ghp_one").repository(FULL_NAME)  # answered from the cache
        asked = [call.request.headers.get("If-None-Match") for call in rsps.calls]
    assert asked == [None, '"repo-v1"']
    assert again.repository.full_name == FULL_NAME


def test_reads_still_work_with_the_cache_down():
    down = ConnectionError("redis: connection refused")
    with (
        mock.patch.object(cache, "get", side_effect=down),
        mock.patch.object(cache, "set", side_effect=down),
        responses.RequestsMock() as rsps,
    ):
        rsps.get(API, json=repo_body())
        assert client("ghp_one").repository(FULL_NAME).repository.full_name == FULL_NAME
        client("ghp_one").repository(FULL_NAME)
        assert len(rsps.calls) == 2  # no cache: every client reads
