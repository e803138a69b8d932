"""Organizations, connected repositories, webhook endpoints and raw deliveries."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations import crypto
from integrations.providers import provider_choices
from integrations.providers.hosts import safe_link


def _public_id() -> str:
    return secrets.token_urlsafe(18)


def invite_token_new() -> str:
    return secrets.token_urlsafe(24)


COMMIT_MESSAGE_DEFAULT = "Update review settings from CodeQuest ({timestamp})"


class Organization(models.Model):
    """A team: owns repositories; its members see only its data.

    A team made from a GitHub organization or team, or a GitLab group, keeps the
    provider's member list (read daily with ``source_credential``); people whose
    linked login is on it join automatically.
    """

    class Board(models.TextChoices):
        NAMES = "names", "Names"
        ANONYMOUS = "anonymous", "Anonymous, except for yourself"
        OFF = "off", "Off"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    leaderboard = models.CharField(
        max_length=10,
        choices=Board.choices,
        default=Board.NAMES,
        help_text='How the team\'s leaderboard shows people (README "Privacy").',
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="OrganizationMembership",
        related_name="organizations",
    )
    invite_token = models.CharField(
        max_length=64, unique=True, default=invite_token_new, editable=False
    )
    source_provider = models.CharField(max_length=20, blank=True)
    source_host = models.CharField(max_length=255, blank=True)
    source_path = models.CharField(
        max_length=300,
        blank=True,
        help_text='The provider\'s organization, team or group: "acme", '
        '"acme/web", "group/sub".',
    )
    source_credential = models.ForeignKey(
        "ProviderCredential",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    source_members = models.JSONField(
        default=list, blank=True, editable=False, help_text="Logins, lowercased."
    )
    members_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    members_sync_error = models.TextField(blank=True, editable=False)
    # Writing to the team's repositories (README "Writes as pull requests").
    commit_message_template = models.CharField(
        max_length=200,
        default=COMMIT_MESSAGE_DEFAULT,
        help_text="The message of CodeQuest's commits; {timestamp} is replaced "
        "by the time of the commit (UTC).",
    )
    onboarding_pull_requests = models.BooleanField(
        default=True,
        help_text="Open a 'Configure CodeQuest' pull request in newly connected "
        "repositories that have no .codequest.yml.",
    )
    write_exclude_paths = models.JSONField(
        default=list,
        blank=True,
        help_text="Paths CodeQuest never writes, as CODEOWNERS patterns, e.g. "
        '[".github/CODEOWNERS"].',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_provider", "source_host", "source_path"],
                condition=~models.Q(source_path=""),
                name="one_team_per_provider_source",
            )
        ]

    def __str__(self) -> str:
        return self.name


class OrganizationMembership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )

    class Via(models.TextChoices):
        MANUAL = "manual", "Added by hand"
        INVITE = "invite", "Invite link"
        PROVIDER = "provider", "Provider membership"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    via = models.CharField(
        max_length=20,
        choices=Via.choices,
        default=Via.MANUAL,
        help_text="How they joined: provider members leave when the provider "
        "says they left.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="unique_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class TeamJoinRequest(models.Model):
    """Someone who opened a team's invite link and waits for an admin."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="join_requests"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="team_join_requests",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=models.Q(status="pending"),
                name="one_pending_join_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} asks to join {self.organization} ({self.status})"


