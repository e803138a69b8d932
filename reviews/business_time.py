"""Business hours between two moments, in a person's own time zone.

Review SLAs, the timeliness bonus and team statistics all count business hours
(Monday to Friday, between the workday's start and end hour), so a request made
on Friday evening is not "two days late" on Monday morning.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"
DEFAULT_START_HOUR = 9
DEFAULT_END_HOUR = 18


def zone_get(name: str) -> ZoneInfo:
    """The named time zone, UTC when the name is unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def business_hours_between(
    start: datetime,
    end: datetime,
    *,
    zone: str = DEFAULT_ZONE,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
) -> float:
    """Working hours from ``start`` to ``end`` (0 when end is not after start)."""
    if end <= start or end_hour <= start_hour:
        return 0.0
    tz = zone_get(zone)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    total = 0.0
    # Whole weeks in the middle are 5 working days each; skip them arithmetically
    # so a request open for a year costs as little as one open for a day.
    days = (local_end.date() - local_start.date()).days
    if days > 14:
        weeks = days // 7 - 1
        total += weeks * 5 * (end_hour - start_hour)
        local_start = local_start + timedelta(weeks=weeks)
    day = local_start.date()
    while day <= local_end.date():
        if day.weekday() < 5:
            opens = datetime.combine(day, time(start_hour), tz)
            closes = datetime.combine(day, time(0), tz) + timedelta(hours=end_hour)
            span = min(closes, local_end) - max(opens, local_start)
            total += max(span.total_seconds(), 0) / 3600
        day += timedelta(days=1)
    return total


def is_working_time(
    moment: datetime,
    *,
    zone: str = DEFAULT_ZONE,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
) -> bool:
    local = moment.astimezone(zone_get(zone))
    return local.weekday() < 5 and start_hour <= local.hour < end_hour


def working_day_of(profile) -> dict:
    """business_hours_between keyword arguments for a ReviewerProfile (or None)."""
    if profile is None:
        return {}
    return {
        "zone": profile.timezone,
        "start_hour": profile.workday_start_hour,
        "end_hour": profile.workday_end_hour,
    }
