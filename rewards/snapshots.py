"""Daily trend snapshots: each repository's and each team's review health on
one day, kept two years, for trend arrows and sparklines (``GET
/api/v1/snapshots/``). Taken by beat once a day; taking a day again replaces it.
A fixed number of queries whatever the number of repositories."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from integrations.models import ConnectedRepository
from reviews.models import PullRequest, PullState, Review, ReviewRequest
from reviews.stats import first_review_hours, percentiles
from rewards.models import PointsEntry, TrendSnapshot

KEEP_DAYS = 730
STUCK_AFTER = timedelta(days=3)
FIRST_REVIEW_WINDOW = timedelta(days=7)
COUNTS = ("open_pulls", "waiting_requests", "stuck_pulls", "reviews", "points")


def snapshots_take(*, day: date | None = None, now: datetime | None = None) -> int:
    """Snapshot ``day`` (default: yesterday, UTC) for every active repository and
    every team that has one; older than two years is dropped. How many rows."""
    now = now or timezone.now()
    day = day or (now - timedelta(days=1)).date()
    start = datetime.combine(day, time.min, UTC)
    end = start + timedelta(days=1)
    owners = dict(
        ConnectedRepository.objects.filter(is_active=True).values_list(
            "pk", "organization_id"
        )
    )
    ids = list(owners)
    counts = _counts(ids, start, end, now)
    hours = first_review_hours(
        repository_ids=ids, since=end - FIRST_REVIEW_WINDOW, until=end
    )
    rows = [_row(day, counts, hours, repository=pk) for pk in ids]
    for team, members in _by_team(owners).items():
        pooled = {
            name: sum(counts[name].get(pk, 0) for pk in members) for name in COUNTS
        }
        team_hours = [value for pk in members for value in hours.get(pk, [])]
        rows.append(_snapshot(day, pooled, team_hours, organization_id=team))
    with transaction.atomic():
        TrendSnapshot.objects.filter(day=day).delete()
        TrendSnapshot.objects.bulk_create(rows)
        TrendSnapshot.objects.filter(day__lt=day - timedelta(days=KEEP_DAYS)).delete()
    return len(rows)


def _counts(
    ids: list[int], start: datetime, end: datetime, now: datetime
) -> dict[str, dict[int, int]]:
    """Each figure per repository id, one grouped query each."""
    open_pulls = PullRequest.objects.filter(repository_id__in=ids, state=PullState.OPEN)
    return {
        "open_pulls": _grouped(open_pulls, "repository_id"),
        "stuck_pulls": _grouped(
            open_pulls.exclude(draft=True).filter(
                provider_updated_at__lt=now - STUCK_AFTER
            ),
            "repository_id",
        ),
        "waiting_requests": _grouped(
            ReviewRequest.objects.filter(
                pull_request__repository_id__in=ids,
                pull_request__state=PullState.OPEN,
                is_active=True,
                responded_at__isnull=True,
            ),
            "pull_request__repository_id",
        ),
        "reviews": _grouped(
            Review.objects.filter(
                pull_request__repository_id__in=ids,
                submitted_at__gte=start,
                submitted_at__lt=end,
            ),
            "pull_request__repository_id",
        ),
        "points": dict(
            PointsEntry.objects.filter(
                repository_id__in=ids, earned_at__gte=start, earned_at__lt=end
            )
            .values("repository_id")
            .annotate(total=Sum("points"))
            .values_list("repository_id", "total")
        ),
    }


def _grouped(queryset, field: str) -> dict[int, int]:
    return dict(
        queryset.values(field).annotate(total=Count("pk")).values_list(field, "total")
    )


def _by_team(owners: dict[int, int | None]) -> dict[int, list[int]]:
    teams: dict[int, list[int]] = defaultdict(list)
    for repository, team in owners.items():
        if team is not None:
            teams[team].append(repository)
    return teams


def _row(day, counts, hours, *, repository: int) -> TrendSnapshot:
    figures = {name: counts[name].get(repository, 0) for name in COUNTS}
    return _snapshot(day, figures, hours.get(repository, []), repository_id=repository)


def _snapshot(day: date, figures: dict, hours: list[float], **owner) -> TrendSnapshot:
    spread = percentiles(hours)
    return TrendSnapshot(
        day=day,
        median_first_review_hours=spread.median,
        p75_first_review_hours=spread.p75,
        **figures,
        **owner,
    )
