"""People and their provider logins: who "me" is on the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone as dj_timezone

from reviews.models import AvailabilityWindow, Member, ProviderIdentity, ReviewerProfile


@transaction.atomic
def identity_link(
    *, user: Any, provider: str, host: str, login: str, external_id: str = ""
) -> ProviderIdentity:
    """Link a provider login to the person signed in (creating the person once).

    Called when someone connects GitHub or GitLab: from then on their review
    requests, points and settings follow them across identities.
    """
    member = Member.objects.filter(user=user).first()
    if member is None:
        member = Member.objects.create(
            user=user, display_name=user.get_full_name() or user.get_username()
        )
    identity, _ = ProviderIdentity.objects.get_or_create(
        provider=provider, host=host, login=login
    )
    updates = {"member": member}
    if external_id and not identity.external_id:
        updates["external_id"] = external_id
    ProviderIdentity.objects.filter(pk=identity.pk).update(**updates)
    identity.refresh_from_db()
    return identity


def identity_owner_conflicts(
    *, user: Any, provider: str, host: str, login: str
) -> bool:
    """Whether that login is already linked to a person other than ``user``."""
    return (
        ProviderIdentity.objects.filter(
            provider=provider, host=host, login=login, member__user__isnull=False
        )
        .exclude(member__user=user)
        .exists()
    )


@transaction.atomic
def reviewer_settings_save(
    *,
    identities: list[ProviderIdentity],
    timezone: str,
    workday_start_hour: int,
    workday_end_hour: int,
    capacity: int,
) -> None:
    """The same working hours and capacity for every login of the person."""
    for identity in identities:
        ReviewerProfile.objects.update_or_create(
            identity=identity,
            defaults={
                "timezone": timezone,
                "workday_start_hour": workday_start_hour,
                "workday_end_hour": workday_end_hour,
                "capacity": capacity,
            },
        )


@transaction.atomic
def away_add(
    *,
    identities: list[ProviderIdentity],
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
) -> None:
    """Time away on every login; adding the same window twice keeps one."""
    for identity in identities:
        AvailabilityWindow.objects.get_or_create(
            identity=identity,
            starts_at=starts_at,
            ends_at=ends_at,
            defaults={"note": note},
        )


def away_list(*, identities: list[ProviderIdentity]) -> list[AvailabilityWindow]:
    """Current and future time away, one row per window (not per login)."""
    rows = AvailabilityWindow.objects.filter(
        identity__in=identities, ends_at__gt=dj_timezone.now()
    ).order_by("starts_at", "id")
    unique: dict[tuple, AvailabilityWindow] = {}
    for row in rows:
        unique.setdefault((row.starts_at, row.ends_at), row)
    return list(unique.values())


def away_delete(*, identities: list[ProviderIdentity], window_id: int) -> bool:
    """Remove a window (on all the person's logins); False if it is not theirs."""
    window = AvailabilityWindow.objects.filter(
        pk=window_id, identity__in=identities
    ).first()
    if window is None:
        return False
    AvailabilityWindow.objects.filter(
        identity__in=identities, starts_at=window.starts_at, ends_at=window.ends_at
    ).delete()
    return True
