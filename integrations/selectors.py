"""Read-side queries for integrations; every user-facing list is team-scoped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from integrations.budgets import token_fingerprint
from integrations.models import (
    AppInstallation,
    ConnectedRepository,
    IntegrationHealth,
    Organization,
    OrganizationMembership,
    RateLimitSample,
    SyncRun,
    TeamJoinRequest,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.providers import get_provider


def instance_webhook_secret(provider: str) -> str:
    """GITHUB_WEBHOOK_SECRET / GITLAB_WEBHOOK_SECRET ("" when not configured)."""
    return get_provider(provider).webhook_secret()


def webhook_endpoint_get(*, provider: str, public_id: str) -> WebhookEndpoint | None:
    if len(public_id) > 64:
        return None
    return (
        WebhookEndpoint.objects.select_related("repository")
        .filter(provider=provider, public_id=public_id, is_active=True)
        .first()
    )


def webhook_endpoint_ids(*, provider: str) -> set[str]:
    """The public ids of the provider's active hooks."""
    return set(
        WebhookEndpoint.objects.filter(provider=provider, is_active=True).values_list(
            "public_id", flat=True
        )
    )


def repositories_visible_to(user: Any) -> QuerySet[ConnectedRepository]:
    """Superusers see everything; everyone else only their teams' repositories."""
    queryset = ConnectedRepository.objects.all()
    if user.is_superuser:
        return queryset
    return queryset.filter(organization__memberships__user=user)


def installation_repositories_visible_to(
    user: Any, installations: Iterable[AppInstallation]
) -> QuerySet[ConnectedRepository]:
    """Active repositories of these installations that the person may see: their
    teams' ones, and those of installations they linked that no team owns yet.
    A repository that moved to another team is no longer theirs to see."""
    installations = list(installations)
    queryset = ConnectedRepository.objects.filter(
        installation_id__in=[item.installation_id for item in installations],
        is_active=True,
    )
    if user.is_superuser:
        return queryset
    linked = [
        item.installation_id for item in installations if item.linked_by_id == user.pk
    ]
    return queryset.filter(
        Q(organization__memberships__user=user)
        | Q(organization__isnull=True, installation_id__in=linked)
    ).distinct()


def organizations_of(user: Any) -> list[tuple[str, str]]:
    """(slug, name) of the teams a person belongs to; every team for superusers."""
    teams = Organization.objects.all()
    if not user.is_superuser:
        teams = teams.filter(memberships__user=user)
    return list(teams.order_by("name").values_list("slug", "name"))


def repository_list(*, user: Any, filters: dict[str, str]) -> QuerySet:
    queryset = repositories_visible_to(user).select_related("credential")
    if filters.get("provider"):
        queryset = queryset.filter(provider=filters["provider"])
    return queryset.order_by("provider", "full_name", "id")


def delivery_list(*, user: Any, filters: dict[str, str]) -> QuerySet:
    queryset = WebhookDelivery.objects.defer("body", "headers")
    if not user.is_superuser:
        queryset = queryset.filter(repository__in=repositories_visible_to(user))
    for field in ("provider", "event", "status", "delivery_id", "action"):
        if filters.get(field):
            queryset = queryset.filter(**{field: filters[field]})
    if filters.get("repository"):
        queryset = queryset.filter(repository_name=filters["repository"])
    return queryset.order_by("-received_at", "-id")


def repositories_with_health(queryset: QuerySet) -> QuerySet:
    """Each repository with its latest health check's status and reasons."""
    latest = IntegrationHealth.objects.filter(repository=OuterRef("pk")).order_by(
        "-checked_at", "-id"
    )
    return queryset.annotate(
        health_status=Subquery(latest.values("status")[:1]),
        health_reasons=Subquery(latest.values("reasons")[:1]),
    )


def sync_run_list(*, user: Any, filters: dict[str, str]) -> QuerySet:
    """Reconciliation history, newest first, team-scoped."""
    queryset = SyncRun.objects.select_related("repository").filter(
        repository__in=repositories_visible_to(user)
    )
    if filters.get("repository"):
        queryset = queryset.filter(repository__full_name=filters["repository"])
    if filters.get("provider"):
        queryset = queryset.filter(repository__provider=filters["provider"])
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    return queryset.order_by("-started_at", "-id")


