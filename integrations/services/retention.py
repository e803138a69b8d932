"""Keep operational history bounded.

Every sync and health check writes a row; with a thousand repositories that
is hundreds of thousands a day. Older rows are deleted in batches, daily:
sync runs and health checks after CODEQUEST_HISTORY_DAYS (30), rate-limit
samples after 7 days. The latest row of each repository is always kept.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Model
from django.utils import timezone

from integrations.models import IntegrationHealth, RateLimitSample, SyncRun

BATCH = 5000
RATE_LIMIT_DAYS = 7


def history_prune() -> dict[str, int]:
    """Delete old history rows; how many of each kind went."""
    now = timezone.now()
    keep = now - timedelta(days=settings.CODEQUEST_HISTORY_DAYS)
    return {
        "sync_runs": _prune(SyncRun, "started_at", keep, latest_per="repository"),
        "health_checks": _prune(
            IntegrationHealth, "checked_at", keep, latest_per="repository"
        ),
        "rate_limit_samples": _prune(
            RateLimitSample,
            "sampled_at",
            now - timedelta(days=RATE_LIMIT_DAYS),
            latest_per="token_fingerprint",
        ),
    }


def _prune(model: type[Model], field: str, before, *, latest_per: str) -> int:
    latest = set(
        model.objects.values(latest_per)
        .annotate(newest=Max("id"))
        .values_list("newest", flat=True)
    )
    deleted = 0
    while True:
        ids = list(
            model.objects.filter(**{f"{field}__lt": before})
            .exclude(id__in=latest)
            .values_list("id", flat=True)[:BATCH]
        )
        if not ids:
            return deleted
        deleted += model.objects.filter(id__in=ids).delete()[0]
