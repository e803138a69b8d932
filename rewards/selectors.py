"""Leaderboard and points history, scoped to the person's teams."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum, Value
from django.utils import timezone

from integrations.selectors import repositories_visible_to
from reviews.models import ProviderIdentity, PullState
from reviews.selectors import member_label
from rewards.models import PointsEntry, Season

PERIODS = {
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "season": None,
    "all": None,
}


class NoSeasonError(LookupError):
    """period=season asked for, but the team has no season running."""


def points_entries_visible_to(user: Any) -> QuerySet[PointsEntry]:
    queryset = PointsEntry.objects.all()
    if user.is_superuser:
        return queryset
    return queryset.filter(pull_request__repository__in=repositories_visible_to(user))


def confirmed_q(now: datetime | None = None) -> Q:
    """Lines that count: no pull request, a finished one, or older than the hold."""
    hold = settings.REWARDS_HOLD_DAYS
    if hold <= 0:
        return Q()
    now = now or timezone.now()
    return (
        Q(pull_request__isnull=True)
        | Q(pull_request__state__in=[PullState.MERGED, PullState.CLOSED])
        | Q(earned_at__lt=now - timedelta(days=hold))
    )


def season_current(*, user: Any, team: str = "") -> Season | None:
    """The running season of ``team`` (or of any of the person's teams)."""
    now = timezone.now()
    seasons = Season.objects.filter(starts_at__lte=now, ends_at__gt=now)
    if team:
        seasons = seasons.filter(organization__slug=team)
    if not user.is_superuser:
        seasons = seasons.filter(organization__memberships__user=user)
    return seasons.select_related("organization").order_by("-starts_at").first()


def leaderboard_list(*, user: Any, period: str = "all", team: str = "") -> list[dict]:
    """Points and reviews per person (linked identities count together).

    ``points`` is confirmed credit; ``provisional`` is review credit waiting for
    its pull request to be merged or closed. Ranked by confirmed points.
    """
    entries = _in_period(points_entries_visible_to(user), user, period, team)
    if team:
        entries = entries.filter(pull_request__repository__organization__slug=team)
    confirmed = confirmed_q()
    rows = entries.values("identity").annotate(
        total=Sum("points", filter=confirmed or None),
        pending=Sum("points", filter=~confirmed) if confirmed else Value(0),
        sessions=Count("id", filter=Q(rule__key="review_session", points__gt=0)),
    )
    totals = {row["identity"]: row for row in rows}
    identities = ProviderIdentity.objects.select_related("member__user").in_bulk(
        list(totals)
    )
    people: dict[str, dict] = {}
    for identity_id, row in totals.items():
        identity = identities[identity_id]
        label = member_label(identity)
        person = people.setdefault(
            label,
            {
                "member": label,
                "identities": [],
                "points": 0,
                "provisional": 0,
                "reviews": 0,
            },
        )
        person["identities"].append(f"{identity.provider}:{identity.login}")
        person["points"] += row["total"] or 0
        person["provisional"] += row["pending"] or 0
        person["reviews"] += row["sessions"]
    board = sorted(people.values(), key=lambda row: (-row["points"], row["member"]))
    for row in board:
        row["identities"].sort()
    return board


def _in_period(
    entries: QuerySet[PointsEntry], user: Any, period: str, team: str
) -> QuerySet[PointsEntry]:
    if period == "season":
        season = season_current(user=user, team=team)
        if season is None:
            raise NoSeasonError("no season is running for this team")
        return entries.filter(
            earned_at__gte=season.starts_at,
            earned_at__lt=season.ends_at,
            pull_request__repository__organization=season.organization,
        )
    since = PERIODS[period]
    if since is None:
        return entries
    return entries.filter(earned_at__gte=timezone.now() - since)


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


def entry_is_provisional(entry: PointsEntry, now: datetime | None = None) -> bool:
    """The same rule as confirmed_q, for one line already loaded."""
    hold = settings.REWARDS_HOLD_DAYS
    if hold <= 0 or entry.pull_request is None:
        return False
    now = now or timezone.now()
    finished = entry.pull_request.state in (PullState.MERGED, PullState.CLOSED)
    return not finished and entry.earned_at >= now - timedelta(days=hold)


def my_points_summary(*, user: Any, identities: list) -> dict:
    """Confirmed and provisional totals, this week's points and recent lines."""
    if not identities:
        return {"points": 0, "provisional": 0, "week": 0, "recent": []}
    mine = points_entries_visible_to(user).filter(identity__in=identities)
    confirmed = confirmed_q()
    week_ago = timezone.now() - timedelta(days=7)
    # Aliases must differ from the field name ("points") or Django refuses.
    totals = mine.aggregate(
        confirmed_total=Sum("points", filter=confirmed or None),
        pending_total=Sum("points", filter=~confirmed) if confirmed else Value(0),
        week_total=Sum("points", filter=Q(earned_at__gte=week_ago)),
    )
    recent = list(
        mine.select_related("pull_request__repository", "rule").order_by(
            "-earned_at", "-id"
        )[:8]
    )
    return {
        "points": totals["confirmed_total"] or 0,
        "provisional": totals["pending_total"] or 0,
        "week": totals["week_total"] or 0,
        "recent": [(entry, entry_is_provisional(entry)) for entry in recent],
    }
