"""Receiver protection: failure budgets per source and the allow-list."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from unittest import mock

import pytest
import redis
import responses

from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.receiver_guard import (
    FailureBudget,
    LocalBuckets,
    RedisBuckets,
    SourceAllowList,
    client_address,
)
from tests.conftest import post_webhook

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parent.parent / "provider_responses" / "github"
PR_PAYLOAD = {
    "action": "opened",
    "number": 1,
    "pull_request": {"number": 1},
    "repository": {"id": 7, "full_name": "octo/hello"},
}
GITHUB_HOOK_ADDRESS = "140.82.115.10"  # inside 140.82.112.0/20 of the recording


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dispatched():
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send:
        yield send


@pytest.fixture
def small_budget(settings):
    settings.WEBHOOK_FAILURE_LIMIT = (3, 60.0)


def _bad(client, **kwargs):
    return post_webhook(
        client, "github", PR_PAYLOAD, "pull_request", secret="wrong", **kwargs
    )


# --- buckets ------------------------------------------------------------------


def test_local_bucket_refills_at_its_rate():
    clock = Clock()
    buckets = LocalBuckets(clock=clock)
    assert [buckets.take("a", 2, 1 / 30) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a", 2, 1 / 30) == pytest.approx(30.0)
    assert buckets.take("b", 2, 1 / 30) == 0.0  # another source has its own
    clock.now += 30
    assert buckets.take("a", 2, 1 / 30) == 0.0
    assert buckets.take("a", 2, 1 / 30) > 0


def test_local_buckets_forget_the_oldest_sources_past_their_bound():
    buckets = LocalBuckets(max_keys=2, clock=Clock())
    for key in ("a", "b", "c"):
        buckets.take(key, 1, 1.0)
    assert buckets.take("a", 1, 1.0) == 0.0  # "a" was forgotten: full again
    assert buckets.take("c", 1, 1.0) > 0


@pytest.fixture
def redis_client():
    url = os.environ.get("CODEQUEST_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CODEQUEST_TEST_REDIS_URL is not set under CI")
        pytest.skip("CODEQUEST_TEST_REDIS_URL not set")
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(RedisBuckets.prefix + "*"):
        client.delete(key)
    yield client
    for key in client.scan_iter(RedisBuckets.prefix + "*"):
        client.delete(key)


def test_redis_buckets_are_shared_by_every_process(redis_client):
    one = FailureBudget(
        capacity=2, period=60, shared=RedisBuckets(lambda: redis_client)
    )
    two = FailureBudget(
        capacity=2, period=60, shared=RedisBuckets(lambda: redis_client)
    )
    assert one.charge("198.51.100.7") == 0.0
    assert two.charge("198.51.100.7") == 0.0
    wait = one.charge("198.51.100.7")
    assert 25 < wait <= 30  # one token every 30 s
    assert one.exhausted("198.51.100.7") > 0
    assert two.exhausted("198.51.100.7") == 0.0  # it has not been told yet
    assert two.charge("198.51.100.7") > 0
    ttl = redis_client.ttl(RedisBuckets.prefix + "198.51.100.7")
    assert 0 < ttl <= 61  # an idle source's bucket goes away


def test_redis_outage_falls_back_to_the_process_buckets(caplog):
    def unreachable():
        return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)

    budget = FailureBudget(capacity=1, period=60, shared=RedisBuckets(unreachable))
    assert budget.charge("198.51.100.7") == 0.0
    assert budget.charge("198.51.100.7") > 0
    assert "integrations.webhook.rate_limit_store_unavailable" in caplog.text


# --- the receivers ------------------------------------------------------------


def test_failures_past_the_budget_get_429_with_retry_after(client, small_budget):
    answers = [_bad(client).status_code for _ in range(3)]
    assert answers == [401, 401, 401]
    limited = _bad(client)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 20
    assert limited.json() == {
        "error": "too many failed requests from this address; retry later"
    }
    # Every kind of refusal counts, not only signatures.
    garbage = post_webhook(
        client, "github", None, "pull_request", body=b"[]", delivery="g"
    )
    assert garbage.status_code == 429
    assert WebhookDelivery.objects.count() == 0


def test_a_verified_delivery_is_never_refused_or_charged(
    client, dispatched, small_budget
):
    for _ in range(4):
        _bad(client)
    assert _bad(client).status_code == 429
    ok = [
        post_webhook(client, "github", PR_PAYLOAD, "pull_request").status_code
        for _ in range(10)
    ]
    assert ok == [202] * 10
    assert WebhookDelivery.objects.count() == 10


def test_other_sources_keep_their_own_budget(client, small_budget):
    for _ in range(4):
        _bad(client)
    assert _bad(client).status_code == 429
    elsewhere = client.__class__(REMOTE_ADDR="203.0.113.9")
    assert _bad(elsewhere).status_code == 401


def test_out_of_budget_unknown_hook_is_refused_without_a_query(
    client, small_budget, django_assert_num_queries
):
    for _ in range(4):
        post_webhook(client, "github", PR_PAYLOAD, "pull_request", hook="nope")
    # Out of budget: the known ids are read once (one query) ...
    with django_assert_num_queries(1):
        post_webhook(client, "github", PR_PAYLOAD, "pull_request", hook="nope")
    # ... and then at most once a minute, so a flood costs no lookups.
    with django_assert_num_queries(0):
        refused = post_webhook(
            client, "github", PR_PAYLOAD, "pull_request", hook="still-nope"
        )
    assert refused.status_code == 429
    assert refused["Retry-After"]


def test_out_of_budget_source_still_reaches_a_known_hook(
    client, dispatched, small_budget
):
    hook = WebhookEndpoint(provider="github")
    hook.secret = "hook-secret"
    hook.save()
    for _ in range(4):
        _bad(client)
    assert _bad(client).status_code == 429
    ok = post_webhook(
        client,
        "github",
        PR_PAYLOAD,
        "pull_request",
        hook=hook.public_id,
        secret="hook-secret",
    )
    assert ok.status_code == 202
    wrong = post_webhook(
        client, "github", PR_PAYLOAD, "pull_request", hook=hook.public_id
    )
    assert wrong.status_code == 429  # a known hook, but it does not verify


def test_limit_off(client, settings):
    settings.WEBHOOK_FAILURE_LIMIT = (0, 1.0)
    assert {_bad(client).status_code for _ in range(80)} == {401}


def test_default_budget_is_sixty_a_minute(client):
    answers = [_bad(client).status_code for _ in range(61)]
    assert answers[:60] == [401] * 60
    assert answers[60] == 429


# --- client address -----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "forwarded", "remote", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.2", "10.0.0.2"),  # no proxy: the header is ignored
        (1, "1.1.1.1, 203.0.113.5", "10.0.0.2", "203.0.113.5"),
        (2, "1.1.1.1, 203.0.113.5, 10.0.0.9", "10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.2", "10.0.0.2"),  # shorter than the chain
    ],
)
def test_client_address_behind_trusted_proxies(
    rf, settings, count, forwarded, remote, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    request = rf.post("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_address(request) == expected


# --- allow-list ---------------------------------------------------------------


@pytest.fixture
def meta_answer():
    return json.loads((RECORDED / "meta.json").read_text())


def _github_meta(rsps, meta_answer, status=200):
    return rsps.add(
        responses.GET, "https://api.github.com/meta", json=meta_answer, status=status
    )


@responses.activate
def test_allow_list_from_githubs_published_hook_addresses(
    client, dispatched, settings, meta_answer
):
    settings.WEBHOOK_ALLOW_PROVIDER_RANGES = True
    settings.GITHUB_API_URL = "https://api.github.com"
    meta = _github_meta(responses, meta_answer)
    inside = client.__class__(REMOTE_ADDR=GITHUB_HOOK_ADDRESS)
    assert post_webhook(inside, "github", PR_PAYLOAD, "pull_request").status_code == 202
    ipv6 = client.__class__(REMOTE_ADDR="2606:50c0:8000::153")
    assert post_webhook(ipv6, "github", PR_PAYLOAD, "pull_request").status_code == 202
    outside = post_webhook(client, "github", PR_PAYLOAD, "pull_request")
    assert outside.status_code == 403
    assert outside.json() == {"error": "deliveries from this address are refused"}
    assert WebhookDelivery.objects.count() == 2
    assert meta.call_count == 1  # read once, then held
    # GitLab publishes no addresses: with none configured it stays open.
    gitlab = post_webhook(
        client,
        "gitlab",
        {"object_kind": "push", "project": {"path_with_namespace": "g/p"}},
        "Push Hook",
    )
    assert gitlab.status_code == 202


@responses.activate
def test_configured_blocks_apply_to_every_receiver(client, dispatched, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("203.0.113.0/24"),)
    allowed = client.__class__(REMOTE_ADDR="203.0.113.40")
    assert (
        post_webhook(allowed, "github", PR_PAYLOAD, "pull_request").status_code == 202
    )
    assert post_webhook(client, "github", PR_PAYLOAD, "pull_request").status_code == 403
    refused = post_webhook(
        client,
        "gitlab",
        {"object_kind": "push", "project": {"path_with_namespace": "g/p"}},
        "Push Hook",
    )
    assert refused.status_code == 403
    assert len(responses.calls) == 0  # nothing asked of GitHub


@responses.activate
def test_unreachable_meta_with_nothing_held_is_503_not_open(client, settings):
    settings.WEBHOOK_ALLOW_PROVIDER_RANGES = True
    settings.GITHUB_API_URL = "https://api.github.com"
    responses.add(responses.GET, "https://api.github.com/meta", status=502)
    inside = client.__class__(REMOTE_ADDR=GITHUB_HOOK_ADDRESS)
    answer = post_webhook(inside, "github", PR_PAYLOAD, "pull_request")
    assert answer.status_code == 503
    assert answer.json() == {"error": "cannot check the sender's address now"}
    assert WebhookDelivery.objects.count() == 0


@responses.activate
def test_last_good_list_stays_in_force_while_github_is_unreachable(
    settings, meta_answer
):
    settings.GITHUB_API_URL = "https://api.github.com"
    clock = Clock()
    allow = SourceAllowList(configured=(), provider_ranges=True, clock=clock)
    _github_meta(responses, meta_answer)
    assert allow.allows("github", GITHUB_HOOK_ADDRESS)
    responses.replace(responses.GET, "https://api.github.com/meta", status=500)
    clock.now += 3601
    assert allow.allows("github", GITHUB_HOOK_ADDRESS)  # held, logged
    assert not allow.allows("github", "198.51.100.1")
    calls = len(responses.calls)
    clock.now += 30
    allow.allows("github", GITHUB_HOOK_ADDRESS)
    assert len(responses.calls) == calls  # waits a minute before trying again
    changed = dict(meta_answer, hooks=["198.51.100.0/24"])
    responses.replace(responses.GET, "https://api.github.com/meta", json=changed)
    clock.now += 31
    assert allow.allows("github", "198.51.100.1")  # the new list replaces the old
    assert not allow.allows("github", GITHUB_HOOK_ADDRESS)


@responses.activate
def test_malformed_meta_answer_is_not_a_list(settings):
    settings.GITHUB_API_URL = "https://api.github.com"
    responses.add(
        responses.GET, "https://api.github.com/meta", json={"hooks": "everything"}
    )
    allow = SourceAllowList(
        configured=(ipaddress.ip_network("10.0.0.0/8"),), provider_ranges=True
    )
    assert not allow.allows("github", GITHUB_HOOK_ADDRESS)
    assert allow.allows("github", "10.1.2.3")  # the configured blocks still apply


def test_unparsable_client_address_is_refused_when_a_list_is_set(rf, settings):
    allow = SourceAllowList(
        configured=(ipaddress.ip_network("10.0.0.0/8"),), provider_ranges=False
    )
    assert not allow.allows("github", "")
    assert not allow.allows("github", "not-an-address")
    assert SourceAllowList(configured=(), provider_ranges=False).allows("github", "")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CODEQUEST_WEBHOOK_RATE_LIMIT", "sixty"),
        ("CODEQUEST_WEBHOOK_RATE_LIMIT", "60/d"),
        ("CODEQUEST_WEBHOOK_ALLOWED_IPS", "10.0.0.0/8,not-a-block"),
        ("CODEQUEST_WEBHOOK_PROVIDER_RANGES", "maybe"),
    ],
)
def test_malformed_settings_stop_start_up_with_one_line(variable, value):
    import subprocess
    import sys

    env = dict(os.environ, **{variable: value})
    result = subprocess.run(
        [sys.executable, "-c", "import django;django.setup()"],
        env=dict(env, DJANGO_SETTINGS_MODULE="codequest.settings"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_buckets_live_in_redis_when_the_cache_is_redis(settings, redis_client):
    from integrations.receiver_guard import guard, guard_reset

    url = os.environ["CODEQUEST_TEST_REDIS_URL"]
    settings.CACHES = {
        "default": {"BACKEND": "codequest.cache.ResilientRedisCache", "LOCATION": url}
    }
    settings.WEBHOOK_FAILURE_LIMIT = (1, 60.0)
    guard_reset()
    first = guard()
    assert isinstance(first.budget.shared, RedisBuckets)
    assert first.budget.charge("198.51.100.8") == 0.0
    guard_reset()  # another process: its own memory, the same Redis
    assert guard().budget.charge("198.51.100.8") > 0
