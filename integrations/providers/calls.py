"""Every provider call is timed, counted, logged and guarded by the circuit."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from integrations import metrics
from integrations.providers.base import (
    CircuitOpenError,
    ProviderAuthError,
    ProviderError,
    ProviderTemporaryError,
)
from integrations.providers.circuit import (
    circuit_before,
    circuit_failure,
    circuit_success,
)

logger = logging.getLogger(__name__)


@contextmanager
def recorded_call(provider: str, operation: str) -> Iterator[None]:
    """Time, count and log one provider operation (the audit trail is the log).

    ``operation`` comes from a fixed set per adapter, so metric labels stay
    bounded; nothing secret is logged.
    """
    started = time.perf_counter()
    outcome = "ok"
    try:
        circuit_before(provider)
        yield
    except CircuitOpenError:
        outcome = "circuit_open"
        raise
    except ProviderAuthError:
        outcome = "auth_error"
        raise
    except ProviderTemporaryError:
        outcome = "temporary_error"
        circuit_failure(provider)
        raise
    except ProviderError:
        outcome = "error"
        raise
    else:
        circuit_success(provider)
    finally:
        elapsed = time.perf_counter() - started
        metrics.provider_calls.labels(provider, operation, outcome).inc()
        metrics.provider_call_seconds.labels(provider, operation).observe(elapsed)
        logger.info(
            "integrations.provider.call",
            extra={
                "provider": provider,
                "operation": operation,
                "outcome": outcome,
                "ms": round(elapsed * 1000, 1),
            },
        )
