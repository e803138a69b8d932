"""Admin isolation: staff who are not superusers see only their teams' rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet

from integrations.models import Organization, OrganizationMembership


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
        """Every foreign-key choice (raw-id fields too) is limited to the person's
        teams: the field's queryset is what the submitted id is validated against."""
        choices = self._choices_for(db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = self._choices_for(db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _choices_for(self, model: type[Model], request) -> QuerySet | None:
        """Teams the person administers; other team-owned rows as their admin
        shows them; None (unchanged) for superusers and rows of no team."""
        if request.user.is_superuser:
            return None
        if model is Organization:
            return Organization.objects.filter(
                memberships__user=request.user,
                memberships__role=OrganizationMembership.Role.ADMIN,
            )
        related = self.admin_site._registry.get(model)
        if isinstance(related, OrganizationScopedAdmin):
            return related.get_queryset(request)
        return None

    def save_model(self, request, obj, form, change) -> None:
        """The row as it will be saved must belong to a team the person administers:
        re-pointing a hook or a review at another team's row is refused."""
        if not request.user.is_superuser and not self._administers(request.user, obj):
            raise PermissionDenied("you can only save rows of teams you administer")
        super().save_model(request, obj, form, change)

    def _administers(self, user: Any, obj: Model) -> bool:
        organization: Any = obj
        for step in filter(None, self.organization_path.split("__")):
            organization = getattr(organization, step, None)
            if organization is None:
                return False  # rows of no team are for superusers
        return OrganizationMembership.objects.filter(
            organization=organization,
            user=user,
            role=OrganizationMembership.Role.ADMIN,
        ).exists()


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
