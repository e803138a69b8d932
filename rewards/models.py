"""Points rules (editable, versioned) and the append-only points ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from integrations.models import ConnectedRepository, Organization
from reviews.models import ProviderIdentity, PullRequest


class PointsRule(models.Model):
    """What one kind of contribution is worth; every change bumps the version."""

    key = models.SlugField(max_length=50, unique=True)
    points = models.IntegerField()
    description = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} ({self.points} points, v{self.version})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            before = PointsRule.objects.filter(pk=self.pk).values("points").first()
            if before and before["points"] != self.points:
                self.version += 1
        super().save(*args, **kwargs)


class PointsEntry(models.Model):
    """One line of the ledger: never updated or deleted; reversals are new lines."""

    identity = models.ForeignKey(
        ProviderIdentity, on_delete=models.PROTECT, related_name="points_entries"
    )
    rule = models.ForeignKey(PointsRule, on_delete=models.PROTECT, related_name="+")
    rule_version = models.PositiveIntegerField()
    points = models.IntegerField()
    reason = models.CharField(max_length=200)
    source = models.CharField(max_length=200, help_text="What earned it.")
    pull_request = models.ForeignKey(
        PullRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="points_entries",
    )
    # The pull request's repository, copied when the line is written (lines never
    # change), so team-scoped totals over millions of lines need no join.
    repository = models.ForeignKey(
        ConnectedRepository,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The team the line counts for: its repository's team when it was written
    # (a trigger moves the lines along when a repository changes teams), or
    # the team that paid it (a quest). Boards and daily totals read it.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    earned_at = models.DateTimeField(
        db_index=True,
        help_text="When the work was done (provider time); periods count by it.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "points entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            # what is still provisional: the recent lines of open pull requests
            models.Index(
                fields=["pull_request", "earned_at"], name="points_pull_time_idx"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "rule", "source"], name="points_paid_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.identity} ({self.reason})"

    def save(self, *args, **kwargs) -> None:
        if self.repository_id is None and self.pull_request is not None:
            self.repository_id = self.pull_request.repository_id
        if self.organization_id is None and self.repository_id is not None:
            self.organization_id = (
                ConnectedRepository.objects.filter(pk=self.repository_id)
                .values_list("organization_id", flat=True)
                .first()
            )
        super().save(*args, **kwargs)


class Credit(models.Model):
    """What a pull request's facts earn now, before the daily cap.

    Derived state, recomputed from the pull request after every event
    (``rewards.services.points_reconcile``); the append-only ledger follows it
    with difference lines. Points are priced when a credit first appears, so a
    later change of a rule never re-prices past work.
    """

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="credits"
    )
    identity = models.ForeignKey(
        ProviderIdentity, on_delete=models.CASCADE, related_name="credits"
    )
    rule = models.ForeignKey(PointsRule, on_delete=models.PROTECT, related_name="+")
    rule_version = models.PositiveIntegerField()
    key = models.CharField(max_length=200, help_text="What earned it.")
    units = models.PositiveSmallIntegerField(default=1)
    full_points = models.IntegerField(
        default=0, help_text="As priced, before the share."
    )
    share = models.PositiveSmallIntegerField(
        default=100, help_text="Percent paid (reciprocal exchanges pay less)."
    )
    points = models.IntegerField(help_text="Before the daily cap.")
    reason = models.CharField(max_length=200)
    earned_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "rule", "key"], name="credit_once"
            )
        ]
        indexes = [
            models.Index(fields=["identity", "earned_at"], name="credit_person_day_idx")
        ]

    def __str__(self) -> str:
        return f"{self.points} {self.identity} ({self.key})"


class Season(models.Model):
    """A named stretch of time a team competes over (a quarter, a hackathon)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="seasons"
    )
    name = models.CharField(max_length=100)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    resets_balances = models.BooleanField(
        default=False,
        help_text="Spendable balances start from zero when it starts; lifetime "
        "points and levels are kept.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="season_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization})"


