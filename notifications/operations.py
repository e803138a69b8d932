"""Operations messages (README "Notifications"): a connection the provider
refused, told to whoever can reconnect it, and an integration that turned
unhealthy (or recovered), told to the team's admins.

Found from the stored state like every other message: the credentials marked
*needs reconnect* and the health checks whose status differs from the check
before. Each is told once: the outbox key names the credential and when it was
refused, or the health check.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from integrations.models import (
    HealthStatus,
    IntegrationHealth,
    OrganizationMembership,
    ProviderCredential,
)
from notifications.models import Kind, Notification
from notifications.services import Message, person_rows, settings_of

RECENT = timedelta(hours=24)


def operations_notify(*, now: datetime | None = None) -> int:
    """Write the operations messages due; returns how many rows were written."""
    now = now or timezone.now()
    messages: list[tuple[Any, str, Message]] = []  # (person, key, message)
    admins = _TeamAdmins()
    for credential in ProviderCredential.objects.filter(
        status=ProviderCredential.Status.NEEDS_RECONNECT,
        updated_at__gte=now - RECENT,
    ).select_related("user", "organization"):
        message = _reconnect(credential)
        key = f"reconnect:{credential.pk}:{credential.updated_at.timestamp():.6f}"
        if credential.user is not None:
            people = [credential.user]  # their own grant: only they can renew it
        else:
            people = admins.of(credential.organization_id)
        messages += [(person, key, message) for person in people]
    for check in _health_changes(now):
        message = _health(check)
        for person in admins.of(check.repository.organization_id):
            messages.append((person, f"health:{check.pk}", message))
    if not messages:
        return 0
    told = set(
        Notification.objects.filter(
            key__in={key for _, key, _ in messages}
        ).values_list("key", "recipient_id")
    )
    choices = settings_of([person for person, _, _ in messages])
    rows = []
    for person, key, message in messages:
        if (key, person.pk) in told or not person.is_active:
            continue
        told.add((key, person.pk))
        rows += person_rows(
            person,
            Kind.OPERATIONS,
            key,
            message,
            now,
            choice=choices.get(person.pk),
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


class _TeamAdmins:
    """The active admins of each team, read once per team."""

    def __init__(self) -> None:
        self.known: dict[int, list[Any]] = {}

    def of(self, team_id: int | None) -> list[Any]:
        if team_id is None:
            return []
        if team_id not in self.known:
            found: dict[int, list[Any]] = defaultdict(list)
            for membership in OrganizationMembership.objects.filter(
                organization_id=team_id,
                role=OrganizationMembership.Role.ADMIN,
                user__is_active=True,
            ).select_related("user"):
                found[team_id].append(membership.user)
            self.known[team_id] = found[team_id]
        return self.known[team_id]


def _health_changes(now: datetime) -> list[IntegrationHealth]:
    """Recent checks that turned a repository unhealthy, or ended it being so
    (a change between healthy and degraded shows on its page only)."""
    before = (
        IntegrationHealth.objects.filter(repository=OuterRef("repository"))
        .filter(
            Q(checked_at__lt=OuterRef("checked_at"))
            | Q(checked_at=OuterRef("checked_at"), pk__lt=OuterRef("pk"))
        )
        .order_by("-checked_at", "-pk")
        .values("status")[:1]
    )
    unhealthy = HealthStatus.UNHEALTHY
    return list(
        IntegrationHealth.objects.filter(
            checked_at__gte=now - RECENT,
            repository__is_active=True,
            repository__organization__isnull=False,
        )
        .annotate(before=Subquery(before))
        .filter(
            (Q(status=unhealthy) & (~Q(before=unhealthy) | Q(before__isnull=True)))
            | (Q(before=unhealthy) & ~Q(status=unhealthy))
        )
        .select_related("repository")
        .order_by("checked_at", "pk")
    )


def _dashboard(path: str) -> str:
    return f"{settings.PUBLIC_URL.rstrip('/')}{path}"


def _reconnect(credential: ProviderCredential) -> Message:
    provider = credential.get_provider_display()
    whose = f"@{credential.account_login}'s" if credential.account_login else "the"
    what = credential.label or credential.get_kind_display()
    return Message(
        subject=f"Reconnect {provider}: {whose} connection was refused"[:300],
        body="\n".join(
            [
                f"{provider} refused {whose} connection ({what}), "
                "so CodeQuest cannot read or update the repositories that use "
                "it. Webhooks are still received; reconciliation and reviewer "
                "requests through it wait.",
                "",
                f"Reconnect {provider} on the dashboard: {_dashboard('/dashboard/')}",
            ]
        ),
        url=_dashboard("/dashboard/"),
    )


def _health(check: IntegrationHealth) -> Message:
    repository = check.repository
    page = _dashboard(f"/dashboard/repositories/{repository.pk}/")
    if check.status == HealthStatus.UNHEALTHY:
        reasons = "\n".join(f"- {reason}" for reason in check.reasons) or "- unknown"
        return Message(
            subject=f"{repository.full_name} is unhealthy"[:300],
            body=f"The integration of {repository.full_name} turned unhealthy at "
            f"{check.checked_at:%a %d %b, %H:%M} (UTC):\n{reasons}\n\n"
            f"What was checked, and what to do: {page}",
            url=page,
        )
    return Message(
        subject=f"{repository.full_name} is {check.status} again"[:300],
        body=f"The integration of {repository.full_name} is {check.status} again "
        f"since {check.checked_at:%a %d %b, %H:%M} (UTC).\n\n{page}",
        url=page,
    )
