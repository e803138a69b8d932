"""Rate-limit budgets per token: what the provider last reported, and the
reserve a sync or an assignment must leave (``CODEQUEST_RATE_LIMIT_RESERVE``).

Below ingest and the domain alike; the token itself is never stored here,
only the first hex digits of a hash naming which budget it spends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from integrations import metrics
from integrations.models import ConnectedRepository, RateLimitSample
from integrations.providers.base import ProviderTemporaryError, RateLimit


class SyncDeferred(ProviderTemporaryError):
    """The token's rate-limit budget is below the reserve until ``reset_at``."""

    def __init__(self, reset_at: datetime) -> None:
        super().__init__(f"rate limit below the reserve until {reset_at:%H:%M:%S} UTC")
        self.reset_at = reset_at


def token_fingerprint(repository: ConnectedRepository) -> str:
    """Which budget a repository spends: its installation or its credential."""
    if repository.installation_id:
        key = f"installation:{repository.installation_id}"
    else:
        key = f"credential:{repository.credential_id}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def rate_limits_record(
    *,
    repository: ConnectedRepository,
    limits: Iterable[RateLimit],
    now: datetime | None = None,
) -> None:
    """Keep the budgets a provider reported for the token this repository uses."""
    now = now or timezone.now()
    for limit in limits:
        labels = (repository.provider, repository.host, limit.resource)
        metrics.rate_limit_remaining.labels(*labels).set(limit.remaining)
        metrics.rate_limit_limit.labels(*labels).set(limit.limit)
    RateLimitSample.objects.bulk_create(
        RateLimitSample(
            provider=repository.provider,
            host=repository.host,
            token_fingerprint=token_fingerprint(repository),
            resource=limit.resource,
            limit=limit.limit,
            remaining=limit.remaining,
            reset_at=limit.reset_at,
            sampled_at=now,
        )
        for limit in limits
    )


def budget_check(repository: ConnectedRepository) -> None:
    """Defer instead of spending the last of the budget (the reserve).

    Raises SyncDeferred (with the reset time) when the token this repository
    uses last reported less than CODEQUEST_RATE_LIMIT_RESERVE left.
    """
    latest = (
        RateLimitSample.objects.filter(
            token_fingerprint=token_fingerprint(repository), resource="core"
        )
        .order_by("-sampled_at", "-id")
        .first()
    )
    now = timezone.now()
    if (
        latest is not None
        and latest.reset_at is not None
        and latest.reset_at > now
        and latest.remaining < settings.CODEQUEST_RATE_LIMIT_RESERVE
    ):
        raise SyncDeferred(latest.reset_at)
