"""Live rate limits of the budgets a person's repositories spend: read now from
the provider (GitHub's ``GET /rate_limit`` costs nothing), optionally kept as
samples, and a verdict from the latest samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.budgets import rate_limits_record, token_fingerprint
from integrations.credentials import repository_client_guarded
from integrations.models import ConnectedRepository
from integrations.providers.base import ProviderError
from integrations.selectors import rate_limit_list, repositories_visible_to

MOST_BUDGETS = 50  # one provider call each; a person's teams rarely use more


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    provider: str
    host: str
    token_fingerprint: str
    resource: str = ""
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    error: str = ""

    @property
    def used(self) -> int | None:
        if self.limit is None or self.remaining is None:
            return None
        return self.limit - self.remaining

    @property
    def percent_used(self) -> float | None:
        if not self.limit or self.used is None:
            return None
        return round(100 * self.used / self.limit, 1)


def rate_limits_live(*, user: Any, track: bool = False) -> list[BudgetStatus]:
    """Each budget (token or App installation) the person's active repositories
    use, read from the provider now; ``track`` keeps them as samples too. A
    budget the provider would not report on says why instead."""
    statuses: list[BudgetStatus] = []
    for fingerprint, repository in _budgets(user):
        name = (repository.provider, repository.host, fingerprint)
        try:
            with repository_client_guarded(repository) as client:
                limits = client.ping()
        except ProviderError as exc:
            statuses.append(BudgetStatus(*name, error=str(exc)[:300]))
            continue
        if track:
            rate_limits_record(repository=repository, limits=limits)
        statuses.extend(
            BudgetStatus(
                *name, item.resource, item.limit, item.remaining, item.reset_at
            )
            for item in limits
        )
    return statuses


def rate_limit_health(*, user: Any) -> dict[str, Any]:
    """``healthy``, ``low`` (a budget under the reserve), ``exhausted`` (one at
    zero until its reset) or ``unknown`` (nothing sampled yet), with reasons."""
    samples = rate_limit_list(user=user)
    if not samples:
        return {"status": "unknown", "reasons": ["no rate limit sampled yet"]}
    now, reserve = timezone.now(), settings.CODEQUEST_RATE_LIMIT_RESERVE
    exhausted, low = [], []
    for sample in samples:
        if sample.reset_at is not None and sample.reset_at <= now:
            continue  # already reset: whatever it said is over
        floor = min(reserve, sample.limit // 10)
        what = (
            f"{sample.provider} {sample.resource} budget {sample.token_fingerprint}: "
            f"{sample.remaining} of {sample.limit} left"
        )
        until = f" until {sample.reset_at:%H:%M} UTC" if sample.reset_at else ""
        if sample.remaining == 0:
            exhausted.append(f"{what}{until}")
        elif sample.remaining < floor:
            low.append(f"{what} (reserve {floor}){until}")
    status = "exhausted" if exhausted else "low" if low else "healthy"
    return {
        "status": status,
        "reasons": exhausted + low,
        "sampled_at": max(sample.sampled_at for sample in samples),
    }


def _budgets(user: Any) -> list[tuple[str, ConnectedRepository]]:
    """One repository per budget, by fingerprint."""
    budgets: dict[str, ConnectedRepository] = {}
    repositories = (
        repositories_visible_to(user)
        .filter(is_active=True)
        .select_related("credential")
        .order_by("pk")
    )
    for repository in repositories:
        if repository.credential_id is None and repository.installation_id is None:
            continue
        budgets.setdefault(token_fingerprint(repository), repository)
        if len(budgets) >= MOST_BUDGETS:
            break
    return sorted(budgets.items())