class TrendSnapshot(models.Model):
    """One day of review health, for one repository or one whole team (exactly
    one of the two is set), kept two years for trends and sparklines."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="trend_snapshots",
    )
    repository = models.ForeignKey(
        ConnectedRepository,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="trend_snapshots",
    )
    day = models.DateField()
    open_pulls = models.PositiveIntegerField(default=0)
    waiting_requests = models.PositiveIntegerField(
        default=0, help_text="Review requests nobody has answered yet."
    )
    stuck_pulls = models.PositiveIntegerField(
        default=0, help_text="Open, ready pull requests quiet for three days."
    )
    median_first_review_hours = models.FloatField(
        null=True, blank=True, help_text="Business hours, pull requests of 7 days."
    )
    p75_first_review_hours = models.FloatField(null=True, blank=True)
    reviews = models.PositiveIntegerField(default=0, help_text="Submitted that day.")
    points = models.IntegerField(default=0, help_text="Earned that day.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organization__isnull=True)
                ^ models.Q(repository__isnull=True),
                name="snapshot_of_team_or_repository",
            ),
            models.UniqueConstraint(
                fields=["repository", "day"],
                condition=models.Q(repository__isnull=False),
                name="one_snapshot_per_repository_day",
            ),
            models.UniqueConstraint(
                fields=["organization", "day"],
                condition=models.Q(organization__isnull=False),
                name="one_snapshot_per_team_day",
            ),
        ]
        indexes = [models.Index(fields=["day"], name="snapshot_day_idx")]

    def __str__(self) -> str:
        return f"{self.repository or self.organization} on {self.day}"


class PointsView(models.Model):
    """Someone opened another person's points history (page or API): the
    person can see who looked (README "Privacy")."""

    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    subject = models.ForeignKey(
        "reviews.Member", on_delete=models.CASCADE, related_name="points_views"
    )
    via = models.CharField(max_length=10)  # "page" or "api"
    viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-viewed_at", "-id"]
        indexes = [
            models.Index(fields=["subject", "-viewed_at"], name="points_view_subject")
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id} looked at {self.subject_id}'s points ({self.via})"


class BadgeAward(models.Model):
    """A badge a person holds (``rewards.badges.BADGES`` defines them), held
    once, from the moment the ledger first showed they qualified."""

    member = models.ForeignKey(
        "reviews.Member", on_delete=models.CASCADE, related_name="badges"
    )
    badge = models.SlugField(max_length=50)
    awarded_at = models.DateTimeField(
        help_text="When the line that qualified them was earned."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-awarded_at", "badge"]
        constraints = [
            models.UniqueConstraint(fields=["member", "badge"], name="one_badge_each")
        ]

    def __str__(self) -> str:
        return f"{self.badge} held by {self.member_id}"


class Reward(models.Model):
    """Something a team's people can spend their points on (README "Rewards")."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="rewards"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    cost = models.PositiveIntegerField(help_text="Points it costs.")
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many are left; empty: no limit."
    )
    is_active = models.BooleanField(
        default=True, help_text="Offered; a withdrawn reward keeps its history."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cost", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cost__gte=1), name="reward_costs_points"
            ),
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=models.Q(is_active=True),
                name="one_offered_reward_per_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cost} points)"


