"""What each person wants, per kind of message (README "Notifications"): by
email, by Slack, or only on the dashboard; right away, or gathered into an
hourly or a daily summary. The dashboard list always has everything.

Stored as one JSON object per person (``NotificationSettings.kinds``) so the
choices of any number of people are one query; a kind the person never chose
for gets its default here, and a value that is not one of the choices (an old
row, a hand edit) reads as the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notifications.models import Kind

NOW, HOURLY, DAILY = "now", "hourly", "daily"
WHEN_CHOICES = [
    (NOW, "Right away"),
    (HOURLY, "Hourly summary"),
    (DAILY, "Daily summary"),
]


@dataclass(frozen=True, slots=True)
class Preference:
    email: bool
    slack: bool
    when: str = NOW


# In the order the settings page lists them.
DEFAULTS: dict[str, Preference] = {
    Kind.REVIEW_REQUESTED: Preference(email=True, slack=True),
    Kind.REVIEW_NUDGE: Preference(email=True, slack=True),
    Kind.STUCK: Preference(email=True, slack=False),
    # The code host emails authors about reviews already.
    Kind.YOUR_TURN: Preference(email=False, slack=True),
    Kind.DAILY_DIGEST: Preference(email=True, slack=True),
    Kind.WEEKLY: Preference(email=False, slack=False),
    Kind.OPERATIONS: Preference(email=True, slack=True),
}

# The kinds that can wait for a summary: the digests are summaries already, and
# a broken connection is worth knowing at once.
BATCHABLE = frozenset(
    {Kind.REVIEW_REQUESTED, Kind.REVIEW_NUDGE, Kind.STUCK, Kind.YOUR_TURN}
)

DESCRIPTIONS = {
    Kind.REVIEW_REQUESTED: "My review is requested",
    Kind.REVIEW_NUDGE: "My review is overdue, or was passed on to someone else",
    Kind.YOUR_TURN: "My pull request is my turn (changes requested, a question, "
    "approved)",
    Kind.STUCK: "My pull request is stuck (approved but not merged, or idle)",
    Kind.DAILY_DIGEST: "Daily digest at the start of my working day",
    Kind.WEEKLY: "My team's week, on Monday morning",
    Kind.OPERATIONS: "A connection of mine or my team's integration needs attention",
}


# When the kinds that are not batched arrive, as the settings page says it.
FIXED_WHEN = {
    Kind.DAILY_DIGEST: "at the start of your day",
    Kind.WEEKLY: "Monday morning",
    Kind.OPERATIONS: "right away",
}


def preference(choice: Any, kind: str) -> Preference:
    """The person's choice for ``kind`` (``choice`` is their
    NotificationSettings, or None when they never saved any)."""
    default = DEFAULTS[kind]
    saved = (getattr(choice, "kinds", None) or {}).get(kind)
    if not isinstance(saved, dict):
        return default
    when = saved.get("when", NOW)
    if kind not in BATCHABLE or when not in (NOW, HOURLY, DAILY):
        when = NOW
    email, slack = saved.get("email"), saved.get("slack")
    return Preference(
        email=email if isinstance(email, bool) else default.email,
        slack=slack if isinstance(slack, bool) else default.slack,
        when=when,
    )
