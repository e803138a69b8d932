"""Health of every integration: is each repository still wired up and current?

For each connected repository (beat every 5 minutes, and
``manage.py check_integrations``):

- the token: still accepted (GitHub ``GET /rate_limit``, free; GitLab
  ``GET /user``), how fast, and how much rate limit is left — asked once per
  token, however many repositories share it;
- the webhook: still present and active on the provider, recent deliveries
  processed, and not flagged by reconciliation for missing changes;
- reconciliation: the last run succeeded and is recent.

The worst finding sets the status (healthy / degraded / unhealthy). Every check
is kept (``IntegrationHealth``); a change of status is announced once — a
warning log line and an email to the team's admins — never every 5 minutes.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from integrations import metrics
from integrations.budgets import token_fingerprint
from integrations.credentials import repository_client
from integrations.models import (
    ConnectedRepository,
    HealthStatus,
    IntegrationHealth,
    SyncRun,
    WebhookDelivery,
)
from integrations.providers import get_provider
from integrations.providers.base import (
    Capability,
    ProviderAuthError,
    ProviderError,
    RateLimit,
)
from integrations.services.sync import (
    rate_limits_record,
    repositories_syncable,
)

logger = logging.getLogger(__name__)

SLOW_API_MS = 2000
LOW_BUDGET = 0.10  # share of the limit left that counts as "nearly spent"
FAILED_DELIVERY_SHARE = 0.05
RANK = {HealthStatus.HEALTHY: 0, HealthStatus.DEGRADED: 1, HealthStatus.UNHEALTHY: 2}


@dataclass
class Finding:
    status: str = HealthStatus.HEALTHY
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    latency_ms: int | None = None

    def worse(self, status: str, reason: str) -> None:
        if RANK[status] > RANK[self.status]:
            self.status = status
        self.reasons.append(reason)


@dataclass
class TokenCheck:
    error: str = ""
    is_refused: bool = False
    latency_ms: int = 0
    limits: list[RateLimit] = field(default_factory=list)
    client: object | None = None


def integrations_check(*, now: datetime | None = None) -> list[IntegrationHealth]:
    """Check every connected repository now; the stored results, one each."""
    now = now or timezone.now()
    tokens: dict[str, TokenCheck] = {}
    results = []
    repositories = repositories_syncable().select_related("credential", "organization")
    for repository in repositories.order_by("provider", "full_name"):
        fingerprint = token_fingerprint(repository)
        if fingerprint not in tokens:
            tokens[fingerprint] = _token_check(repository, now)
        finding = _repository_check(repository, tokens[fingerprint], now)
        results.append(_record(repository, finding, now))
    _export(results)
    return results


def _token_check(repository: ConnectedRepository, now: datetime) -> TokenCheck:
    check = TokenCheck()
    started = time.perf_counter()
    try:
        check.client = repository_client(repository)
        check.limits = check.client.ping()
    except ProviderAuthError as exc:
        check.error, check.is_refused = str(exc), True
    except ProviderError as exc:
        check.error = str(exc)
    check.latency_ms = int((time.perf_counter() - started) * 1000)
    rate_limits_record(repository=repository, limits=check.limits, now=now)
    return check


def _repository_check(
    repository: ConnectedRepository, token: TokenCheck, now: datetime
) -> Finding:
    finding = Finding(latency_ms=token.latency_ms)
    _check_token(finding, repository, token)
    if token.client is not None and not token.error:
        _check_hook(finding, repository, token.client)
    _check_deliveries(finding, repository, now)
    _check_sync(finding, repository, now)
    return finding


def _check_token(finding: Finding, repository, token: TokenCheck) -> None:
    credential = repository.credential
    if credential is not None and credential.status != "active":
        finding.worse(HealthStatus.UNHEALTHY, "the connection needs to be renewed")
        return
    if token.is_refused:
        finding.worse(HealthStatus.UNHEALTHY, f"token refused: {token.error}")
        return
    if token.error:
        finding.worse(HealthStatus.DEGRADED, f"provider unreachable: {token.error}")
        return
    finding.details.append(f"token accepted in {token.latency_ms} ms")
    if token.latency_ms > SLOW_API_MS:
        finding.worse(HealthStatus.DEGRADED, f"slow API ({token.latency_ms} ms)")
    for limit in token.limits:
        left = f"{limit.remaining}/{limit.limit} {limit.resource}"
        finding.details.append(f"{left} left")
        if limit.resource != "core" or not limit.limit:
            continue
        until = f" until {limit.reset_at:%H:%M} UTC" if limit.reset_at else ""
        if limit.remaining == 0:
            finding.worse(HealthStatus.UNHEALTHY, f"rate limit spent{until}")
        elif limit.remaining / limit.limit < LOW_BUDGET:
            finding.worse(
                HealthStatus.DEGRADED, f"rate limit nearly spent: {left} left"
            )


def _check_hook(finding: Finding, repository, client) -> None:
    endpoint = (
        repository.webhooks.filter(is_active=True, provider_hook_id__isnull=False)
        .order_by("-created_at")
        .first()
    )
    if endpoint is None:
        if repository.installation_id:
            name = get_provider(repository.provider).name
            finding.details.append(f"events arrive through the {name} App")
        else:
            finding.worse(
                HealthStatus.DEGRADED,
                "no webhook: changes arrive only with reconciliation",
            )
        return
    if not endpoint.is_enabled:
        finding.details.append(
            "webhook paused by a team admin: changes arrive with reconciliation"
        )
        return
    try:
        state = client.hook_state(repository.full_name, endpoint.provider_hook_id)
    except ProviderError as exc:
        finding.worse(HealthStatus.DEGRADED, f"webhook not readable: {exc}")
        return
    if state == "missing":
        finding.worse(HealthStatus.UNHEALTHY, "webhook deleted on the provider")
    elif state == "disabled":
        finding.worse(HealthStatus.UNHEALTHY, "webhook disabled on the provider")
    else:
        finding.details.append("webhook active")
        if get_provider(repository.provider).can(Capability.HOOK_REDELIVERY):
            _redeliver(finding, repository, endpoint, client)


def _redeliver(finding: Finding, repository, endpoint, client) -> None:
    """The provider does not retry a failed delivery (GitHub never does): ask
    for the ones that failed."""
    known = set(
        WebhookDelivery.objects.filter(
            hook=endpoint, received_at__gte=timezone.now() - timedelta(days=3)
        ).values_list("delivery_id", flat=True)
    )
    try:
        asked = client.hook_redeliver_failed(
            repository.full_name, endpoint.provider_hook_id, known=known
        )
    except ProviderError as exc:
        finding.details.append(f"failed deliveries not checked: {exc}")
        return
    if asked:
        logger.info(
            "integrations.health.redelivery_requested",
            extra={"repository": str(repository), "count": len(asked)},
        )
        name = get_provider(repository.provider).name
        finding.details.append(f"asked {name} to redeliver {len(asked)} failed")


def _check_deliveries(finding: Finding, repository, now: datetime) -> None:
    counts = WebhookDelivery.objects.filter(
        repository=repository, received_at__gte=now - timedelta(hours=24)
    ).aggregate(total=Count("id"), failed=Count("id", filter=Q(status="failed")))
    total, failed = counts["total"], counts["failed"]
    finding.details.append(f"{failed} of {total} deliveries failed in 24 h")
    if total and failed / total > FAILED_DELIVERY_SHARE:
        finding.worse(
            HealthStatus.DEGRADED, f"{failed} of {total} deliveries failed in 24 h"
        )
    if repository.webhook_status == ConnectedRepository.WebhookStatus.DEGRADED:
        finding.worse(
            HealthStatus.DEGRADED, "reconciliation found changes the webhook missed"
        )


def _check_sync(finding: Finding, repository, now: datetime) -> None:
    runs = list(
        SyncRun.objects.filter(repository=repository, kind__in=SyncRun.READ_KINDS)
        .exclude(status=SyncRun.Status.RUNNING)
        .order_by("-started_at", "-id")[:3]
    )
    if not runs:
        finding.details.append("never reconciled")
        return
    last = runs[0]
    ago = int((now - last.started_at).total_seconds() // 60)
    finding.details.append(f"last sync {last.status} {ago} min ago")
    if len(runs) == 3 and all(run.status == SyncRun.Status.FAILED for run in runs):
        finding.worse(HealthStatus.UNHEALTHY, f"last 3 syncs failed: {last.error}")
    elif last.status == SyncRun.Status.FAILED:
        finding.worse(HealthStatus.DEGRADED, f"last sync failed: {last.error}")
    stale = 3 * settings.CODEQUEST_SYNC_INTERVAL_SECONDS
    if (now - last.started_at).total_seconds() > stale:
        finding.worse(HealthStatus.DEGRADED, f"no reconciliation for {ago} minutes")


def _record(
    repository: ConnectedRepository, finding: Finding, now: datetime
) -> IntegrationHealth:
    previous = (
        IntegrationHealth.objects.filter(repository=repository)
        .order_by("-checked_at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    health = IntegrationHealth.objects.create(
        repository=repository,
        status=finding.status,
        reasons=finding.reasons,
        details=finding.details,
        latency_ms=finding.latency_ms,
        checked_at=now,
    )
    if previous != finding.status and not (
        previous is None and finding.status == HealthStatus.HEALTHY
    ):
        _announce(repository, previous, health)
    return health


def _announce(repository, previous: str | None, health: IntegrationHealth) -> None:
    """Say it once: a status change is logged. The team's admins are told by
    notifications (``notifications.operations``), from the stored checks."""
    logger.warning(
        "integrations.health.changed",
        extra={
            "repository": str(repository),
            "before": str(previous or "unknown"),
            "after": str(health.status),
            "reasons": health.reasons,
        },
    )


def _export(results: list[IntegrationHealth]) -> None:
    counts = Counter((result.repository.provider, result.status) for result in results)
    for provider in {provider for provider, _ in counts}:
        for status in HealthStatus.values:
            metrics.integrations_by_status.labels(provider, status).set(
                counts[(provider, status)]
            )