class ProviderCredential(models.Model):
    """A token that can call one provider's API, stored encrypted."""

    class Kind(models.TextChoices):
        ACCESS_TOKEN = "access_token", "Personal/project access token"
        OAUTH = "oauth", "OAuth"
        APP_INSTALLATION = "app_installation", "GitHub App installation"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"

    public_id = models.CharField(max_length=64, unique=True, default=_public_id)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="credentials",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="provider_credentials",
        help_text="Whose OAuth grant it is.",
    )
    provider = models.CharField(max_length=20, choices=provider_choices)
    api_url = models.URLField(max_length=500, help_text="The API base it is for.")
    account_login = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    label = models.CharField(
        max_length=200, blank=True, help_text="Where it came from, never the token."
    )
    token_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(editable=False, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "label"]

    def __str__(self) -> str:
        return f"{self.provider} {self.get_kind_display()} ({self.label or self.pk})"

    @property
    def token(self) -> str:
        return crypto.decrypt(self.token_encrypted, purpose=self._purpose())

    @token.setter
    def token(self, value: str) -> None:
        self.token_encrypted = crypto.encrypt(value, purpose=self._purpose())

    @property
    def refresh_token(self) -> str:
        if not self.refresh_token_encrypted:
            return ""
        return crypto.decrypt(
            self.refresh_token_encrypted, purpose=self._purpose("refresh")
        )

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = (
            crypto.encrypt(value, purpose=self._purpose("refresh")) if value else ""
        )

    def _purpose(self, part: str = "token") -> str:
        suffix = "" if part == "token" else f":{part}"
        return f"provider-credential:{self.public_id}{suffix}"


