from django.contrib import admin, messages

from integrations.admin_scoping import OrganizationScopedAdmin, SuperuserOnlyAdmin
from rewards import spending
from rewards.models import (
    Kudos,
    PointsEntry,
    PointsRule,
    Quest,
    ReciprocalExchange,
    Redemption,
    Reward,
    Season,
    SpendEntry,
)


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    """Rows nobody adds, edits or deletes here (ledgers, decided requests,
    derived patterns); actions may still call services."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PointsRule)
class PointsRuleAdmin(SuperuserOnlyAdmin):
    list_display = ["key", "points", "version", "is_active", "updated_at"]
    readonly_fields = ["version"]


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyScopedAdmin):
    """The ledger is append-only: nothing here edits or deletes a line."""

    organization_path = "organization"
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


@admin.register(Season)
class SeasonAdmin(OrganizationScopedAdmin):
    """Team admins define seasons; leaderboard period=season uses the running one."""

    list_display = ["name", "organization", "starts_at", "ends_at", "resets_balances"]
    # Only teams present in the (scoped) list, never every team's name.
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]


@admin.register(Reward)
class RewardAdmin(OrganizationScopedAdmin):
    """The team's catalogue (README "Rewards"); withdrawing keeps the history."""

    list_display = ["name", "organization", "cost", "stock", "is_active"]
    list_filter = ["is_active", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at", "updated_at"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyScopedAdmin):
    """Redemptions are decided with the actions (the debit is written then),
    never edited by hand."""

    list_display = ["reward", "member", "organization", "cost", "status", "created_at"]
    list_filter = ["status", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["reward", "member", "organization"]
    actions = ["approve", "decline"]

    @admin.action(description="Approve (writes the debit line)")
    def approve(self, request, queryset) -> None:
        self._decide(request, queryset, spending.redemption_approve, "Approved")

    @admin.action(description="Decline (the points are free again)")
    def decline(self, request, queryset) -> None:
        self._decide(request, queryset, spending.redemption_decline, "Declined")

    def _decide(self, request, queryset, service, done: str) -> None:
        decided = 0
        for redemption in queryset:
            try:
                service(user=request.user, redemption=redemption)
            except (spending.SpendError, spending.NotTeamAdminError) as exc:
                self.message_user(request, f"{redemption}: {exc}", messages.ERROR)
            else:
                decided += 1
        if decided:
            self.message_user(request, f"{done} {decided}.", messages.SUCCESS)


@admin.register(SpendEntry)
class SpendEntryAdmin(ReadOnlyScopedAdmin):
    """The spending ledger is append-only: nothing here edits or deletes a line."""

    list_display = ["member", "points", "reason", "organization", "created_at"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["member", "organization"]


@admin.register(ReciprocalExchange)
class ReciprocalExchangeAdmin(ReadOnlyScopedAdmin):
    """Who keeps approving whom (README "Fair play"): read-only."""

    organization_path = "pull_request__repository__organization"
    list_display = ["identity", "reason", "share", "points", "full_points", "earned_at"]
    list_select_related = ["identity"]
    search_fields = ["identity__login", "reason"]
    ordering = ["-earned_at"]


@admin.register(Quest)
class QuestAdmin(ReadOnlyScopedAdmin):
    """Quests are started from the library (page or API) and settled by beat;
    here to look at, with each one's progress."""

    list_display = [
        "title",
        "organization",
        "scope",
        "starts_at",
        "ends_at",
        "settled_at",
    ]
    list_filter = ["scope", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["title", "template"]


@admin.register(Kudos)
class KudosAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "kind",
        "giver",
        "receiver",
        "organization",
        "message",
        "created_at",
    ]
    list_filter = ["kind", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["giver", "receiver", "organization"]
