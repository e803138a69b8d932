"""Receiver protection: who may send, and how often a sender may fail.

Two checks in front of the webhook receivers (README "Webhook endpoint
protection"):

- **Allow-list.** With ``CODEQUEST_WEBHOOK_ALLOWED_IPS`` and/or
  ``CODEQUEST_WEBHOOK_PROVIDER_RANGES`` set, a request from any other address
  is answered 403 before its body is read. The provider's published ranges
  (GitHub's ``meta`` API) are read at most once an hour per process; the last
  good list stays in force while the provider cannot be reached.
- **Failure budget.** A request that does not verify (bad signature, unknown
  hook, malformed input) takes a token from its source address's bucket; with
  the bucket empty the answer is 429 with ``Retry-After``, and an unknown hook
  id from that source is refused without looking it up in the database. A
  delivery that verifies never takes a token and is never refused: GitHub
  sends every customer's hooks from the same addresses, so a stranger's
  misconfigured hook must not silence ours. Buckets live in Redis when the
  cache is Redis (shared by every web process), else in the process; a Redis
  outage falls back to the process's own buckets.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from integrations.providers import get_provider
from integrations.providers.base import Capability, ProviderError
from integrations.selectors import webhook_endpoint_ids

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: HttpRequest) -> str:
    """The sender's address: ``REMOTE_ADDR``, or behind
    ``CODEQUEST_TRUSTED_PROXY_COUNT`` proxies the X-Forwarded-For entry that
    many places from the right (the one the outermost trusted proxy saw).
    Whatever a client writes into the header to the left of it is ignored."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= count:
            return forwarded[-count]
    return str(request.META.get("REMOTE_ADDR", ""))


