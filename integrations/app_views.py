"""App install callback and the person's installations, for providers with Apps."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.models import AppInstallation
from integrations.providers import PROVIDERS
from integrations.providers.base import Capability, Provider, ProviderError
from integrations.selectors import installation_repositories_visible_to
from integrations.services.installations import installation_link


def _with_app(slug: str) -> Provider:
    adapter = PROVIDERS.get(slug)
    if adapter is None or not adapter.can(Capability.INSTALLATIONS):
        raise Http404("no App installations for this provider")
    return adapter


@login_required
def app_install_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider sends the browser here (the App's setup URL) after an install."""
    adapter = _with_app(provider)
    raw_id = request.GET.get("installation_id", "")
    if not raw_id.isdigit() or len(raw_id) > 18:
        messages.error(
            request, f"{adapter.name} did not say which installation this was."
        )
        return redirect("dashboard")
    try:
        linked = installation_link(
            user=request.user, provider=provider, installation_id=int(raw_id)
        )
    except ProviderError as exc:
        messages.error(request, f"The {adapter.name} App could not be linked: {exc}.")
        return redirect("dashboard")
    count = len(linked.repositories)
    messages.success(
        request,
        f"{adapter.name} App installed on @{linked.installation.account_login}: "
        f"{count} repositor{'y' if count == 1 else 'ies'} connected.",
    )
    return redirect("dashboard")


class AppInstallationListApi(APIView):
    """GET /auth/<provider>/installations: your App installations and their
    repositories."""

    class OutputSerializer(serializers.Serializer):
        installation_id = serializers.IntegerField()
        account = serializers.CharField()
        host = serializers.CharField()
        suspended = serializers.BooleanField()
        repositories = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, provider: str, *args, **kwargs):
        _with_app(provider)
        mine = Q(linked_by=request.user) | Q(
            organization__memberships__user=request.user
        )
        installations = (
            AppInstallation.objects.filter(mine, provider=provider, is_active=True)
            .distinct()
            .order_by("account_login")
        )
        repositories: dict[int, list[str]] = {}
        for installation_id, full_name in installation_repositories_visible_to(
            request.user, installations
        ).values_list("installation_id", "full_name"):
            repositories.setdefault(installation_id, []).append(full_name)
        items = [
            {
                "installation_id": item.installation_id,
                "account": item.account_login,
                "host": item.host,
                "suspended": item.is_suspended,
                "repositories": sorted(repositories.get(item.installation_id, [])),
            }
            for item in installations
        ]
        return Response(self.OutputSerializer(items, many=True).data)
