"""The per-provider circuit breaker: opens after repeated temporary failures,
fails fast while open, probes once after the pause, closes on success."""

from __future__ import annotations

from unittest import mock

import pytest

from integrations.providers import circuit
from integrations.providers.base import (
    CircuitOpenError,
    ProviderError,
    ProviderTemporaryError,
)
from integrations.providers.calls import recorded_call


def call(outcome: Exception | None = None, provider: str = "github") -> None:
    with recorded_call(provider, "pull_requests_since"):
        if outcome is not None:
            raise outcome


def test_opens_after_repeated_failures_then_probes_and_closes():
    clock = [1000.0]
    with mock.patch.object(circuit.time, "time", lambda: clock[0]):
        for _ in range(circuit.FAILURES_TO_OPEN):
            with pytest.raises(ProviderTemporaryError):
                call(ProviderTemporaryError("GitHub answered 502"))
        # Open: fails at once, without reaching the provider.
        reached = mock.Mock()
        paused = pytest.raises(CircuitOpenError, match="calls are paused for 60 s more")
        with paused, recorded_call("github", "reviews"):
            reached()
        reached.assert_not_called()
        call(provider="gitlab")  # another provider is unaffected

        clock[0] += circuit.OPEN_SECONDS + 1  # the pause is over: one probe
        with pytest.raises(ProviderTemporaryError):
            call(ProviderTemporaryError("still 502"))
        with pytest.raises(CircuitOpenError):  # the failed probe re-opened it
            call()

        clock[0] += circuit.OPEN_SECONDS + 1
        call()  # the probe succeeds: closed
        call()
        assert circuit._load("github") == {"failures": 0, "opened_at": None}


def test_other_errors_do_not_count_and_success_resets():
    for _ in range(circuit.FAILURES_TO_OPEN - 1):
        with pytest.raises(ProviderTemporaryError):
            call(ProviderTemporaryError("timeout"))
    with pytest.raises(ProviderError):
        call(ProviderError("422 validation failed"))  # the provider is up
    call()
    for _ in range(circuit.FAILURES_TO_OPEN - 1):
        with pytest.raises(ProviderTemporaryError):
            call(ProviderTemporaryError("timeout"))
    call()  # still closed: the count started over


def test_works_without_the_cache():
    from django.core.cache import cache

    down = ConnectionError("redis down")
    with (
        mock.patch.object(cache, "get", side_effect=down),
        mock.patch.object(cache, "set", side_effect=down),
    ):
        for _ in range(circuit.FAILURES_TO_OPEN):
            with pytest.raises(ProviderTemporaryError):
                call(ProviderTemporaryError("502"))
        with pytest.raises(CircuitOpenError):
            call()  # this process remembered it
