"""Admin isolation: staff who are not superusers see only their teams' rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet


class OrganizationScopedAdmin(admin.ModelAdmin):
    """``organization_path`` is the lookup from the model to its Organization."""

    organization_path: str = "organization"

    def get_queryset(self, request) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(self.visible_to(request.user)).distinct()

    def visible_to(self, user: Any) -> Q:
        return Q(**{f"{self.organization_path}__memberships__user": user})

    def has_change_permission(self, request, obj=None) -> bool:
        """Changing a team's rows (hooks, credentials...) is for that team's admins."""
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or request.user.is_superuser:
            return allowed
        return self._is_team_admin(request.user, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        if not allowed or obj is None or request.user.is_superuser:
            return allowed
        return self._is_team_admin(request.user, obj)

    def _is_team_admin(self, user: Any, obj: Any) -> bool:
        from integrations.models import OrganizationMembership

        path = (
            f"{self.organization_path}__memberships"
            if self.organization_path
            else "memberships"
        )
        return (
            type(obj)
            .objects.filter(
                pk=obj.pk,
                **{
                    f"{path}__user": user,
                    f"{path}__role": OrganizationMembership.Role.ADMIN,
                },
            )
            .exists()
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Offer only the person's own teams in organization pickers."""
        from integrations.models import Organization

        if db_field.related_model is Organization and not request.user.is_superuser:
            kwargs["queryset"] = Organization.objects.filter(
                memberships__user=request.user
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Rows that belong to no single team (people, identities)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
