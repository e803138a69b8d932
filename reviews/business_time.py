"""Business hours between two moments, in a person's own time zone.

Review SLAs, the timeliness bonus and team statistics all count business hours
(Monday to Friday, between the workday's start and end hour), so a request made
on Friday evening is not "two days late" on Monday morning.
"""

from __future__ import annotations

from datetime import date, datetime
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
    return _worked_until(end.astimezone(tz), start_hour, end_hour) - _worked_until(
        start.astimezone(tz), start_hour, end_hour
    )


_EPOCH = date(2001, 1, 1)  # a Monday


def _worked_until(local: datetime, start_hour: int, end_hour: int) -> float:
    """Working hours from _EPOCH to ``local`` (wall-clock time in the zone).

    O(1): whole weeks are 5 working days, the rest of the week is counted by
    weekday, then today's part. Differences of two calls give any span, so a
    request open for a year costs as little as one open for an hour.
    """
    day_hours = end_hour - start_hour
    days = (local.date() - _EPOCH).days
    weeks, weekday = divmod(days, 7)
    hours = (weeks * 5 + min(weekday, 5)) * day_hours
    if weekday < 5:
        now = local.hour + local.minute / 60 + local.second / 3600
        hours += min(max(now - start_hour, 0.0), day_hours)
    return hours


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
