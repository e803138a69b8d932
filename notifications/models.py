"""The outbox: every message is a row keyed by what caused it, its recipient
and its channel before anything is sent, so a replayed delivery, a retried
task or a second worker never sends twice (README "Notifications")."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from integrations import crypto


def public_id_new() -> str:
    return secrets.token_urlsafe(18)


class Kind(models.TextChoices):
    REVIEW_REQUESTED = "review_requested", "Review requested"
    DAILY_DIGEST = "daily_digest", "Daily digest"
    STUCK = "stuck_pull", "Stuck pull request"
    WEEKLY = "weekly_team", "Weekly team digest"
    OPERATIONS = "operations", "A connection or integration needs attention"
    YOUR_TURN = "your_turn", "Your turn on your pull request"
    REVIEW_NUDGE = "review_nudge", "Your review is overdue, or was passed on"


# What a team's channel can get, in the order the team's page lists them.
TEAM_KINDS = [
    (Kind.REVIEW_REQUESTED, "Review requests in the team's repositories"),
    (Kind.STUCK, "Pull requests asked only of a team that nobody took"),
    (Kind.WEEKLY, "The weekly team digest (Monday morning)"),
]


def team_kinds_default() -> list[str]:
    return [str(kind) for kind, _ in TEAM_KINDS]


class Channel(models.TextChoices):
    IN_APP = "in_app", "On the dashboard"
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    TEAM = "team", "A team channel"


class TeamChannel(models.Model):
    """Where a team's messages go: an incoming webhook of Microsoft Teams,
    Mattermost or Discord, or plain JSON to a URL of the team's; the URL is
    a secret (it lets anyone post), stored encrypted."""

    class Kind(models.TextChoices):
        TEAMS = "teams", "Microsoft Teams (workflow or incoming webhook)"
        MATTERMOST = "mattermost", "Mattermost (incoming webhook)"
        DISCORD = "discord", "Discord (webhook)"
        JSON = "json", "JSON to a URL"
        SLACK = "slack", "Slack (a channel the CodeQuest app is in)"

    public_id = models.CharField(max_length=64, unique=True, default=public_id_new)
    organization = models.ForeignKey(
        "integrations.Organization", on_delete=models.CASCADE, related_name="channels"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100, help_text="What the team calls it.")
    url_encrypted = models.TextField(editable=False)
    slack_channel = models.CharField(
        max_length=30,
        blank=True,
        editable=False,
        help_text="The Slack channel's id, posted to by the bot (Slack only).",
    )
    host = models.CharField(
        max_length=255, editable=False, help_text="Shown instead of the URL."
    )
    kinds = models.JSONField(
        default=team_kinds_default,
        blank=True,
        help_text="Which messages go there: review_requested, stuck_pull, weekly_team.",
    )
    is_active = models.BooleanField(default=True)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name} ({self.host})"

    @property
    def kind_labels(self) -> list[str]:
        """What goes there, in words, in the team page's order."""
        return [label for kind, label in TEAM_KINDS if kind in (self.kinds or ())]

    @property
    def url(self) -> str:
        return crypto.decrypt(self.url_encrypted, purpose=self._purpose())

    @url.setter
    def url(self, value: str) -> None:
        self.url_encrypted = crypto.encrypt(value, purpose=self._purpose())

    def _purpose(self) -> str:
        return f"team-channel:{self.public_id}"


class Notification(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
        help_text="The person; empty for a message to a team channel.",
    )
    team_channel = models.ForeignKey(
        TeamChannel,
        on_delete=models.CASCADE,
        related_name="messages",
        null=True,
        blank=True,
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    key = models.CharField(
        max_length=200,
        help_text="What caused it: one message per key, person and channel.",
    )
    subject = models.CharField(max_length=300)
    body = models.TextField()
    url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    due_at = models.DateTimeField(
        help_text="Not sent before (quiet outside the person's working hours)."
    )
    batched = models.BooleanField(
        default=False,
        help_text="Sent in one message with the person's other batched rows due "
        "by then (an hourly or daily summary).",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "recipient", "channel"], name="one_message_per_cause"
            ),
            models.UniqueConstraint(
                fields=["key", "team_channel"],
                condition=models.Q(team_channel__isnull=False),
                name="one_team_message_per_cause",
            ),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False)
                | models.Q(team_channel__isnull=False),
                name="message_has_a_destination",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="pending"),
                name="notification_due",
            ),
            models.Index(
                fields=["recipient", "-created_at"], name="notification_inbox"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id} by {self.channel} ({self.status})"


class NotificationSettings(models.Model):
    """What a person wants, and when (their working hours come from their
    reviewer profile: time zone, start and end hour)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_settings",
    )
    kinds = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per kind of message: {kind: {email, slack, when}}; a kind not "
        "named here gets its default (notifications.preferences.DEFAULTS).",
    )
    slack_user_id = models.CharField(
        max_length=30,
        blank=True,
        help_text="The person's Slack member id; found from their email address "
        "when empty.",
    )
    quiet_outside_working_hours = models.BooleanField(
        default=True,
        help_text="Hold emails and Slack messages until my next working hour.",
    )
    urgent_breaks_through = models.BooleanField(
        default=False,
        help_text="A pull request labelled urgent reaches me at once, even "
        "outside my working hours and even when I asked for a summary.",
    )
    mute_bots = models.BooleanField(
        default=False,
        help_text="Send nothing about pull requests that bots opened "
        "(they still show on the dashboard).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"