def rate_limit_list(*, user: Any) -> list[RateLimitSample]:
    """The latest sample per token and resource the person's repositories use."""
    fingerprints = {
        token_fingerprint(repository)
        for repository in repositories_visible_to(user).only(
            "installation_id", "credential_id"
        )
    }
    latest = (
        RateLimitSample.objects.filter(token_fingerprint__in=fingerprints)
        .values("token_fingerprint", "resource")
        .annotate(newest=Max("id"))
        .values_list("newest", flat=True)
    )
    return list(
        RateLimitSample.objects.filter(id__in=list(latest)).order_by(
            "token_fingerprint", "resource"
        )
    )


def webhook_health_get(*, provider: str) -> dict[str, Any]:
    """Delivery outcomes over the last hour for one provider (CONTRACT §3).

    A delivery still pending after the sweep age counts as a failure (a stopped
    worker must not read "healthy"), and the age of the oldest pending one is
    reported as ``queue_lag_seconds``.
    """
    now = timezone.now()
    since = now - timedelta(hours=1)
    stuck_before = now - timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
    recent = WebhookDelivery.objects.filter(provider=provider, received_at__gte=since)
    counts = recent.aggregate(
        total=Count("id"),
        failed=Count("id", filter=Q(status="failed")),
        stuck=Count("id", filter=Q(status="pending", received_at__lt=stuck_before)),
    )
    pending = WebhookDelivery.objects.filter(provider=provider, status="pending")
    oldest = pending.aggregate(oldest=Min("received_at"))["oldest"]
    last = WebhookDelivery.objects.filter(provider=provider).aggregate(
        last=Max("received_at")
    )["last"]
    total, failed = counts["total"], counts["failed"] + counts["stuck"]
    rate = 1.0 if total == 0 else round((total - failed) / total, 4)
    if rate >= 0.95:
        status = "healthy"
    elif rate >= 0.5:
        status = "degraded"
    else:
        status = "unhealthy"
    return {
        "status": status,
        "success_rate": rate,
        "total_events_last_hour": total,
        "failed_events_last_hour": failed,
        "last_event_at": last.isoformat() if last else None,
        "pending": pending.count(),
        "queue_lag_seconds": round((now - oldest).total_seconds(), 1)
        if oldest
        else 0.0,
    }


def organizations_administered(user: Any) -> QuerySet[Organization]:
    """The teams a person administers; every team for superusers."""
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(
        memberships__user=user, memberships__role=OrganizationMembership.Role.ADMIN
    )


def repository_manageable(user: Any, repository: ConnectedRepository) -> bool:
    """May this person change the repository (its hooks, settings, connection)?"""
    if user.is_superuser:
        return True
    return (
        repository.organization_id is not None
        and organizations_administered(user)
        .filter(pk=repository.organization_id)
        .exists()
    )


def webhook_config_list(*, user: Any, filters: dict[str, str]) -> QuerySet:
    """Our current hooks on the person's teams' repositories, each with the time
    of its latest delivery (one index probe per hook)."""
    latest = WebhookDelivery.objects.filter(hook=OuterRef("pk")).order_by(
        "-received_at"
    )
    queryset = (
        WebhookEndpoint.objects.filter(
            is_active=True, repository__in=repositories_visible_to(user)
        )
        .select_related("repository")
        .annotate(last_delivery_at=Subquery(latest.values("received_at")[:1]))
    )
    if filters.get("provider"):
        queryset = queryset.filter(provider=filters["provider"])
    if filters.get("repository"):
        queryset = queryset.filter(repository__full_name=filters["repository"])
    return queryset.order_by("provider", "repository__full_name", "id")


def delivery_stats(
    *, user: Any, since: datetime, filters: dict[str, str]
) -> list[dict[str, Any]]:
    """Deliveries received since a moment, per provider and event type, by outcome."""
    counted = {
        status: Count("id", filter=Q(status=status))
        for status in WebhookDelivery.Status.values
    }
    rows = (
        delivery_list(user=user, filters=filters)
        .filter(received_at__gte=since)
        .order_by()
        .values("provider", "event")
        .annotate(received=Count("id"), **counted)
    )
    return sorted(
        rows, key=lambda row: (-row["received"], row["provider"], row["event"])
    )


@dataclass(frozen=True, slots=True)
class RepositoryPage:
    """What a repository's page shows: the repository (with its latest health
    check), its hook, its recent sync runs and deliveries, and the verdict."""

    repository: ConnectedRepository
    hook: WebhookEndpoint | None
    sync_runs: list[SyncRun]
    deliveries: list[WebhookDelivery]
    status: str  # healthy | degraded | disconnected
    reasons: list[str]


