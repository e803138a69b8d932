"""Admin for repositories, webhooks and deliveries. Secrets are never shown."""

from __future__ import annotations

import orjson
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils.html import format_html
from knox.models import AuthToken

from integrations import selectors, services
from integrations.admin_scoping import OrganizationScopedAdmin, SuperuserOnlyAdmin
from integrations.forms import TeamChoiceForm
from integrations.models import (
    AppInstallation,
    ConnectedRepository,
    IntegrationHealth,
    Organization,
    OrganizationMembership,
    ProviderCredential,
    RateLimitSample,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.providers.base import ProviderError
from integrations.tasks import repository_sync_task


class MembershipInline(admin.TabularInline):
    model = OrganizationMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_path = ""

    def visible_to(self, user):
        return Q(memberships__user=user)

    list_display = ["name", "slug", "source_path", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    # What the provider says; set when a team is made from it on the dashboard.
    readonly_fields = [
        "source_provider",
        "source_host",
        "source_path",
        "members_synced_at",
        "members_sync_error",
    ]
    inlines = [MembershipInline]


@admin.register(ConnectedRepository)
class ConnectedRepositoryAdmin(OrganizationScopedAdmin):
    list_display = [
        "full_name",
        "provider",
        "host",
        "organization",
        "webhook_status",
        "connection_status",
        "is_active",
        "last_event_at",
        "last_synced_at",
    ]
    list_filter = [
        "provider",
        "webhook_status",
        "is_active",
        # Only teams present in the (scoped) list, never every team's name.
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["organization", "credential"]
    search_fields = ["full_name", "host"]
    # What the provider says and what our processing records is shown, never
    # typed over; the team is the one thing decided here.
    readonly_fields = [
        "provider",
        "host",
        "full_name",
        "external_id",
        "default_branch",
        "web_url",
        "is_private",
        "is_active",
        "installation_id",
        "credential",
        "webhook_status",
        "last_event_at",
        "last_synced_at",
        "followed_since",
        "created_at",
        "updated_at",
    ]

    actions = ["sync_now", "assign_to_team"]

    def has_add_permission(self, request) -> bool:
        # A repository is connected (access checked, webhook registered, ids read
        # from the provider) on the dashboard or with manage.py connect_repo;
        # a row typed in here would have no provider id.
        return False

    @admin.display(description="Connection")
    def connection_status(self, repository: ConnectedRepository) -> str:
        credential = repository.credential
        return credential.get_status_display() if credential else "—"

    @admin.action(description="Sync now (reconcile with the provider)")
    def sync_now(self, request, queryset) -> None:
        from django.db import transaction

        ids = list(queryset.values_list("pk", flat=True))
        for pk in ids:
            transaction.on_commit(
                lambda pk=pk: repository_sync_task.delay(pk, False, "manual")
            )
        self.message_user(
            request,
            f"Sync queued for {len(ids)} repositories; see Sync runs.",
            messages.INFO,
        )

    @admin.action(description="Assign to team…")
    def assign_to_team(self, request, queryset):
        """Pick a team, then move the selected repositories of teams the person
        administers to it (repositories of no team: superusers only)."""
        teams = selectors.organizations_administered(request.user)
        form = TeamChoiceForm(
            request.POST if "apply" in request.POST else None, teams=teams
        )
        if form.is_valid():
            movable = queryset
            if not request.user.is_superuser:
                movable = queryset.filter(organization__in=teams)
            ids = list(movable.values_list("pk", flat=True))
            team = form.cleaned_data["organization"]
            moved = services.repositories_assign(repository_ids=ids, organization=team)
            self.message_user(request, f"{moved} repositories now belong to {team}.")
            skipped = queryset.count() - moved
            if skipped:
                self.message_user(
                    request,
                    f"{skipped} left where they are: their team is not one you "
                    "administer.",
                    messages.WARNING,
                )
            return None
        return TemplateResponse(
            request,
            "admin/integrations/assign_to_team.html",
            {
                **self.admin_site.each_context(request),
                "title": "Assign repositories to a team",
                "opts": self.model._meta,
                "form": form,
                "repositories": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    """Our hooks, as the provider holds them. They are registered, changed and
    removed on the provider through the API, the dashboard or connect_repo, with a
    fresh secret each; a row typed in here would have none, and an edit here
    would not reach the provider, so both are refused."""

    organization_path = "repository__organization"

    list_display = [
        "public_id",
        "provider",
        "repository",
        "provider_hook_id",
        "is_enabled",
        "is_active",
        "verified_at",
    ]
    list_filter = ["provider", "is_active", "is_enabled"]
    list_select_related = ["repository"]
    search_fields = ["public_id", "repository__full_name"]
    exclude = ["secret_encrypted"]
    readonly_fields = [
        "public_id",
        "provider",
        "repository",
        "provider_hook_id",
        "events",
        "is_enabled",
        "is_active",
        "verified_at",
        "created_at",
        "updated_at",
    ]
    actions = ["remove_on_provider"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # "Remove on the provider" removes it there too

    @admin.action(description="Remove on the provider (stops its deliveries)")
    def remove_on_provider(self, request, queryset) -> None:
        removed, refused = 0, []
        for endpoint in queryset.filter(is_active=True).select_related("repository"):
            if not (
                request.user.is_superuser or self._administers(request.user, endpoint)
            ):
                refused.append(f"{endpoint}: not a team you administer")
                continue
            try:
                services.webhook_config_delete(endpoint=endpoint)
                removed += 1
            except (services.WebhookConflict, ProviderError) as exc:
                refused.append(f"{endpoint}: {exc}")
        self.message_user(request, f"Removed {removed} webhooks.", messages.INFO)
        for line in refused:
            self.message_user(request, f"Not removed: {line}", messages.ERROR)


@admin.register(AppInstallation)
class AppInstallationAdmin(OrganizationScopedAdmin):
    list_display = [
        "installation_id",
        "account_login",
        "host",
        "is_active",
        "is_suspended",
    ]
    list_filter = ["is_active", "is_suspended"]
    search_fields = ["account_login"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrganizationScopedAdmin):
    organization_path = "repository__organization"

    list_display = [
        "delivery_id",
        "provider",
        "event",
        "action",
        "repository_name",
        "status",
        "attempts",
        "received_at",
        "processed_at",
    ]
    list_filter = ["provider", "status", "event"]
    search_fields = ["delivery_id", "repository_name"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    exclude = ["body"]
    readonly_fields = [
        "provider",
        "hook",
        "hook_key",
        "delivery_id",
        "event",
        "action",
        "repository_name",
        "repository",
        "headers",
        "status",
        "attempts",
        "error",
        "received_at",
        "processed_at",
        "payload",
    ]
    list_select_related = ["repository"]
    show_full_result_count = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith(
            "changelist"
        ):
            return queryset.defer("body", "headers")
        return queryset

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the audit log is read-only; "Replay" is the one action

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Payload")
    def payload(self, delivery: WebhookDelivery) -> str:
        try:
            pretty = orjson.dumps(
                orjson.loads(bytes(delivery.body)), option=orjson.OPT_INDENT_2
            ).decode()
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            # Not JSON, or nested past what orjson re-encodes (254 levels).
            pretty = bytes(delivery.body)[:20000].decode("utf-8", "replace")
        return format_html(
            '<pre style="max-height:40rem;overflow:auto">{}</pre>', pretty
        )

    @admin.action(description="Replay (reprocess) selected deliveries")
    def replay(self, request, queryset) -> None:
        outcomes: dict[str, int] = {}
        for pk in queryset.values_list("pk", flat=True):
            status = services.delivery_process(delivery_id=pk, force=True)
            outcomes[status] = outcomes.get(status, 0) + 1
        summary = ", ".join(
            f"{count} {status}" for status, count in sorted(outcomes.items())
        )
        self.message_user(
            request, f"Replayed: {summary or 'nothing selected'}", messages.INFO
        )


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(OrganizationScopedAdmin):
    def visible_to(self, user):
        return Q(organization__memberships__user=user) | Q(user=user)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.user_id == request.user.pk:
            return super(OrganizationScopedAdmin, self).has_change_permission(
                request, obj
            )
        return super().has_change_permission(request, obj)

    list_display = [
        "__str__",
        "provider",
        "kind",
        "organization",
        "status",
        "updated_at",
    ]
    list_filter = ["provider", "kind", "status"]
    search_fields = ["label"]
    exclude = ["token_encrypted"]
    readonly_fields = ["public_id", "provider", "api_url", "kind", "last_error"]


@admin.register(SyncRun)
class SyncRunAdmin(OrganizationScopedAdmin):
    """Sync history: what each reconciliation found and what it cost."""

    organization_path = "repository__organization"
    list_display = [
        "repository",
        "kind",
        "status",
        "trigger",
        "started_at",
        "api_calls",
        "rate_limit_points",
        "changes",
        "missed_by_webhooks",
    ]
    list_filter = ["status", "kind", "trigger", "repository__provider"]
    search_fields = ["repository__full_name", "error"]
    list_select_related = ["repository"]
    date_hierarchy = "started_at"
    readonly_fields = [field.name for field in SyncRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RateLimitSample)
class RateLimitSampleAdmin(SuperuserOnlyAdmin):
    """Rate-limit headers as seen; the token appears only as a fingerprint."""

    list_display = [
        "provider",
        "host",
        "token_fingerprint",
        "resource",
        "remaining",
        "limit",
        "reset_at",
        "sampled_at",
    ]
    list_filter = ["provider", "resource"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IntegrationHealth)
class IntegrationHealthAdmin(OrganizationScopedAdmin):
    """Health check history; the newest row per repository is its status."""

    organization_path = "repository__organization"
    list_display = ["repository", "status", "summary", "latency_ms", "checked_at"]
    list_filter = ["status", "repository__provider"]
    search_fields = ["repository__full_name"]
    list_select_related = ["repository"]
    date_hierarchy = "checked_at"
    readonly_fields = [field.name for field in IntegrationHealth._meta.fields]

    @admin.display(description="Why")
    def summary(self, health: IntegrationHealth) -> str:
        return "; ".join(health.reasons) or "all checks passed"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# django-rest-knox's own admin lists token digests and lets any staff member
# mint a token for any user; ours shows who holds which token and revokes.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(SuperuserOnlyAdmin):
    list_display = ["token_key", "user", "created", "expiry"]
    search_fields = ["token_key", "user__username"]
    fields = ["token_key", "user", "created", "expiry"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False  # tokens are created by their owner (dashboard or api_token)

    def has_change_permission(self, request, obj=None) -> bool:
        return False
