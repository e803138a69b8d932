"""Leaderboard and points history, scoped to the person's teams."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from integrations.selectors import repositories_visible_to
from reviews.models import ProviderIdentity
from reviews.selectors import member_label
from rewards.models import PointsEntry

PERIODS = {"week": timedelta(days=7), "month": timedelta(days=30), "all": None}


def points_entries_visible_to(user: Any) -> QuerySet[PointsEntry]:
    queryset = PointsEntry.objects.all()
    if user.is_superuser:
        return queryset
    return queryset.filter(pull_request__repository__in=repositories_visible_to(user))


def leaderboard_list(*, user: Any, period: str = "all", team: str = "") -> list[dict]:
    """Points and reviews per person (linked identities count together)."""
    entries = points_entries_visible_to(user)
    since = PERIODS[period]
    if since is not None:
        entries = entries.filter(created_at__gte=timezone.now() - since)
    if team:
        entries = entries.filter(pull_request__repository__organization__slug=team)
    rows = entries.values("identity").annotate(
        total=Sum("points"),
        sessions=Count("id", filter=Q(rule__key="review_session", points__gt=0)),
    )
    totals = {row["identity"]: row for row in rows}
    identities = ProviderIdentity.objects.select_related("member__user").in_bulk(
        list(totals)
    )
    people: dict[str, dict] = {}
    for identity_id, row in totals.items():
        identity = identities[identity_id]
        person = people.setdefault(
            member_label(identity),
            {
                "member": member_label(identity),
                "identities": [],
                "points": 0,
                "reviews": 0,
            },
        )
        person["identities"].append(f"{identity.provider}:{identity.login}")
        person["points"] += row["total"] or 0
        person["reviews"] += row["sessions"]
    board = sorted(people.values(), key=lambda row: (-row["points"], row["member"]))
    for row in board:
        row["identities"].sort()
    return board


def points_list(*, user: Any, member: str = "") -> QuerySet[PointsEntry]:
    """The ledger, newest first; ``member`` is a username or provider:login."""
    entries = points_entries_visible_to(user).select_related(
        "identity__member__user", "pull_request__repository"
    )
    if member:
        provider, _, login = member.partition(":")
        if login:
            entries = entries.filter(identity__provider=provider, identity__login=login)
        else:
            entries = entries.filter(identity__member__user__username=member)
    return entries.order_by("-created_at", "-id")