def repository_page_get(
    *, user: Any, repository_id: int, recent: int = 15
) -> RepositoryPage | None:
    """One repository of the person's teams for its page, in five queries;
    ``None`` when it is not theirs to see (the page answers 404)."""
    repository = (
        repositories_with_health(
            repositories_visible_to(user).select_related("credential", "organization")
        )
        .filter(pk=repository_id)
        .first()
    )
    if repository is None:
        return None
    hook = repository.webhooks.filter(is_active=True).first()
    runs = list(repository.sync_runs.order_by("-started_at", "-id")[:recent])
    deliveries = list(
        WebhookDelivery.objects.filter(repository=repository)
        .defer("body", "headers")
        .order_by("-received_at", "-id")[:recent]
    )
    reads = [run for run in runs if run.kind in SyncRun.READ_KINDS]
    status, reasons = _repository_verdict(repository, hook, reads)
    return RepositoryPage(repository, hook, runs, deliveries, status, reasons)


def _repository_verdict(
    repository: ConnectedRepository,
    hook: WebhookEndpoint | None,
    runs: list[SyncRun],
) -> tuple[str, list[str]]:
    """Healthy, degraded or disconnected, with every reason in words."""
    if not repository.is_active:
        return "disconnected", [
            "Not followed: its webhook was removed and it is not synced. "
            "Reconnect to follow it again."
        ]
    reasons = [str(reason) for reason in (repository.health_reasons or [])]
    credential = repository.credential
    if credential is not None and credential.status != credential.Status.ACTIVE:
        reasons.append("The access token was refused by the provider: reconnect it.")
    if credential is None and repository.installation_id is None:
        reasons.append("No token of ours can read it: it is not synced.")
    if hook is None and repository.installation_id is None:
        reasons.append("No webhook: changes arrive only with the next sync.")
    elif hook is not None and not hook.is_enabled:
        reasons.append("The webhook is paused: changes arrive only with the next sync.")
    if repository.webhook_status == ConnectedRepository.WebhookStatus.DEGRADED:
        reasons.append("The webhook missed events that the last sync found.")
    if runs and runs[0].status == SyncRun.Status.FAILED:
        reasons.append(f"The last sync failed: {runs[0].error or 'no detail'}")
    reasons = list(dict.fromkeys(reasons))  # a health reason may repeat ours
    return ("degraded" if reasons else "healthy"), reasons


@dataclass(frozen=True, slots=True)
class TeamPage:
    team: Organization
    role: str  # the viewer's: admin | member
    memberships: list[OrganizationMembership]
    join_requests: list[TeamJoinRequest]  # pending; only for admins
    repositories: list[ConnectedRepository]


def teams_of(user: Any) -> list[tuple[Organization, str]]:
    """The person's teams with their role in each, by name."""
    memberships = OrganizationMembership.objects.filter(user=user).select_related(
        "organization"
    )
    return sorted(
        ((item.organization, item.role) for item in memberships),
        key=lambda pair: (pair[0].name.lower(), pair[0].pk),
    )


def join_requests_of(user: Any) -> list[TeamJoinRequest]:
    """The person's own requests still waiting for an admin."""
    return list(
        TeamJoinRequest.objects.filter(
            user=user, status=TeamJoinRequest.Status.PENDING
        ).select_related("organization")
    )


def team_page_get(*, user: Any, slug: str) -> TeamPage | None:
    """One of the person's teams for its page, in a fixed number of queries;
    ``None`` when they are not in it (superusers see every team as admins)."""
    membership = (
        OrganizationMembership.objects.filter(user=user, organization__slug=slug)
        .select_related("organization__source_credential")
        .first()
    )
    if membership is not None:
        team, role = membership.organization, membership.role
    elif user.is_superuser:
        team = Organization.objects.filter(slug=slug).first()
        role = OrganizationMembership.Role.ADMIN
        if team is None:
            return None
    else:
        return None
    is_admin = role == OrganizationMembership.Role.ADMIN
    requests = (
        list(
            team.join_requests.filter(status=TeamJoinRequest.Status.PENDING)
            .select_related("user")
            .order_by("created_at", "pk")
        )
        if is_admin
        else []
    )
    return TeamPage(
        team=team,
        role=role,
        memberships=list(
            team.memberships.select_related("user").order_by(
                "role", "user__username", "pk"
            )
        ),
        join_requests=requests,
        repositories=list(team.repositories.order_by("provider", "full_name", "pk")),
    )


def team_by_invite(token: str) -> Organization | None:
    """The team an invite link names (``None`` for a wrong or reset one)."""
    if not token or len(token) > 64:
        return None
    return Organization.objects.filter(invite_token=token).first()
