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


def next_working_moment(
    moment: datetime,
    *,
    zone: str = DEFAULT_ZONE,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
) -> datetime:
    """``moment`` itself in working time, else the start of the next working
    hour (Monday to Friday, in the zone), as an aware datetime."""
    if end_hour <= start_hour or is_working_time(
        moment, zone=zone, start_hour=start_hour, end_hour=end_hour
    ):
        return moment
    return next_working_day_start(moment, zone=zone, start_hour=start_hour)


def next_working_day_start(
    moment: datetime, *, zone: str = DEFAULT_ZONE, start_hour: int = DEFAULT_START_HOUR
) -> datetime:
    """The first start of a working day (Monday to Friday, in the zone) after
    ``moment``, or at it."""
    tz = zone_get(zone)
    local = moment.astimezone(tz)
    day = local.date()
    if (local.hour, local.minute, local.second, local.microsecond) > (
        start_hour,
        0,
        0,
        0,
    ):  # past today's start: tomorrow at the earliest
        day = date.fromordinal(day.toordinal() + 1)
    while day.weekday() >= 5:
        day = date.fromordinal(day.toordinal() + 1)
    return datetime(day.year, day.month, day.day, start_hour, tzinfo=tz)


def business_deadline(
    start: datetime,
    hours: float,
    *,
    zone: str = DEFAULT_ZONE,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
) -> datetime:
    """When ``hours`` working hours after ``start`` are over, in the zone."""
    if end_hour <= start_hour:
        return start
    tz = zone_get(zone)
    moment = next_working_moment(
        start, zone=zone, start_hour=start_hour, end_hour=end_hour
    ).astimezone(tz)
    left = float(hours)
    while True:
        end_of_day = moment.replace(hour=end_hour, minute=0, second=0, microsecond=0)
        today = (end_of_day - moment).total_seconds() / 3600
        if left <= today:
            return moment + (end_of_day - moment) * (left / today if today else 0)
        left -= today
        moment = next_working_moment(
            end_of_day, zone=zone, start_hour=start_hour, end_hour=end_hour
        ).astimezone(tz)
