"""People, pull/merge requests, their head history, reviews and comments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from integrations.models import ConnectedRepository
from integrations.providers import provider_choices
from integrations.providers.hosts import safe_link


class PullState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    MERGED = "merged", "Merged"


class ReviewState(models.TextChoices):
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    COMMENTED = "commented", "Commented"
    DISMISSED = "dismissed", "Dismissed"


class CommentKind(models.TextChoices):
    REVIEW_COMMENT = "review_comment", "Review comment"
    ISSUE_COMMENT = "issue_comment", "Conversation comment"
    NOTE = "note", "Note"


class Member(models.Model):
    """A person; provider identities (github:octocat, gitlab:octo) link to them."""

    display_name = models.CharField(max_length=200)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
    )
    # The person's side of the privacy charter (README "Privacy").
    on_leaderboards = models.BooleanField(
        default=True,
        help_text="Shown on team leaderboards; off, points still count, and "
        "only the person sees their own row.",
    )
    shares_points = models.BooleanField(
        default=False,
        help_text="Teammates may open this person's points history.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class ProviderIdentity(models.Model):
    """A login on one code host, seen in events; ``member`` once linked."""

    provider = models.CharField(max_length=20, choices=provider_choices)
    host = models.CharField(max_length=255)
    login = models.CharField(max_length=255)
    external_id = models.CharField(max_length=64, blank=True, db_index=True)
    is_bot = models.BooleanField(default=False)
    member = models.ForeignKey(
        Member,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="identities",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "provider identities"
        ordering = ["provider", "login"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "host", "login"], name="unique_identity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.login}"


class PullRequest(models.Model):
    """Our copy of a GitHub pull request or GitLab merge request."""

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="pull_requests"
    )
    number = models.PositiveIntegerField(help_text="PR number / MR iid.")
    external_id = models.BigIntegerField(null=True, blank=True)
    title = models.TextField(blank=True)
    author_login = models.CharField(max_length=255, blank=True, db_index=True)
    author_external_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=PullState.choices, db_index=True)
    draft = models.BooleanField(null=True, help_text="Empty until a payload says.")
    ready_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The first moment it was seen ready for review (not a draft): "
        "where the time to first review starts.",
    )
    head_sha = models.CharField(max_length=64, blank=True)
    # What the merge put on the base branch (see PullRequestSnapshot).
    merge_commit_sha = models.CharField(max_length=64, blank=True)
    # Issue numbers the description closes ("fixes #12"), same repository.
    closes_issues = models.JSONField(default=list, blank=True)
    # Git puts no limit on branch names; providers accept far past 255.
    head_ref = models.TextField(blank=True)
    base_ref = models.TextField(blank=True)
    url = models.URLField(max_length=1000, blank=True)
    requested_reviewers = models.JSONField(default=list, blank=True)
    requested_teams = models.JSONField(default=list, blank=True)
    assignees = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=list, blank=True)
    additions = models.PositiveIntegerField(null=True, blank=True)
    deletions = models.PositiveIntegerField(null=True, blank=True)
    changed_files = models.PositiveIntegerField(null=True, blank=True)
    merged_by_login = models.CharField(max_length=255, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    # The version guard: the provider's updated_at of the snapshot we hold.
    # Null while we only know the PR from a summary (a comment's issue).
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    # Breaks ties between snapshots of the same provider second (see
    # reviews.services.TIE_RANKS): the higher rank is the later state.
    provider_tie_rank = models.PositiveSmallIntegerField(default=0)
    merged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-provider_updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="unique_pull_request"
            )
        ]
        indexes = [
            models.Index(fields=["state", "repository"], name="pull_state_idx"),
            # Team statistics read recent pull requests by these two times.
            models.Index(fields=["provider_created_at"], name="pull_created_idx"),
            models.Index(fields=["merged_at"], name="pull_merged_idx"),
            models.Index(
                Lower("author_login"),
                "provider_created_at",
                name="pull_author_lower_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository.full_name}#{self.number}"

    @property
    def link(self) -> str:
        """``url`` when it may be a link (http(s) on a provider host), else ""."""
        return safe_link(self.url, self.repository.provider)


class Issue(models.Model):
    """An issue of a connected repository, as its latest event said: enough to
    list them and to show what a pull request closes."""

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="issues"
    )
    number = models.PositiveIntegerField()
    title = models.TextField()
    state = models.CharField(max_length=10)  # open | closed
    url = models.URLField(max_length=500, blank=True)
    author_login = models.CharField(max_length=255, blank=True)
    labels = models.JSONField(default=list, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="unique_issue_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository.full_name}#{self.number}"

    @property
    def link(self) -> str:
        return safe_link(self.url, self.repository.provider)


class IssueGone(models.Model):
    """An issue deleted or transferred away: its number is never used again in
    the repository, so a late event of it must not bring it back."""

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="+"
    )
    number = models.PositiveIntegerField()
    gone_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="unique_issue_gone"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository_id}#{self.number} (gone)"


class PullRequestHead(models.Model):
    """Every head sha a PR has had, so later work can tell stale reviews."""

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="heads"
    )
    sha = models.CharField(max_length=64)
    seen_at = models.DateTimeField(help_text="Provider time the head was first seen.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seen_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pull_request", "sha"], name="unique_head")
        ]

    def __str__(self) -> str:
        return f"{self.pull_request} @ {self.sha[:7]}"


class PullRequestFile(models.Model):
    """A path a PR changes, kept so expertise can be scored from history."""

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="files"
    )
    path = models.CharField(max_length=1024)
    directory = models.CharField(max_length=1024, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "path"], name="unique_pull_file"
            )
        ]

    def __str__(self) -> str:
        return self.path


class ReviewRequest(models.Model):
    """One person asked to review a PR: since when, and when they first answered.

    Kept from the provider's ``requested_reviewers`` on every newer snapshot, so
    requests made on the provider and by us are tracked the same way.
    """

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="review_requests"
    )
    reviewer_login = models.CharField(max_length=255)
    requested_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Still requested on the provider."
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(
        null=True, blank=True, help_text="No reminder before (/codequest snooze)."
    )
    reassigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "reviewer_login"], name="unique_review_request"
            )
        ]
        indexes = [
            models.Index(
                fields=["reviewer_login", "is_active"], name="review_request_open_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_login} on {self.pull_request_id}"


class ReviewRequestSighting(models.Model):
    """Who a pull request asked to review, as the provider's snapshot of one
    moment showed it.

    One row per snapshot time: review requests are derived from all of them
    (``reviews.services``), so a snapshot that arrives late, older than one
    applied already, still lands in its place in the pull request's history
    and the requests end the same whatever the order of arrival.
    """

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="request_sightings"
    )
    seen_at = models.DateTimeField(help_text="The snapshot's provider time.")
    logins = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "seen_at"], name="unique_request_sighting"
            )
        ]

    def __str__(self) -> str:
        return f"{self.pull_request_id} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class Review(models.Model):
    """A submitted review; a GitLab approval is a review with state approved."""

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="reviews"
    )
    external_id = models.CharField(max_length=100)
    reviewer_login = models.CharField(max_length=255, db_index=True)
    reviewer_external_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=20, choices=ReviewState.choices)
    body = models.TextField(blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    submitted_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "external_id"], name="unique_review"
            )
        ]
        indexes = [
            models.Index(fields=["submitted_at"], name="review_submitted_idx"),
            # give and take reads a person's reviews by their login, any case
            models.Index(
                Lower("reviewer_login"),
                "submitted_at",
                name="review_reviewer_lower_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_login} {self.state} on {self.pull_request_id}"


class Comment(models.Model):
    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="comments"
    )
    kind = models.CharField(max_length=20, choices=CommentKind.choices)
    external_id = models.CharField(max_length=100)
    review_external_id = models.CharField(max_length=100, blank=True, db_index=True)
    author_login = models.CharField(max_length=255)
    author_external_id = models.CharField(max_length=64, blank=True)
    body = models.TextField(blank=True)
    # An inline (diff) comment's file and line in the new version.
    path = models.CharField(max_length=1024, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)
    is_resolved = models.BooleanField(default=False)
    provider_created_at = models.DateTimeField()
    provider_updated_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "kind", "external_id"], name="unique_comment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id} by {self.author_login}"


class ReviewerProfile(models.Model):
    """How much review work a person takes, and when (set by them or an admin)."""

    identity = models.OneToOneField(
        ProviderIdentity, on_delete=models.CASCADE, related_name="reviewer_profile"
    )
    capacity = models.PositiveSmallIntegerField(
        default=5, help_text="Open review requests at most."
    )
    never_assign = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, default="UTC")
    workday_start_hour = models.PositiveSmallIntegerField(default=9)
    workday_end_hour = models.PositiveSmallIntegerField(default=18)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reviewer profile of {self.identity}"


class AvailabilityWindow(models.Model):
    """A time away (vacation, leave); the note stays private to the person."""

    identity = models.ForeignKey(
        ProviderIdentity, on_delete=models.CASCADE, related_name="away"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="away_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.identity} away {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"


class AssignmentStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin (least recently requested)"
    LOAD_BALANCE = "load_balance", "Load balance (last 30 days)"
    OPEN_LOAD = "open_load", "Current open load, by size"
    EXPERTISE = "expertise", "Expertise blended with load"


class SlaReminder(models.TextChoices):
    AUTO = (
        "auto",
        (
            "Message the reviewer where they get messages; comment on the pull "
            "request when no chat channel is set up"
        ),
    )
    COMMENT = "comment", "Comment on the pull request and nudge on the dashboard"
    DASHBOARD = "dashboard", "Dashboard nudge only"
    OFF = "off", "No reminder"


def size_thresholds_default() -> list[int]:
    """Changed lines at which size/S, size/M, size/L and size/XL begin."""
    return [10, 100, 500, 1000]


class FileStatus(models.TextChoices):
    UNKNOWN = "", "Not read yet"
    ABSENT = "absent", "No .codequest.yml"
    VALID = "valid", "In force"
    INVALID = "invalid", "Invalid: the last valid settings stay in force"
    UNREADABLE = "unreadable", "Could not be read"


class RepositoryReviewSettings(models.Model):
    repository = models.OneToOneField(
        ConnectedRepository, on_delete=models.CASCADE, related_name="review_settings"
    )
    auto_assign = models.BooleanField(default=True)
    strategy = models.CharField(
        max_length=20,
        choices=AssignmentStrategy.choices,
        default=AssignmentStrategy.LOAD_BALANCE,
    )
    reviewer_count = models.PositiveSmallIntegerField(default=1)
    pool = models.JSONField(
        default=list,
        blank=True,
        help_text='Logins or teams, e.g. ["@kim", "@org/web"].',
    )
    teams = models.JSONField(
        default=dict,
        blank=True,
        help_text='Team members, e.g. {"@org/web": ["kim", "lee"]}. Teams not '
        "listed here are read from the provider.",
    )
    sla_hours = models.PositiveSmallIntegerField(
        default=9,
        help_text="Business hours a review request may wait (9 = one working day).",
    )
    sla_reminder = models.CharField(
        max_length=20,
        choices=SlaReminder.choices,
        default=SlaReminder.AUTO,
    )
    sla_reassign = models.BooleanField(
        default=False,
        help_text="After a second SLA period, request someone else instead.",
    )
    status_comment = models.BooleanField(
        default=False,
        help_text="Keep one comment on each open pull request: who was asked, "
        "why, and by when, edited in place as that changes.",
    )
    quiet_labels = models.JSONField(
        default=list,
        blank=True,
        help_text="Pull requests with one of these labels get nobody asked, "
        'e.g. ["wip"].',
    )
    points_exclude_paths = models.JSONField(
        default=list,
        blank=True,
        help_text="A pull request that changes only these paths earns no points, "
        'e.g. ["docs/**"].',
    )
    size_labels = models.BooleanField(
        default=False,
        help_text="Label pull requests size/XS … size/XL by changed lines.",
    )
    size_thresholds = models.JSONField(
        default=size_thresholds_default,
        help_text="Changed lines where S, M, L and XL start, "
        "e.g. [10, 100, 500, 1000].",
    )
    # .codequest.yml on the default branch (reviews.config_file): what it set
    # last time it was valid, and how the last reading went.
    file_values = models.JSONField(default=dict, blank=True, editable=False)
    file_status = models.CharField(
        max_length=12,
        choices=FileStatus.choices,
        default=FileStatus.UNKNOWN,
        blank=True,
        editable=False,
    )
    file_error = models.TextField(blank=True, editable=False)
    file_digest = models.CharField(max_length=12, blank=True, editable=False)
    file_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    codeowners_path = models.CharField(max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "repository review settings"

    def __str__(self) -> str:
        return f"review settings of {self.repository}"

    @property
    def file_error_lines(self) -> list[str]:
        return [line for line in self.file_error.split("; ") if line]


class ReviewAssignment(models.Model):
    """One reviewer choice, with its explanation; one automatic choice per PR."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested on the provider"
        NOBODY = "nobody", "Nobody to request"
        FAILED = "failed", "Failed"

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="assignments"
    )
    trigger = models.CharField(max_length=40)
    is_automatic = models.BooleanField(default=True)
    strategy = models.CharField(max_length=20, choices=AssignmentStrategy.choices)
    reviewers = models.JSONField(default=list)
    teams = models.JSONField(default=list)
    explanation = models.JSONField(default=dict)
    head_sha = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request"],
                condition=models.Q(is_automatic=True),
                name="one_automatic_assignment",
            )
        ]

    def __str__(self) -> str:
        return f"assignment for {self.pull_request_id}: {', '.join(self.reviewers)}"


