"""Notifications in the admin: what was sent to whom, what failed and why,
and sending a failed one again. A person's messages belong to no single team,
so only superusers see them."""

from django.contrib import admin, messages
from django.utils import timezone

from integrations.admin_scoping import OrganizationScopedAdmin, SuperuserOnlyAdmin
from notifications.models import Notification, NotificationSettings, TeamChannel


@admin.register(Notification)
class NotificationAdmin(SuperuserOnlyAdmin):
    list_display = (
        "created_at",
        "recipient",
        "kind",
        "channel",
        "status",
        "attempts",
        "due_at",
        "sent_at",
        "error",
    )
    list_filter = ("status", "channel", "kind")
    search_fields = ("recipient__username", "subject", "key")
    readonly_fields = [field.name for field in Notification._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send the selected failed notifications again")
    def send_again(self, request, queryset):
        count = queryset.filter(status=Notification.Status.FAILED).update(
            status=Notification.Status.PENDING,
            attempts=0,
            due_at=timezone.now(),
            error="",
        )
        messages.success(request, f"{count} will be sent again within a minute.")


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(SuperuserOnlyAdmin):
    list_display = ("user", "quiet_outside_working_hours", "urgent_breaks_through")
    raw_id_fields = ("user",)


@admin.register(TeamChannel)
class TeamChannelAdmin(OrganizationScopedAdmin):
    """A team's channels; the URL (a secret) is never shown, only its host."""

    list_display = ("name", "organization", "kind", "host", "is_active", "last_error")
    list_filter = ("kind", "is_active")
    fields = (
        "organization",
        "name",
        "kind",
        "host",
        "slack_channel",
        "kinds",
        "is_active",
        "last_error",
    )
    readonly_fields = ("organization", "kind", "host", "slack_channel", "last_error")

    def has_add_permission(self, request) -> bool:
        return False  # added on the team's page, where the URL is checked
