"""Provider reads kept in the Django cache (Redis in production).

- ``cache_get`` / ``cache_set`` never raise: with the cache server down every
  read simply goes to the provider (and a warning is logged);
- each lookup is counted as a hit or a miss per kind (bounded labels);
- a repository's cached reads carry its *generation*; a webhook event for the
  repository bumps it, so the next read goes to the provider even within the
  TTL (``repository_cache_invalidate``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

from integrations import metrics

logger = logging.getLogger(__name__)

REPOSITORY_TTL = 300  # repository metadata
PULL_LIST_TTL = 60  # the pull request list
ETAG_TTL = 86400  # ETag + body for conditional requests


def cache_get(key: str, kind: str) -> Any:
    try:
        value = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache outage must not stop the call
        logger.warning("integrations.cache.unavailable", extra={"operation": "get"})
        metrics.provider_cache.labels(kind, "unavailable").inc()
        return None
    metrics.provider_cache.labels(kind, "miss" if value is None else "hit").inc()
    return value


def cache_set(key: str, value: Any, ttl: int) -> None:
    try:
        cache.set(key, value, ttl)
    except Exception:  # noqa: BLE001
        logger.warning("integrations.cache.unavailable", extra={"operation": "set"})


def repository_generation(provider: str, full_name: str) -> int:
    try:
        return cache.get(_generation_key(provider, full_name)) or 0
    except Exception:  # noqa: BLE001
        return 0


def repository_cache_invalidate(provider: str, full_name: str) -> None:
    """Something changed on the provider: cached reads of it are stale."""
    key = _generation_key(provider, full_name)
    try:
        cache.set(key, (cache.get(key) or 0) + 1, None)
    except Exception:  # noqa: BLE001
        logger.warning("integrations.cache.unavailable", extra={"operation": "set"})


def _generation_key(provider: str, full_name: str) -> str:
    return f"repository-generation:{provider}:{full_name}"
