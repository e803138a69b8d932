"""Points per person over a stretch of time, from the daily totals and the
recent ledger lines (README "Instant boards").

Whole UTC days that are past the provisional hold are read from ``PointsDay``
(kept by the database alongside the ledger: one row per login, team and day),
so an all-time board costs people × days, not ledger lines. The rest — the
partial first and last day of a period and the days still within the hold,
whose lines may be provisional — is read from the lines themselves, an index
range on ``earned_at``. ``scope`` filters both the same way: on ``identity``
and ``organization``, the fields the two tables share.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum, Value
from django.utils import timezone

from reviews.models import PullState
from rewards.models import PointsDay, PointsEntry, PointsRule

Totals = dict[int, list[int]]  # identity -> [confirmed, pending, review sessions]


def points_totals(
    *,
    scope: Q,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Totals:
    """Confirmed points, provisional points and paid review sessions per login
    for lines in ``scope`` earned in [since, until): two queries."""
    now = now or timezone.now()
    hold = settings.REWARDS_HOLD_DAYS
    cutoff = now - timedelta(days=hold) if hold > 0 else now
    first = _midnight(since, up=True) if since else None
    last = _midnight(cutoff, up=False)
    if until is not None:
        last = min(last, _midnight(until, up=False))
    totals: Totals = {}
    if first is None or first < last:
        days = PointsDay.objects.filter(scope, day__lt=last.date())
        if first is not None:
            days = days.filter(day__gte=first.date())
        for identity, points, sessions in (
            days.values("identity")
            .annotate(points=Sum("points"), sessions=Sum("sessions"))
            .values_list("identity", "points", "sessions")
        ):
            totals[identity] = [points or 0, 0, sessions or 0]
        recent = Q(earned_at__gte=last)
        lines = PointsEntry.objects.filter(
            scope, recent | Q(earned_at__lt=first) if first else recent
        )
    else:
        lines = PointsEntry.objects.filter(scope)
    if since is not None:
        lines = lines.filter(earned_at__gte=since)
    if until is not None:
        lines = lines.filter(earned_at__lt=until)
    _add_lines(totals, lines, cutoff, hold)
    return totals


def _add_lines(
    totals: Totals, lines: QuerySet[PointsEntry], cutoff: datetime, hold: int
) -> None:
    """The lines' points, split into confirmed (their pull request finished,
    or none, or past the hold) and provisional."""
    confirmed = Q(pull_request__state__in=[PullState.MERGED, PullState.CLOSED]) | Q(
        pull_request__isnull=True
    )
    if hold > 0:
        confirmed |= Q(earned_at__lt=cutoff)
    session = PointsRule.objects.filter(key="review_session").values("pk")[:1]
    sums = {"total": Sum("points"), "pending": Value(0)}  # no hold: all confirmed
    if hold > 0:
        sums = {
            "total": Sum("points", filter=confirmed),
            "pending": Sum("points", filter=~confirmed),
        }
    rows = (
        lines.values("identity")
        .annotate(
            **sums,
            sessions=Count("id", filter=Q(rule_id__in=session, points__gt=0)),
        )
        .values_list("identity", "total", "pending", "sessions")
    )
    for identity, total, pending, sessions in rows:
        counts = totals.setdefault(identity, [0, 0, 0])
        counts[0] += total or 0
        counts[1] += pending or 0
        counts[2] += sessions


def _midnight(moment: datetime, *, up: bool) -> datetime:
    """The UTC midnight at or after (``up``) or at or before ``moment``."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if up and day < moment:
        day += timedelta(days=1)
    return day
