"""Team review statistics, in business hours, for the dashboard.

- time to first review (pickup): PR ready for review (opened, unless it was a
  draft) -> first review by someone else, not a bot;
- review time: first review -> merge;
- request turnaround: review requested -> that reviewer's first answer;
- approve-without-comment rate: approvals with no body and no inline comment;
- share of merged pull requests that had a review by someone other than the author;
- a weekly trend of the median time to first review, and review load per person.

A fixed number of queries whatever the team's size; the rows are bounded by
the window (default 28 days, trend 8 weeks). Results are cached briefly
(``STATS_CACHE_SECONDS``) because they only move as reviews arrive.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from integrations.models import OrganizationMembership
from integrations.selectors import repositories_visible_to
from reviews.bots import bot_logins
from reviews.business_time import business_hours_between
from reviews.models import Comment, PullRequest, PullState, Review, ReviewRequest

STATS_CACHE_SECONDS = 300
TREND_WEEKS = 8


@dataclass
class Percentiles:
    median: float | None = None
    p75: float | None = None
    count: int = 0


@dataclass
class TeamStats:
    days: int
    time_to_first_review: Percentiles
    review_time: Percentiles
    request_turnaround: Percentiles
    approvals: int = 0
    approvals_without_comment: int = 0
    merged: int = 0
    merged_reviewed: int = 0
    trend: list[tuple[str, float | None]] = field(default_factory=list)
    load: list[tuple[str, int, int]] = field(default_factory=list)  # login, open, done
    # Fewer than SMALL_GROUP people in scope: nothing is shown per person.
    per_person_hidden: bool = False

    @property
    def approve_without_comment_rate(self) -> float | None:
        return (
            self.approvals_without_comment / self.approvals if self.approvals else None
        )

    @property
    def share_reviewed(self) -> float | None:
        return self.merged_reviewed / self.merged if self.merged else None


def team_stats(*, user: Any, team: str = "", days: int = 28) -> TeamStats:
    """Statistics over the person's visible repositories (one team if given)."""
    key = f"team-stats:{user.pk}:{team}:{days}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    stats = _compute(_repositories(user, team), days, timezone.now())
    if _group_size(user, team) < SMALL_GROUP:
        stats.load, stats.per_person_hidden = [], True
    cache.set(key, stats, STATS_CACHE_SECONDS)
    return stats


SMALL_GROUP = 5  # README "Privacy": a smaller group is not shown per person


def _group_size(user: Any, team: str) -> int:
    """How many people the statistics are about: the team's members (all the
    person's teams' when none is chosen)."""
    teams = OrganizationMembership.objects.filter(user=user).values("organization")
    memberships = OrganizationMembership.objects.filter(organization__in=teams)
    if team:
        memberships = memberships.filter(organization__slug=team)
    return memberships.values("user").distinct().count()


def _repositories(user: Any, team: str) -> QuerySet:
    repositories = repositories_visible_to(user)
    if team:
        repositories = repositories.filter(organization__slug=team)
    return repositories


def _compute(repositories: QuerySet, days: int, now: datetime) -> TeamStats:
    since = now - timedelta(days=days)
    trend_since = now - timedelta(weeks=TREND_WEEKS)
    first_reviews = _first_reviews(repositories, min(since, trend_since))
    pickup = [
        (created, business_hours_between(created, first))
        for created, first, _ in first_reviews
        if first is not None
    ]
    stats = TeamStats(
        days=days,
        time_to_first_review=_percentiles(
            [hours for created, hours in pickup if created >= since]
        ),
        review_time=_percentiles(
            [
                business_hours_between(first, merged)
                for created, first, merged in first_reviews
                if first is not None and merged is not None and created >= since
            ]
        ),
        request_turnaround=_percentiles(_turnarounds(repositories, since)),
        trend=_trend(pickup, now),
        load=_load(repositories, since),
    )
    _approvals(stats, repositories, since)
    _merged(stats, repositories, since)
    return stats


