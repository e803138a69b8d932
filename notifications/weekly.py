"""The weekly team digest (README "Notifications"): on Monday morning (08:00
UTC), each team's last seven days against the seven before (time to first
review, reviews, merged pull requests reviewed), its leaders as the team's
leaderboard shows them, and the pull requests stuck now. Posted to the team's
channels and to each member's dashboard, once per team and ISO week."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from integrations.models import Organization, OrganizationMembership
from notifications.models import Kind, Notification, TeamChannel
from notifications.services import Message, person_rows, settings_of, team_row
from notifications.stuck import IDLE_WORKING_HOURS
from reviews.business_time import business_hours_between
from reviews.models import PullRequest, PullState, Review
from reviews.stats import first_review_hours
from rewards.selectors import leaderboard_list

SEND_HOUR = 8  # UTC, Mondays


def weekly_team_digests(*, now: datetime | None = None) -> int:
    """Write this week's digest of every team not told yet; how many teams."""
    now = now or timezone.now()
    if now.weekday() != 0 or now.hour != SEND_HOUR:
        return 0
    year, week, _ = now.isocalendar()
    made = 0
    for team in Organization.objects.order_by("pk"):
        key = f"weekly:{team.pk}:{year}-W{week:02d}"
        if Notification.objects.filter(key=key).exists():
            continue
        repositories = team.repositories.filter(is_active=True, is_practice=False)
        if not repositories.exists():
            continue
        message = _digest(team, repositories, now)
        rows = [
            team_row(channel, key, message, now, kind=Kind.WEEKLY)
            for channel in TeamChannel.objects.filter(
                organization=team, is_active=True, kinds__contains=[Kind.WEEKLY]
            )
        ]
        members = [
            membership.user
            for membership in team.memberships.select_related("user")
            if membership.user.is_active
        ]
        choices = settings_of(members)
        for user in members:
            rows += person_rows(
                user, Kind.WEEKLY, key, message, now, choice=choices.get(user.pk)
            )
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        made += 1
    return made


@dataclass(frozen=True, slots=True)
class _Week:
    median_hours: float | None
    first_reviews: int
    merged: int
    merged_reviewed: int


def _week(repositories, since: datetime, until: datetime) -> _Week:
    """Pull requests opened in [since, until) and their time to a first review
    by someone else; those merged in it, and how many had such a review."""
    hours = [
        value
        for values in first_review_hours(
            repository_ids=list(repositories.values_list("pk", flat=True)),
            since=since,
            until=until,
        ).values()
        for value in values
    ]
    others = Review.objects.filter(pull_request=OuterRef("pk")).exclude(
        reviewer_login=OuterRef("author_login")
    )
    merged = PullRequest.objects.filter(
        repository__in=repositories,
        state=PullState.MERGED,
        merged_at__gte=since,
        merged_at__lt=until,
    ).annotate(was_reviewed=Exists(others))
    counts = merged.aggregate(
        total=Count("id"), reviewed=Count("id", filter=Q(was_reviewed=True))
    )
    return _Week(
        statistics.median(hours) if hours else None,
        len(hours),
        counts["total"],
        counts["reviewed"],
    )


def _digest(team: Organization, repositories, now: datetime) -> Message:
    this = _week(repositories, now - timedelta(days=7), now)
    last = _week(repositories, now - timedelta(days=14), now - timedelta(days=7))
    lines = [f"{team.name}, the last seven days:"]
    lines.append(
        f"- Time to first review (median): {_hours(this.median_hours)} "
        f"(the week before: {_hours(last.median_hours)})"
    )
    lines.append(
        f"- Reviews: {this.first_reviews} pull "
        f"request{'' if this.first_reviews == 1 else 's'} got a first review "
        f"(the week before: {last.first_reviews})"
    )
    lines.append(
        f"- Merged: {this.merged}, of which reviewed: {this.merged_reviewed} "
        f"(the week before: {last.merged}, {last.merged_reviewed})"
    )
    leaders = _leaders(team)
    if leaders:
        lines.append("- Leaders: " + ", ".join(leaders))
    stuck = [
        pull
        for pull in PullRequest.objects.filter(
            repository__in=repositories, state=PullState.OPEN
        )
        .exclude(draft=True)
        .select_related("repository")
        if business_hours_between(pull.provider_updated_at or pull.updated_at, now)
        >= IDLE_WORKING_HOURS
    ]
    if stuck:
        lines.append(f"- Stuck (no activity for three working days): {len(stuck)}")
        lines += [
            f"  - {pull.repository.full_name}#{pull.number} {pull.title}"[:200]
            for pull in stuck[:5]
        ]
    return Message(
        subject=f"{team.name}: the week in review", body="\n".join(lines), url=""
    )


def _hours(value: float | None) -> str:
    return "none" if value is None else f"{value:.1f} working hours"


def _leaders(team: Organization) -> list[str]:
    """The top three of the team's weekly leaderboard, as a member sees it:
    only when the board shows names, and never someone who chose not to be
    on leaderboards (not even the member it is read as)."""
    if team.leaderboard != Organization.Board.NAMES:
        return []
    viewer = (
        OrganizationMembership.objects.filter(organization=team)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if viewer is None:
        return []
    board = leaderboard_list(user=viewer.user, period="week", team=team.slug)
    shown = [row for row in board if row["on_leaderboards"] and row["points"]]
    return [f"{row['member']} ({row['points']} points)" for row in shown[:3]]
