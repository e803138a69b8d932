from django.contrib import admin

from integrations.admin_scoping import OrganizationScopedAdmin, SuperuserOnlyAdmin
from rewards.models import PointsEntry, PointsRule, Season


@admin.register(PointsRule)
class PointsRuleAdmin(SuperuserOnlyAdmin):
    list_display = ["key", "points", "version", "is_active", "updated_at"]
    readonly_fields = ["version"]


@admin.register(PointsEntry)
class PointsEntryAdmin(OrganizationScopedAdmin):
    """The ledger is append-only: nothing here edits or deletes a line."""

    organization_path = "pull_request__repository__organization"
    list_display = [
        "identity",
        "points",
        "reason",
        "rule",
        "rule_version",
        "earned_at",
        "created_at",
    ]
    list_filter = ["rule"]
    search_fields = ["identity__login", "reason"]
    list_select_related = ["identity", "rule"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Season)
class SeasonAdmin(OrganizationScopedAdmin):
    """Team admins define seasons; leaderboard period=season uses the running one."""

    list_display = ["name", "organization", "starts_at", "ends_at"]
    # Only teams present in the (scoped) list, never every team's name.
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