class ForcePush(models.Model):
    """A push that rewrote a branch (GitHub says ``forced``): approvals of the
    commit it replaced are of a version that no longer exists."""

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="force_pushes"
    )
    ref = models.TextField(help_text="The branch, without refs/heads/.")
    before_sha = models.CharField(max_length=64)
    after_sha = models.CharField(max_length=64)
    pushed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "ref", "before_sha", "after_sha"],
                name="unique_force_push",
            )
        ]
        indexes = [
            models.Index(fields=["repository", "before_sha"], name="force_push_before")
        ]

    def __str__(self) -> str:
        return (
            f"{self.repository} {self.ref}: {self.before_sha[:7]}→{self.after_sha[:7]}"
        )


class PracticeRound(models.Model):
    """One practice review: a pull request with planted problems opened in the
    team's practice repository for one person, and how many they found
    (reviews.practice scores it from the stored comments)."""

    class Status(models.TextChoices):
        OPENING = "opening", "Opening the pull request"
        OPEN = "open", "Waiting for the review"
        REVIEWED = "reviewed", "Reviewed"
        FAILED = "failed", "Failed"

    repository = models.ForeignKey(
        ConnectedRepository, on_delete=models.CASCADE, related_name="practice_rounds"
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="practice_rounds"
    )
    login = models.CharField(
        max_length=255, help_text="The person's login on the provider."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPENING
    )
    branch = models.CharField(max_length=200, blank=True)
    pull_number = models.PositiveIntegerField(null=True, blank=True)
    pull_url = models.URLField(max_length=500, blank=True)
    found = models.JSONField(
        default=list, blank=True, help_text="The planted problems found (keys)."
    )
    problem_count = models.PositiveSmallIntegerField(default=0)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "pull_number"],
                condition=models.Q(pull_number__isnull=False),
                name="one_round_per_pull_request",
            ),
            # One round at a time per person: finish it, then another.
            models.UniqueConstraint(
                fields=["repository", "member"],
                condition=models.Q(status__in=["opening", "open"]),
                name="one_open_round_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"practice round of {self.member} ({self.status})"


class PullCommand(models.Model):
    """A ``/codequest`` command in a pull request comment: recorded once per
    comment (a replayed delivery finds it), run once, answered in a reply."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="commands"
    )
    comment_kind = models.CharField(max_length=20, choices=CommentKind.choices)
    comment_external_id = models.CharField(max_length=100)
    author_login = models.CharField(max_length=255)
    name = models.CharField(max_length=20)
    argument = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED
    )
    reply = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "comment_kind", "comment_external_id"],
                name="one_command_per_comment",
            )
        ]

    def __str__(self) -> str:
        return f"/codequest {self.name} by {self.author_login} ({self.status})"


class StatusComment(models.Model):
    """The one comment CodeQuest keeps on a pull request (where its repository
    asks for it): who was asked, why, and by when, edited in place. ``digest``
    is of the text last written, so an unchanged state writes nothing."""

    pull_request = models.OneToOneField(
        PullRequest, on_delete=models.CASCADE, related_name="status_comment"
    )
    external_id = models.CharField(max_length=100, blank=True)
    digest = models.CharField(max_length=64, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        made = self.external_id or "(not yet)"
        return f"status comment {made} on pull request {self.pull_request_id}"
