from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html, format_html_join

from integrations.admin_scoping import OrganizationScopedAdmin, SuperuserOnlyAdmin
from reviews.assignment.explanations import explanation_lines
from reviews.models import (
    AvailabilityWindow,
    Comment,
    Member,
    ProviderIdentity,
    PullRequest,
    PullRequestHead,
    RepositoryReviewSettings,
    Review,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)
from reviews.tasks import reviewer_assign_task


class IdentityInline(admin.TabularInline):
    model = ProviderIdentity
    extra = 0
    fields = ["provider", "host", "login", "is_bot"]


@admin.register(Member)
class MemberAdmin(SuperuserOnlyAdmin):
    list_display = ["display_name", "user", "created_at"]
    search_fields = ["display_name", "identities__login", "user__username"]
    inlines = [IdentityInline]


@admin.register(ProviderIdentity)
class ProviderIdentityAdmin(SuperuserOnlyAdmin):
    list_display = ["login", "provider", "host", "member", "is_bot"]
    list_filter = ["provider", "is_bot"]
    search_fields = ["login", "member__display_name"]
    autocomplete_fields = ["member"]


class HeadInline(admin.TabularInline):
    model = PullRequestHead
    extra = 0
    readonly_fields = ["sha", "seen_at"]
    can_delete = False


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    fields = ["reviewer_login", "state", "submitted_at", "commit_sha"]
    readonly_fields = fields
    can_delete = False


@admin.register(PullRequest)
class PullRequestAdmin(OrganizationScopedAdmin):
    organization_path = "repository__organization"

    list_display = [
        "__str__",
        "title",
        "author_login",
        "state",
        "draft",
        "provider_updated_at",
    ]
    list_filter = ["state", "draft", "repository__provider"]
    search_fields = ["title", "author_login", "repository__full_name"]
    list_select_related = ["repository"]
    inlines = [HeadInline, ReviewInline]
    readonly_fields = ["repository", "number", "external_id", "provider_updated_at"]
    actions = ["assign_reviewers"]

    @admin.action(description="Assign reviewers now (open, non-draft only)")
    def assign_reviewers(self, request, queryset) -> None:
        """On demand: the same pipeline as on open, queued for the worker."""
        eligible = list(
            queryset.filter(state="open")
            .exclude(draft=True)
            .values_list("pk", flat=True)
        )
        for pk in eligible:
            transaction.on_commit(
                lambda pk=pk: reviewer_assign_task.delay(pk, "manual")
            )
        skipped = queryset.count() - len(eligible)
        self.message_user(
            request,
            f"Reviewer assignment queued for {len(eligible)} pull request(s)"
            + (f"; {skipped} closed or draft skipped." if skipped else "."),
            messages.INFO,
        )


@admin.register(Review)
class ReviewAdmin(OrganizationScopedAdmin):
    organization_path = "pull_request__repository__organization"

    list_display = ["reviewer_login", "state", "pull_request", "submitted_at"]
    list_filter = ["state"]
    search_fields = ["reviewer_login", "pull_request__repository__full_name"]
    list_select_related = ["pull_request__repository"]
    raw_id_fields = ["pull_request"]


@admin.register(Comment)
class CommentAdmin(OrganizationScopedAdmin):
    organization_path = "pull_request__repository__organization"

    list_display = [
        "author_login",
        "kind",
        "pull_request",
        "is_deleted",
        "provider_created_at",
    ]
    list_filter = ["kind", "is_deleted", "is_resolved"]
    search_fields = ["author_login", "body"]
    list_select_related = ["pull_request__repository"]
    raw_id_fields = ["pull_request"]


@admin.register(RepositoryReviewSettings)
class RepositoryReviewSettingsAdmin(OrganizationScopedAdmin):
    organization_path = "repository__organization"
    list_display = [
        "repository",
        "auto_assign",
        "strategy",
        "reviewer_count",
        "sla_hours",
        "sla_reminder",
        "sla_reassign",
    ]
    list_filter = [
        "auto_assign",
        "strategy",
        "sla_reminder",
        "sla_reassign",
        "file_status",
    ]
    search_fields = ["repository__full_name"]
    list_select_related = ["repository"]
    # Excluded paths change what earns: set on the dashboard or in
    # .codequest.yml, both of which recount the repository's points.
    readonly_fields = [
        "quiet_labels",
        "points_exclude_paths",
        "size_thresholds",
        "file_status",
        "file_error",
        "file_values",
        "file_checked_at",
        "codeowners_path",
    ]


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(OrganizationScopedAdmin):
    organization_path = "pull_request__repository__organization"
    list_display = [
        "pull_request",
        "reviewers",
        "teams",
        "status",
        "trigger",
        "created_at",
    ]
    list_filter = ["status", "trigger", "strategy"]
    list_select_related = ["pull_request__repository"]
    readonly_fields = [
        "pull_request",
        "trigger",
        "is_automatic",
        "strategy",
        "reviewers",
        "teams",
        "explained",
        "head_sha",
        "status",
        "error",
        "created_at",
    ]
    exclude = ["explanation"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an audit record: what was decided, and why

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Why")
    def explained(self, assignment: ReviewAssignment) -> str:
        lines = explanation_lines(assignment.explanation)
        items = format_html_join("", "<li>{}</li>", ((line,) for line in lines))
        return format_html('<ul class="explanation">{}</ul>', items)


@admin.register(ReviewRequest)
class ReviewRequestAdmin(OrganizationScopedAdmin):
    """Who was asked to review what, and whether the SLA reminder went out."""

    organization_path = "pull_request__repository__organization"
    list_display = [
        "reviewer_login",
        "pull_request",
        "requested_at",
        "responded_at",
        "is_active",
        "reminded_at",
        "reassigned_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["reviewer_login", "pull_request__repository__full_name"]
    list_select_related = ["pull_request__repository"]
    readonly_fields = [
        "pull_request",
        "reviewer_login",
        "requested_at",
        "responded_at",
        "is_active",
        "reminded_at",
        "reassigned_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(SuperuserOnlyAdmin):
    list_display = ["identity", "capacity", "never_assign", "timezone"]
    search_fields = ["identity__login"]
    raw_id_fields = ["identity"]


@admin.register(AvailabilityWindow)
class AvailabilityWindowAdmin(SuperuserOnlyAdmin):
    # The note is the person's own; the admin sees only when they are away.
    list_display = ["identity", "starts_at", "ends_at"]
    exclude = ["note"]
    raw_id_fields = ["identity"]
