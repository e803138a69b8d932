"""Badges and levels (README "Badges and levels").

A badge is data: a rule of the ledger, how many of its lines it takes, a name,
an icon and a description. A person (all their linked logins) holds it from
the moment the ledger's qualifying line was earned: the Nth line of that rule
in the order the work was done. So awarding is a function of the ledger:
running it again, or after a badge is added, awards exactly what the history
says, with the same moments, and never twice.

Levels come from lifetime confirmed points on a published curve: level L
starts at 25 × L × (L − 1) points (1 at 0, 2 at 50, 3 at 150, 4 at 300, 5 at
500, 10 at 2,250).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from rewards.models import BadgeAward, PointsEntry


@dataclass(frozen=True, slots=True)
class Badge:
    key: str
    name: str
    icon: str  # one character that common fonts have (no emoji font needed)
    description: str
    rule: str  # the ledger rule counted
    count: int  # how many of its lines it takes


BADGES = [
    Badge(
        "first_review",
        "First review",
        "✓",
        "Reviewed a teammate's pull request for the first time.",
        "review_session",
        1,
    ),
    Badge(
        "regular_reviewer",
        "Regular reviewer",
        "★",
        "Ten review sessions with substance.",
        "review_session",
        10,
    ),
    Badge(
        "review_veteran",
        "Review veteran",
        "✪",
        "A hundred review sessions with substance.",
        "review_session",
        100,
    ),
    Badge(
        "on_time",
        "On time",
        "◷",
        "Answered ten review requests within the team's review time.",
        "review_timely",
        10,
    ),
    Badge(
        "thoughtful",
        "Thoughtful",
        "✎",
        "Fifty substantive review comments.",
        "review_comment",
        50,
    ),
    Badge(
        "big_changes",
        "Big changes",
        "▣",
        "Reviewed twenty-five hundred-line units of change.",
        "review_size",
        25,
    ),
    Badge(
        "shipper",
        "Shipper",
        "⚑",
        "Ten of one's pull requests merged after a teammate's review.",
        "merge_author",
        10,
    ),
]
BY_KEY = {badge.key: badge for badge in BADGES}


def badges_award() -> int:
    """Award every badge the ledger shows someone qualifies for and does not
    hold yet; returns how many were awarded. One read of the qualifying lines,
    one insert."""
    thresholds: dict[str, set[int]] = {}
    for badge in BADGES:
        thresholds.setdefault(badge.rule, set()).add(badge.count)
    counts = sorted({count for wanted in thresholds.values() for count in wanted})
    lines = (
        PointsEntry.objects.filter(
            rule__key__in=list(thresholds),
            points__gt=0,
            identity__member__isnull=False,
        )
        .annotate(
            nth=Window(
                RowNumber(),
                partition_by=[F("identity__member_id"), F("rule_id")],
                order_by=[F("earned_at").asc(), F("id").asc()],
            )
        )
        .filter(nth__in=counts)
        .values_list("identity__member_id", "rule__key", "nth", "earned_at")
    )
    qualified: dict[tuple[int, str], datetime] = {}
    for member_id, rule, nth, earned_at in lines:
        for badge in BADGES:
            if badge.rule == rule and badge.count == nth:
                qualified[(member_id, badge.key)] = earned_at
    held = set(
        BadgeAward.objects.filter(
            member_id__in={member for member, _ in qualified}
        ).values_list("member_id", "badge")
    )
    new = [
        BadgeAward(member_id=member, badge=key, awarded_at=at)
        for (member, key), at in qualified.items()
        if (member, key) not in held
    ]
    BadgeAward.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@dataclass(frozen=True, slots=True)
class Level:
    number: int
    points: int  # lifetime confirmed points
    floor: int  # points where this level starts
    next_at: int  # points where the next one starts

    @property
    def to_next(self) -> int:
        return self.next_at - self.points

    @property
    def progress(self) -> int:
        """Per cent of the way to the next level."""
        return int(100 * (self.points - self.floor) / (self.next_at - self.floor))


def level_start(number: int) -> int:
    return 25 * number * (number - 1)


def level_of(points: int) -> Level:
    points = max(points, 0)
    number = int((1 + math.sqrt(1 + 4 * points / 25)) / 2)
    while level_start(number + 1) <= points:  # guard the float
        number += 1
    while number > 1 and level_start(number) > points:
        number -= 1
    return Level(number, points, level_start(number), level_start(number + 1))


def badge_rows(awards: Any) -> list[dict[str, Any]]:
    """Awards with what their badge says (a badge no longer defined is left
    out)."""
    rows = []
    for award in awards:
        badge = BY_KEY.get(award.badge)
        if badge is not None:
            rows.append({"award": award, "badge": badge})
    return rows