class ConnectedRepository(models.Model):
    """A repository (GitHub) or project (GitLab) whose pull requests we mirror."""

    class WebhookStatus(models.TextChoices):
        NONE = "none", "No webhook"
        PENDING = "pending", "Registered, awaiting ping"
        VERIFIED = "verified", "Verified"
        DEGRADED = "degraded", "Degraded"

    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="repositories",
        help_text="Empty until an admin assigns the repository to a team.",
    )
    provider = models.CharField(max_length=20, choices=provider_choices)
    host = models.CharField(
        max_length=255, help_text="github.com, gitlab.com or a self-hosted host name."
    )
    external_id = models.BigIntegerField(help_text="The provider's repository id.")
    full_name = models.CharField(max_length=500, db_index=True)
    default_branch = models.CharField(max_length=255, blank=True)
    web_url = models.URLField(max_length=1000, blank=True)
    is_private = models.BooleanField(null=True)
    is_active = models.BooleanField(default=True)
    installation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    credential = models.ForeignKey(
        ProviderCredential,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="repositories",
    )
    webhook_status = models.CharField(
        max_length=20, choices=WebhookStatus.choices, default=WebhookStatus.NONE
    )
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Reconciliation's bookmark: the list's ETag (a 304 costs no rate limit) and
    # the newest provider update already applied (the list stops there).
    sync_etag = models.CharField(max_length=200, blank=True, editable=False)
    sync_cursor = models.DateTimeField(null=True, blank=True, editable=False)
    followed_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When CodeQuest began following it: work done before earns no "
        "points and triggers no assignment, whichever road brings it.",
    )
    is_practice = models.BooleanField(
        default=False,
        editable=False,
        help_text="The team's practice repository: its pull requests earn no "
        "points and get no automatic reviewers.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "connected repositories"
        ordering = ["provider", "full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "host", "external_id"], name="unique_repository"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.full_name}"

    @property
    def link(self) -> str:
        """``web_url`` when it may be a link (http(s) on a provider host), else ""."""
        return safe_link(self.web_url, self.provider)


class WebhookEndpoint(models.Model):
    """A hook we registered: its own URL (``public_id``) and its own secret."""

    provider = models.CharField(max_length=20, choices=provider_choices)
    public_id = models.CharField(max_length=64, unique=True, default=_public_id)
    repository = models.ForeignKey(
        ConnectedRepository,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhooks",
    )
    secret_encrypted = models.TextField(editable=False)
    provider_hook_id = models.BigIntegerField(null=True, blank=True)
    events = models.JSONField(
        default=list,
        blank=True,
        help_text="The provider's event names it subscribes to; empty: all we act on.",
    )
    is_enabled = models.BooleanField(
        default=True,
        help_text="Delivering on the provider; a team admin may pause it there.",
    )
    is_active = models.BooleanField(
        default=True, help_text="Our current hook; false once removed."
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository"],
                condition=models.Q(is_active=True),
                name="one_active_hook_per_repository",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} hook {self.public_id[:8]}…"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted, purpose=self._purpose())

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value, purpose=self._purpose())

    def _purpose(self) -> str:
        return f"webhook-secret:{self.public_id}"


class WebhookDelivery(models.Model):
    """One raw delivery exactly as received, stored before we answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=20, choices=provider_choices)
    hook = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,  # delivery_hook_recent_idx leads with it
    )
    # "" for the instance-wide URL; the hook's public id otherwise. Part of the
    # duplicate key because GitHub reuses one delivery id across hooks.
    hook_key = models.CharField(max_length=64, blank=True, default="")
    delivery_id = models.CharField(max_length=200)
    event = models.CharField(max_length=100)
    action = models.CharField(max_length=100, blank=True)
    repository_name = models.CharField(max_length=500, blank=True)
    repository = models.ForeignKey(
        ConnectedRepository,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Set by the sweeper when it re-queues a lost hand-off; never on the hot path.
    requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "hook_key", "delivery_id"], name="unique_delivery"
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="delivery_status_idx"),
            models.Index(
                fields=["provider", "received_at"], name="delivery_recent_idx"
            ),
            # A hook's latest delivery, without reading all of them.
            models.Index(
                fields=["hook", "received_at"], name="delivery_hook_recent_idx"
            ),
            # A worker takes a repository's other pending deliveries along.
            models.Index(
                fields=["provider", "repository_name"],
                condition=models.Q(status="pending"),
                name="delivery_pending_repo_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event}.{self.action or '-'} {self.delivery_id}"


class AppInstallation(models.Model):
    """A GitHub App installation, kept current by installation webhooks."""

    provider = models.CharField(max_length=20, choices=provider_choices)
    host = models.CharField(max_length=255)
    installation_id = models.BigIntegerField()
    account_login = models.CharField(max_length=255, blank=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="installations",
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="linked_installations",
        help_text="Who installed it and came back through the setup URL.",
    )
    is_active = models.BooleanField(default=True)
    is_suspended = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "host", "installation_id"],
                name="unique_installation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_login or self.installation_id} on {self.host}"


class SyncRun(models.Model):
    """One reconciliation of a repository with its provider (CONTRACT §5)."""

    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial import"
        INCREMENTAL = "incremental", "Incremental"
        FULL = "full", "Full rescan"
        # Writes to the repository (RepositoryWrite): one row each.
        COMMIT = "commit", "Commit"
        PULL_REQUEST = "pull_request", "Pull request"

    # Runs that read the provider (health and "last sync" look at these only).
    READ_KINDS = ("initial", "incremental", "full")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "Command"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DEFERRED = "deferred", "Deferred (rate limit)"
        CONFLICT = "conflict", "Conflict (left for a person)"

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="sync_runs"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    trigger = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    rate_limit_points = models.PositiveIntegerField(
        default=0, help_text="Primary rate-limit points spent (a 304 costs none)."
    )
    not_modified = models.BooleanField(
        default=False, help_text="The provider answered 304: nothing changed."
    )
    changes = models.PositiveIntegerField(
        default=0, help_text="Pull requests and reviews that differed from ours."
    )
    missed_by_webhooks = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["repository", "-started_at"], name="sync_run_recent_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} sync of {self.repository_id}: {self.status}"


class RateLimitSample(models.Model):
    """A provider's rate-limit headers for one token and resource, as last seen."""

    provider = models.CharField(max_length=20, choices=provider_choices)
    host = models.CharField(max_length=255)
    token_fingerprint = models.CharField(
        max_length=16,
        help_text="First hex digits of the token's SHA-256, never the token.",
    )
    resource = models.CharField(max_length=40, default="core")
    limit = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    reset_at = models.DateTimeField(null=True, blank=True)
    sampled_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-sampled_at", "-id"]
        indexes = [
            models.Index(
                fields=["token_fingerprint", "resource", "-sampled_at"],
                name="rate_limit_latest_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.resource}: {self.remaining}/{self.limit}"


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    UNHEALTHY = "unhealthy", "Unhealthy"


class IntegrationHealth(models.Model):
    """One health check of a repository's integration; the history is kept."""

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="health_checks"
    )
    status = models.CharField(max_length=20, choices=HealthStatus.choices)
    reasons = models.JSONField(default=list, help_text="Why it is not healthy.")
    details = models.JSONField(default=list, help_text="What was checked.")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "integration health"
        ordering = ["-checked_at", "-id"]
        indexes = [
            models.Index(fields=["repository", "-checked_at"], name="health_recent_idx")
        ]

    def __str__(self) -> str:
        return f"{self.repository_id} {self.status} at {self.checked_at:%Y-%m-%d %H:%M}"


class RepositoryConnectJob(models.Model):
    """One repository a person chose in the picker, connected in the background:
    access check, webhook, ping, initial import, each step logged for the page."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Connecting"
        SUCCEEDED = "succeeded", "Connected"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="repository_connect_jobs",
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="connect_jobs"
    )
    credential = models.ForeignKey(
        ProviderCredential,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    provider = models.CharField(max_length=20, choices=provider_choices)
    full_name = models.CharField(max_length=500)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    log = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    repository = models.ForeignKey(
        ConnectedRepository,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "full_name"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_connect_at_a_time",
            )
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="connect_jobs_recent")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.full_name} ({self.status})"


class RepositoryWrite(models.Model):
    """Settings changed on the dashboard, on their way into the repository's
    .codequest.yml as a pull request (integrations.services.writes)."""

    class Status(models.TextChoices):
        IDLE = "idle", "Waiting (changes within the batching window join it)"
        SYNCING = "syncing", "Writing"
        SUCCESS = "success", "Pull request open"
        ERROR = "error", "Failed"
        CONFLICT = "conflict", "Conflict: left for a person"
        DONE = "done", "Merged or closed"

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="writes"
    )

    class Purpose(models.TextChoices):
        SETTINGS = "settings", "Settings changed on the dashboard"
        ONBOARDING = "onboarding", "Configure CodeQuest (onboarding)"
        DRIFT = "drift", "CODEOWNERS drift"

    purpose = models.CharField(
        max_length=12, choices=Purpose.choices, default=Purpose.SETTINGS
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.IDLE
    )
    # Files besides .codequest.yml (path -> text): a suggested CODEOWNERS.
    extra_files = models.JSONField(default=dict, blank=True)
    # Why each extra file says what it says, for the pull request's body.
    explanation = models.TextField(blank=True)
    # Review-settings field -> value, every change so far (later ones win).
    changes = models.JSONField(default=dict)
    due_at = models.DateTimeField(help_text="The end of the batching window.")
    branch = models.CharField(max_length=200, blank=True)
    pull_number = models.PositiveIntegerField(null=True, blank=True)
    pull_url = models.URLField(max_length=500, blank=True)
    # The default branch's file our branch was made from: what "the file changed
    # under us" compares with.
    base_text = models.TextField(blank=True)
    head_sha = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One write in progress per repository: later changes join it.
            models.UniqueConstraint(
                fields=["repository"],
                condition=models.Q(
                    status__in=["idle", "syncing", "success", "conflict"]
                ),
                name="one_open_write_per_repository",
            )
        ]

    def __str__(self) -> str:
        return f"settings write for {self.repository} ({self.status})"


class PracticeRepository(models.Model):
    """A team's practice repository for new reviewers, made from the built-in
    template (integrations.services.practice). Each step's result is kept, so a
    second run resumes where the first stopped and never creates twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Creating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="practice"
    )
    credential = models.ForeignKey(
        ProviderCredential,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The connection of the team admin who asked for it.",
    )
    provider = models.CharField(max_length=20, choices=provider_choices)
    owner = models.CharField(
        max_length=300,
        blank=True,
        help_text="The organization or group it is created in; empty for the "
        "account of the connection.",
    )
    name = models.CharField(max_length=100)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    log = models.JSONField(default=list, blank=True, editable=False)
    error = models.TextField(blank=True, editable=False)
    # Steps done so far.
    full_name = models.CharField(max_length=500, blank=True, editable=False)
    default_branch = models.CharField(max_length=255, blank=True, editable=False)
    template_sha = models.CharField(max_length=64, blank=True, editable=False)
    repository = models.OneToOneField(
        ConnectedRepository,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practice",
        editable=False,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "practice repositories"

    def __str__(self) -> str:
        return f"practice repository of {self.organization} ({self.status})"