def parse_address(
    address: str,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None


# --- failure budget ------------------------------------------------------------


class LocalBuckets:
    """Token buckets in this process (bounded: the least recently charged
    sources are forgotten past ``max_keys``)."""

    def __init__(
        self, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._clock = clock

    def take(self, key: str, capacity: int, per_second: float) -> float:
        """Take a token: 0.0 if one was there, else seconds until there is one."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(capacity), now))
            tokens = min(float(capacity), tokens + (now - at) * per_second)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / per_second
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


# The same bucket, atomically in Redis, on the server's clock (several web
# machines may disagree about the time). Returns the wait in seconds as text.
_TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or capacity
local at = tonumber(held[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


class RedisBuckets:
    """Token buckets shared by every process through Redis (one round trip,
    a Lua script, per charged request)."""

    prefix = "codequest:webhook-failures:"

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._script: Any = None

    def take(self, key: str, capacity: int, per_second: float) -> float:
        if self._script is None:
            self._script = self._connect().register_script(_TAKE_SCRIPT)
        answer = self._script(keys=[self.prefix + key], args=[capacity, per_second])
        return float(answer.decode() if isinstance(answer, bytes) else answer)


class FailureBudget:
    """How many failing requests a source may send: ``capacity`` at once,
    refilled at ``capacity`` per ``period`` seconds (CODEQUEST_WEBHOOK_RATE_LIMIT)."""

    def __init__(
        self,
        *,
        capacity: int,
        period: float,
        shared: RedisBuckets | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = capacity / period if capacity else 0.0
        self.shared = shared
        self.local = LocalBuckets(clock=clock)
        self._clock = clock
        # Sources known to be out of tokens, until when (this process's clock):
        # checked before the body is read, without a round trip.
        self._empty_until: dict[str, float] = {}
        self._shared_down_logged = 0.0

    @property
    def is_on(self) -> bool:
        return self.capacity > 0

    def charge(self, source: str) -> float:
        """Count one failure; 0.0 if within budget, else seconds to wait."""
        if not self.is_on:
            return 0.0
        wait = self._take(source)
        if wait > 0:
            self._empty_until[source] = self._clock() + wait
            if len(self._empty_until) > 10_000:
                self._forget_expired()
        return wait

    def exhausted(self, source: str) -> float:
        """Seconds until ``source`` has a token again, as this process knows
        it (0.0: not known to be out)."""
        until = self._empty_until.get(source)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            self._empty_until.pop(source, None)
            return 0.0
        return left

    def reset(self) -> None:
        self.local.clear()
        self._empty_until.clear()

    def _take(self, source: str) -> float:
        if self.shared is not None:
            try:
                return self.shared.take(source, self.capacity, self.per_second)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: stay local
                now = self._clock()
                if now - self._shared_down_logged > 60:
                    self._shared_down_logged = now
                    logger.warning(
                        "integrations.webhook.rate_limit_store_unavailable",
                        extra={"error": exc.__class__.__name__},
                    )
        return self.local.take(source, self.capacity, self.per_second)

    def _forget_expired(self) -> None:
        now = self._clock()
        for source, until in list(self._empty_until.items()):
            if until <= now:
                self._empty_until.pop(source, None)


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))


# --- allow-list -----------------------------------------------------------------


class AllowListUnavailableError(Exception):
    """The provider's published ranges were never read and cannot be now."""


class SourceAllowList:
    """Addresses a provider's receivers accept, or None when any will do."""

    refresh_seconds = 3600.0
    retry_seconds = 60.0  # after a failed read, before trying again

    def __init__(
        self,
        *,
        configured: Iterable[Network],
        provider_ranges: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configured = tuple(configured)
        self.provider_ranges = provider_ranges
        self._clock = clock
        self._lock = threading.Lock()
        # provider -> (networks, read at, next attempt at)
        self._published: dict[str, tuple[tuple[Network, ...], float, float]] = {}

    def networks(self, provider: str) -> tuple[Network, ...] | None:
        adapter = get_provider(provider)
        published = self.provider_ranges and adapter.can(Capability.HOOK_SOURCE_RANGES)
        if not self.configured and not published:
            return None
        if not published:
            return self.configured
        return self.configured + self._published_ranges(provider)

    def allows(self, provider: str, address: str) -> bool:
        networks = self.networks(provider)
        if networks is None:
            return True
        parsed = parse_address(address)
        if parsed is None:
            return False
        return any(parsed in network for network in networks)

    def reset(self) -> None:
        with self._lock:
            self._published.clear()

    def _published_ranges(self, provider: str) -> tuple[Network, ...]:
        now = self._clock()
        held = self._published.get(provider)
        if held is not None and now < held[2]:
            return held[0]
        # One thread reads; while a list is held, the others keep using it
        # rather than wait for the provider.
        if not self._lock.acquire(blocking=held is None):
            return held[0] if held is not None else ()
        try:
            held = self._published.get(provider)
            if held is not None and now < held[2]:
                return held[0]
            try:
                ranges = _parse_ranges(get_provider(provider).hook_source_ranges())
            except ProviderError as exc:
                logger.warning(
                    "integrations.webhook.allow_list_unreadable",
                    extra={"provider": provider, "error": str(exc)[:200]},
                )
                if held is None:
                    self._published[provider] = ((), now, now + self.retry_seconds)
                    if not self.configured:
                        raise AllowListUnavailableError(str(exc)) from None
                    return ()
                kept = (held[0], held[1], now + self.retry_seconds)
                self._published[provider] = kept
                return held[0]
            self._published[provider] = (ranges, now, now + self.refresh_seconds)
            return ranges
        finally:
            self._lock.release()


def _parse_ranges(items: Iterable[str]) -> tuple[Network, ...]:
    """The blocks that parse (a malformed entry is skipped, not fatal)."""
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            logger.warning(
                "integrations.webhook.allow_list_bad_entry", extra={"entry": item[:60]}
            )
    return tuple(networks)


# --- the process's guard ----------------------------------------------------------


_DJANGO_REDIS_BACKENDS = {
    "django_redis.cache.RedisCache",
    "codequest.cache.ResilientRedisCache",
}


def _shared_buckets() -> RedisBuckets | None:
    """Redis buckets when the cache is Redis (django-redis), else None."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in _DJANGO_REDIS_BACKENDS:
        return None

    def connect() -> Any:
        from django_redis import get_redis_connection

        return get_redis_connection("default")

    return RedisBuckets(connect)


class KnownHooks:
    """The public ids of active hooks, read at most once a minute: what a
    source out of budget may still reach without a lookup per request."""

    max_age = 60.0

    def __init__(
        self,
        read: Callable[[str], set[str]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._clock = clock
        self._held: dict[str, tuple[set[str], float]] = {}

    def __contains__(self, item: tuple[str, str]) -> bool:
        provider, public_id = item
        held = self._held.get(provider)
        if held is None or self._clock() - held[1] > self.max_age:
            held = (self._read(provider), self._clock())
            self._held[provider] = held
        return public_id in held[0]


class ReceiverGuard:
    """The failure budget and allow-list the receivers consult (one per process)."""

    def __init__(self) -> None:
        capacity, period = settings.WEBHOOK_FAILURE_LIMIT
        self.budget = FailureBudget(
            capacity=capacity, period=period, shared=_shared_buckets()
        )
        self.allow_list = SourceAllowList(
            configured=settings.WEBHOOK_ALLOWED_NETWORKS,
            provider_ranges=settings.WEBHOOK_ALLOW_PROVIDER_RANGES,
        )
        self.known_hooks = KnownHooks(
            lambda provider: webhook_endpoint_ids(provider=provider)
        )


_guard: ReceiverGuard | None = None
_guard_lock = threading.Lock()


def guard() -> ReceiverGuard:
    global _guard  # noqa: PLW0603 - one per process, built on first use
    if _guard is None:
        with _guard_lock:
            if _guard is None:
                _guard = ReceiverGuard()
    return _guard


def guard_reset() -> None:
    """Forget the guard (settings changed; tests)."""
    global _guard  # noqa: PLW0603
    with _guard_lock:
        _guard = None