class Epoch(Func):
    """Seconds since 1970 as a float: thousands of rows load far faster than
    timestamps, which psycopg parses from text one by one."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::float8"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        # The development database (make run): Julian days to Unix seconds.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def _moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _first_reviews(repositories: QuerySet, since: datetime) -> list[tuple]:
    """(ready for review, first review by someone else, merged) per PR opened
    since; a draft never made ready is not waiting for anyone yet."""
    rows = (
        _ready(PullRequest.objects.filter(repository__in=repositories))
        .filter(provider_created_at__gte=since)
        .annotate(first_review_at=_first_review())
        .values_list(Epoch("ready"), Epoch("first_review_at"), Epoch("merged_at"))
    )
    return [tuple(_moment(value) for value in row) for row in rows]


def first_review_hours(
    *, repository_ids: list[int], since: datetime, until: datetime
) -> dict[int, list[float]]:
    """Per repository, the business hours from opening to the first review by
    someone else, of pull requests opened in [since, until) that have one."""
    rows = (
        _ready(PullRequest.objects.filter(repository_id__in=repository_ids))
        .filter(provider_created_at__gte=since, provider_created_at__lt=until)
        .annotate(first_review_at=_first_review())
        .filter(first_review_at__isnull=False)
        .values_list("repository_id", Epoch("ready"), Epoch("first_review_at"))
    )
    hours: dict[int, list[float]] = {}
    for repository_id, opened, reviewed in rows:
        hours.setdefault(repository_id, []).append(
            business_hours_between(_moment(opened), _moment(reviewed))
        )
    return hours


@dataclass(frozen=True)
class FirstReview:
    pull_id: int
    repository_id: int
    ready: datetime  # when its time to first review started
    reviewed_at: datetime | None  # the first review by someone else, not a bot
    reviewer: str  # who gave it ("" when nobody has)


def first_reviews(
    *, repository_ids: list[int], since: datetime, until: datetime
) -> list[FirstReview]:
    """Pull requests that became ready for review in [since, until), each with
    its first review by someone other than its author (not a bot); one query."""
    first = _first_review_of()
    rows = (
        _ready(PullRequest.objects.filter(repository_id__in=repository_ids))
        .filter(ready__gte=since, ready__lt=until)
        .annotate(
            first_review_at=Subquery(first.values("submitted_at")[:1]),
            first_reviewer=Subquery(first.values("reviewer_login")[:1]),
        )
        .values_list(
            "pk",
            "repository_id",
            Epoch("ready"),
            Epoch("first_review_at"),
            "first_reviewer",
        )
        .order_by("pk")
    )
    return [
        FirstReview(pk, repository, _moment(ready), _moment(reviewed), reviewer or "")  # type: ignore[arg-type]
        for pk, repository, ready, reviewed, reviewer in rows
    ]


def percentiles(values: list[float]) -> Percentiles:
    """Median and 75th percentile (and how many values)."""
    return _percentiles(values)


def _ready(pulls: QuerySet) -> QuerySet:
    """Pull requests with ``ready``: when the time to first review starts (the
    first moment seen ready for review; opened, when that was not kept), a
    second review round keeping the first one's start. Drafts never made ready
    are left out."""
    return pulls.exclude(draft=True, ready_at__isnull=True).annotate(
        ready=Coalesce("ready_at", "provider_created_at")
    )


def _first_review() -> Subquery:
    """When someone other than its author, and not a bot, first reviewed the
    pull request."""
    return Subquery(_first_review_of().values("submitted_at")[:1])


def _first_review_of() -> QuerySet:
    """The pull request's reviews by others than its author, not bots, first
    first."""
    return (
        Review.objects.filter(pull_request=OuterRef("pk"))
        .exclude(reviewer_login=OuterRef("author_login"))
        .exclude(reviewer_login__endswith="[bot]")
        .annotate(reviewer=Lower("reviewer_login"))
        .exclude(reviewer__in=bot_logins())
        .order_by("submitted_at", "pk")
    )


def _turnarounds(repositories: QuerySet, since: datetime) -> list[float]:
    rows = ReviewRequest.objects.filter(
        pull_request__repository__in=repositories,
        requested_at__gte=since,
        responded_at__isnull=False,
    ).values_list("requested_at", "responded_at")
    return [business_hours_between(asked, answered) for asked, answered in rows]


def _trend(pickup: list[tuple[datetime, float]], now: datetime) -> list:
    """Median time to first review per week, oldest week first."""
    weeks: dict[int, list[float]] = {index: [] for index in range(TREND_WEEKS)}
    for created, hours in pickup:
        index = (now - created).days // 7
        if index < TREND_WEEKS:
            weeks[index].append(hours)
    trend = []
    for index in reversed(range(TREND_WEEKS)):
        start = now - timedelta(weeks=index + 1)
        values = weeks[index]
        trend.append(
            (f"{start:%b} {start.day}", statistics.median(values) if values else None)
        )
    return trend


def _load(repositories: QuerySet, since: datetime) -> list[tuple[str, int, int]]:
    """(login, open review requests now, reviews done in the window), busiest first."""
    waiting = dict(
        ReviewRequest.objects.filter(
            pull_request__repository__in=repositories,
            pull_request__state=PullState.OPEN,
            is_active=True,
            responded_at__isnull=True,
        )
        .values_list("reviewer_login")
        .annotate(total=Count("id"))
        .order_by()
    )
    done = dict(
        Review.objects.filter(
            pull_request__repository__in=repositories, submitted_at__gte=since
        )
        .exclude(reviewer_login=F("pull_request__author_login"))
        .values_list("reviewer_login")
        .annotate(total=Count("id"))
        .order_by()
    )
    # Requests made of a team wait too (for whoever of it answers first).
    for full_name, teams in (
        PullRequest.objects.filter(repository__in=repositories, state=PullState.OPEN)
        .exclude(requested_teams=[])
        .values_list("repository__full_name", "requested_teams")
    ):
        owner = full_name.split("/", 1)[0]
        for slug in teams or ():
            team = slug if slug.startswith("@") else f"@{owner}/{slug}"
            waiting[team] = waiting.get(team, 0) + 1
    logins = set(waiting) | set(done)
    rows = [(login, waiting.get(login, 0), done.get(login, 0)) for login in logins]
    return sorted(rows, key=lambda row: (-(row[1] + row[2]), row[0]))[:20]


def _approvals(stats: TeamStats, repositories: QuerySet, since: datetime) -> None:
    inline = Comment.objects.filter(
        pull_request=OuterRef("pull_request"),
        review_external_id=OuterRef("external_id"),
        is_deleted=False,
    )
    counts = (
        Review.objects.filter(
            pull_request__repository__in=repositories,
            submitted_at__gte=since,
            state="approved",
        )
        .annotate(has_inline=Exists(inline))
        .aggregate(
            approvals=Count("id"),
            bare=Count("id", filter=Q(body="", has_inline=False)),
        )
    )
    stats.approvals = counts["approvals"]
    stats.approvals_without_comment = counts["bare"]


def _merged(stats: TeamStats, repositories: QuerySet, since: datetime) -> None:
    reviewed = Review.objects.filter(pull_request=OuterRef("pk")).exclude(
        reviewer_login=OuterRef("author_login")
    )
    counts = (
        PullRequest.objects.filter(
            repository__in=repositories, state=PullState.MERGED, merged_at__gte=since
        )
        .annotate(was_reviewed=Exists(reviewed))
        .aggregate(
            merged=Count("id"), reviewed=Count("id", filter=Q(was_reviewed=True))
        )
    )
    stats.merged = counts["merged"]
    stats.merged_reviewed = counts["reviewed"]


def _percentiles(values: list[float]) -> Percentiles:
    if not values:
        return Percentiles()
    ordered = sorted(values)
    if len(ordered) == 1:
        return Percentiles(ordered[0], ordered[0], 1)
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive")
    return Percentiles(statistics.median(ordered), quartiles[2], len(ordered))
