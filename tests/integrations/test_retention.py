"""Sync, health and rate-limit history stays bounded; the latest row stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import IntegrationHealth, RateLimitSample, SyncRun
from integrations.services.retention import history_prune
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


def test_old_history_goes_and_the_latest_row_stays(settings):
    settings.CODEQUEST_HISTORY_DAYS = 30
    now = timezone.now()
    busy, quiet = RepositoryFactory(), RepositoryFactory()
    for days in (40, 35, 1):
        SyncRun.objects.create(
            repository=busy,
            kind="incremental",
            status="succeeded",
            started_at=now - timedelta(days=days),
        )
        IntegrationHealth.objects.create(
            repository=busy, status="healthy", checked_at=now - timedelta(days=days)
        )
    # A repository checked long ago and never since keeps its last word.
    SyncRun.objects.create(
        repository=quiet,
        kind="incremental",
        status="failed",
        started_at=now - timedelta(days=90),
    )
    for days, token in ((10, "a"), (8, "a"), (1, "a"), (20, "b")):
        RateLimitSample.objects.create(
            provider="github",
            host="github.com",
            token_fingerprint=token,
            limit=5000,
            remaining=4000,
            sampled_at=now - timedelta(days=days),
        )

    assert history_prune() == {
        "sync_runs": 2,
        "health_checks": 2,
        "rate_limit_samples": 2,
    }
    assert SyncRun.objects.filter(repository=busy).count() == 1
    assert SyncRun.objects.filter(repository=quiet).count() == 1
    assert set(RateLimitSample.objects.values_list("token_fingerprint", flat=True)) == {
        "a",
        "b",
    }
    assert history_prune() == {
        "sync_runs": 0,
        "health_checks": 0,
        "rate_limit_samples": 0,
    }
