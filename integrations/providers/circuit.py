"""A circuit breaker per provider: stop calling a provider that keeps failing.

After ``FAILURES_TO_OPEN`` temporary failures in a row (5xx after the client's
own retries, timeouts, connection errors) the circuit opens: for
``OPEN_SECONDS`` every call fails at once with ``CircuitOpenError`` (a
``ProviderTemporaryError``, so background work re-queues) instead of waiting
on a provider that is down. Then one call is let through as a probe: success
closes the circuit, failure opens it again.

The state lives in the Django cache (Redis in production), shared by every
worker; when the cache is unavailable each process keeps its own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache

from integrations.providers.base import CircuitOpenError

logger = logging.getLogger(__name__)

FAILURES_TO_OPEN = 5
OPEN_SECONDS = 60
_local: dict[str, dict[str, Any]] = {}


def _key(provider: str) -> str:
    return f"circuit:{provider}"


def _load(provider: str) -> dict[str, Any]:
    try:
        state = cache.get(_key(provider))
    except Exception:  # noqa: BLE001 - the cache being down must not stop calls
        state = _local.get(provider)
    return dict(state or {"failures": 0, "opened_at": None})


def _save(provider: str, state: dict[str, Any]) -> None:
    _local[provider] = state
    try:
        cache.set(_key(provider), state, OPEN_SECONDS * 10)
    except Exception:  # noqa: BLE001
        logger.warning("integrations.cache.unavailable", extra={"operation": "set"})


def circuit_before(provider: str) -> None:
    """Raise CircuitOpenError while the provider's circuit is open."""
    opened_at = _load(provider)["opened_at"]
    if opened_at is None:
        return
    wait = OPEN_SECONDS - (time.time() - opened_at)
    if wait > 0:
        raise CircuitOpenError(
            f"{provider} failed {FAILURES_TO_OPEN} times in a row; calls are paused "
            f"for {wait:.0f} s more"
        )


def circuit_failure(provider: str) -> None:
    state = _load(provider)
    state["failures"] += 1
    probing = state["opened_at"] is not None
    if probing or state["failures"] >= FAILURES_TO_OPEN:
        if not probing:
            logger.warning(
                "integrations.circuit.opened",
                extra={"provider": provider, "failures": state["failures"]},
            )
        state["opened_at"] = time.time()
    _save(provider, state)


def circuit_success(provider: str) -> None:
    state = _load(provider)
    if state["failures"] or state["opened_at"] is not None:
        if state["opened_at"] is not None:
            logger.info("integrations.circuit.closed", extra={"provider": provider})
        _save(provider, {"failures": 0, "opened_at": None})
