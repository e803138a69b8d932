"""Points per person over a stretch of time, from the daily totals and the
recent ledger lines (README "Instant boards").

Whole UTC days are read from ``PointsDay`` (kept by the database alongside
the ledger: one row per login, team and day), so an all-time board costs
people × days, not ledger lines. Only the partial first and last day of a
period, and the lines still provisional (inside the hold, their pull request
open), are read from the ledger. ``scope`` filters both the same way: on ``identity``
and ``organization``, the fields the two tables share.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from reviews.models import PullRequest, PullState
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
    for lines in ``scope`` earned in [since, until): at most three queries,
    none of them a scan of the ledger.

    Whole days come from the daily totals (today's too: the triggers keep it
    current), a partial first or last day from its lines, and what is still
    provisional — lines inside the hold on pull requests not yet merged or
    closed, a small share — is read on its own and moved from confirmed to
    provisional.
    """
    now = now or timezone.now()
    first = _midnight(since, up=True) if since else None
    last = _midnight(until, up=False) if until else None
    totals: Totals = {}
    if first is not None and last is not None and first >= last:
        _add_lines(totals, PointsEntry.objects.filter(scope, _between(since, until)))
    else:
        days = PointsDay.objects.filter(scope)
        if first is not None:
            days = days.filter(day__gte=first.date())
        if last is not None:
            days = days.filter(day__lt=last.date())
        for identity, points, sessions in (
            days.values("identity")
            .annotate(total=Sum("points"), paid=Sum("sessions"))
            .values_list("identity", "total", "paid")
        ):
            totals[identity] = [points or 0, 0, sessions or 0]
        partial = [  # the partial first and last day
            _between(start, end)
            for start, end in ((since, first), (last, until))
            if start is not None and end is not None and start < end
        ]
        if partial:
            lines = PointsEntry.objects.filter(scope).filter(reduce(or_, partial))
            _add_lines(totals, lines)
    _move_provisional(totals, scope, since, until, now)
    return totals


def _between(start: datetime | None, end: datetime | None) -> Q:
    window = Q()
    if start is not None:
        window &= Q(earned_at__gte=start)
    if end is not None:
        window &= Q(earned_at__lt=end)
    return window


def _add_lines(totals: Totals, lines: QuerySet[PointsEntry]) -> None:
    """The lines' points and paid review sessions, all counted as confirmed
    (``_move_provisional`` takes out what is not)."""
    session = PointsRule.objects.filter(key="review_session").values("pk")[:1]
    for identity, points, sessions in (
        lines.values("identity")
        .annotate(
            total=Sum("points"),
            paid=Count("id", filter=Q(rule_id__in=session, points__gt=0)),
        )
        .values_list("identity", "total", "paid")
    ):
        counts = totals.setdefault(identity, [0, 0, 0])
        counts[0] += points or 0
        counts[2] += sessions


def _move_provisional(
    totals: Totals,
    scope: Q,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> None:
    """Points for review work stay provisional until their pull request is
    merged or closed, for at most the hold: one query over those lines only."""
    hold = settings.REWARDS_HOLD_DAYS
    if hold <= 0:
        return
    start = now - timedelta(days=hold)
    if since is not None:
        start = max(start, since)
    if until is not None and until <= start:
        return
    # Open pull requests are few: the lines are found from them (an index on
    # state, then on the line's pull request), not by reading the window.
    pending = PointsEntry.objects.filter(
        scope,
        _between(start, until),
        pull_request__in=PullRequest.objects.filter(state=PullState.OPEN).values("pk"),
    )
    for identity, points in (
        pending.values("identity")
        .annotate(total=Sum("points"))
        .values_list("identity", "total")
    ):
        counts = totals.setdefault(identity, [0, 0, 0])
        counts[0] -= points or 0
        counts[1] += points or 0


def _midnight(moment: datetime, *, up: bool) -> datetime:
    """The UTC midnight at or after (``up``) or at or before ``moment``."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if up and day < moment:
        day += timedelta(days=1)
    return day