class Redemption(models.Model):
    """A person asks for a reward; a team admin approves (the debit is
    written then) or declines (the stock comes back)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a team admin"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    reward = models.ForeignKey(
        Reward, on_delete=models.PROTECT, related_name="redemptions"
    )
    # The reward's team, copied: lists and balances are read per team.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="redemptions"
    )
    member = models.ForeignKey(
        "reviews.Member", on_delete=models.PROTECT, related_name="redemptions"
    )
    cost = models.PositiveIntegerField(help_text="The cost when it was asked for.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "member", "status"],
                name="redemption_person_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reward.name} for {self.member} ({self.status})"


class SpendEntry(models.Model):
    """The spending ledger: a debit line per approved redemption, never
    updated or deleted. Balance = confirmed points earned in the team − what
    was spent there (since the last season that reset balances)."""

    member = models.ForeignKey(
        "reviews.Member", on_delete=models.PROTECT, related_name="spend_entries"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    points = models.IntegerField(help_text="Negative: a debit.")
    reason = models.CharField(max_length=200)
    redemption = models.OneToOneField(
        Redemption, on_delete=models.PROTECT, related_name="debit"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "spend entries"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.member} ({self.reason})"


class Quest(models.Model):
    """A time-boxed goal a team admin started from the library
    (``rewards.quests.TEMPLATES``): a team quest pays everyone on the team when
    the team meets it; a personal one pays each person who does."""

    class Scope(models.TextChoices):
        TEAM = "team", "Team"
        PERSONAL = "personal", "Personal"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="quests"
    )
    template = models.SlugField(max_length=50)
    title = models.CharField(max_length=200)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    params = models.JSONField(
        default=dict, blank=True, help_text="The template's settings, as tuned."
    )
    points = models.PositiveIntegerField(help_text="Paid to each person, once.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    settled_at = models.DateTimeField(
        null=True, blank=True, help_text="Judged and paid after it ended."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="quest_ends_after_it_starts",
            )
        ]
        indexes = [
            models.Index(fields=["settled_at", "ends_at"], name="quest_open_idx")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.organization})"


class QuestProgress(models.Model):
    """How far the team (``member`` empty) or one person got, as last
    measured; ``completed_at`` set once, when it was met (and paid)."""

    quest = models.ForeignKey(Quest, on_delete=models.CASCADE, related_name="progress")
    member = models.ForeignKey(
        "reviews.Member",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quest_progress",
    )
    progress = models.PositiveIntegerField(default=0)
    target = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["quest", "member"],
                name="one_progress_per_person",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.quest_id}: {self.progress}/{self.target}"


class ReciprocalExchangeManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(share__lt=100)


class ReciprocalExchange(Credit):
    """Credits paid in part because two people keep approving each other's
    small pull requests (``rewards.reciprocal``): a pattern for admins to look
    at, not a verdict."""

    objects = ReciprocalExchangeManager()

    class Meta:
        proxy = True
        verbose_name = "reciprocal exchange"

    def __str__(self) -> str:
        return f"{self.share}% {self.identity} ({self.key})"


class PointsDay(models.Model):
    """One person's ledger total of one UTC day in one team (by login), kept by
    the database itself: triggers on the ledger add every line as it is
    written (and follow a line whose team changes), in the same transaction,
    so the totals never drift (``manage.py points_days_check`` proves it).
    Leaderboards and levels read these instead of every line (README
    "Instant boards")."""

    identity = models.ForeignKey(
        ProviderIdentity, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    day = models.DateField()
    points = models.IntegerField(default=0)
    sessions = models.IntegerField(
        default=0, help_text="Review session lines that paid (for boards)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "organization", "day"], name="one_total_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "day"], name="points_day_team_idx")
        ]

    def __str__(self) -> str:
        return f"{self.points} {self.identity_id} on {self.day}"


class Kudos(models.Model):
    """Thanks from one person to another (README "Kudos"): an author marking
    a review of their pull request as helpful (it pays the reviewer a bonus
    through the pull request's credits), or peer kudos with a message (a small
    weekly budget per person, paid once as a ledger line)."""

    class Kind(models.TextChoices):
        HELPFUL = "helpful", "Helpful review"
        PEER = "peer", "Peer kudos"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="kudos"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    giver = models.ForeignKey(
        "reviews.Member", on_delete=models.CASCADE, related_name="kudos_given"
    )
    receiver = models.ForeignKey(
        "reviews.Member",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="kudos_received",
    )
    review = models.ForeignKey(
        "reviews.Review",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="kudos",
    )
    message = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "kudos"
        constraints = [
            models.UniqueConstraint(
                fields=["giver", "review"],
                condition=models.Q(review__isnull=False),
                name="one_helpful_mark_per_review",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.giver_id}"
