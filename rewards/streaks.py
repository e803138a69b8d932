"""Review streaks, in the person's working days (README "Badges and levels"):
consecutive working days (Monday to Friday in their time zone) with at least
one review session. Weekends and days away (their availability windows) neither
extend nor break a streak; today, until it ends, cannot break it either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from reviews.business_time import zone_get
from reviews.models import AvailabilityWindow, Member, ReviewerProfile
from rewards.models import PointsEntry

LOOK_BACK = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Streak:
    current: int
    longest: int


def streak_of(member: Member, *, now: datetime | None = None) -> Streak:
    """The person's current and longest streak over the last year: three
    queries."""
    now = now or timezone.now()
    profile = (
        ReviewerProfile.objects.filter(identity__member=member).order_by("pk").first()
    )
    zone = zone_get(profile.timezone if profile else "UTC")
    since = now - LOOK_BACK
    reviewed = {
        moment.astimezone(zone).date()
        for moment in PointsEntry.objects.filter(
            identity__member=member,
            rule__key="review_session",
            points__gt=0,
            earned_at__gte=since,
        ).values_list("earned_at", flat=True)
    }
    away: set[date] = set()
    for starts, ends in AvailabilityWindow.objects.filter(
        identity__member=member, ends_at__gte=since
    ).values_list("starts_at", "ends_at"):
        day, last = starts.astimezone(zone).date(), ends.astimezone(zone).date()
        while day <= last:
            away.add(day)
            day += timedelta(days=1)
    return _walk(
        reviewed, away, since.astimezone(zone).date(), now.astimezone(zone).date()
    )


def _walk(reviewed: set[date], away: set[date], first: date, today: date) -> Streak:
    run = longest = 0
    day = first
    while day <= today:
        if day.weekday() < 5 and day not in away:
            if day in reviewed:
                run += 1
                longest = max(longest, run)
            elif day != today:  # today is not over: it cannot break the run
                run = 0
        elif day in reviewed:  # a weekend or a day away with a review counts
            run += 1
            longest = max(longest, run)
        day += timedelta(days=1)
    return Streak(current=run, longest=longest)
