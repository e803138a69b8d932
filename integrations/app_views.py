"""GitHub App install callback and the person's installations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.models import AppInstallation
from integrations.providers.base import ProviderError
from integrations.selectors import installation_repositories_visible_to
from integrations.services import github_app


@login_required
def github_install_callback(request: HttpRequest) -> HttpResponse:
    """GitHub sends the browser here (the App's setup URL) after an install."""
    raw_id = request.GET.get("installation_id", "")
    if not raw_id.isdigit() or len(raw_id) > 18:
        messages.error(request, "GitHub did not say which installation this was.")
        return redirect("dashboard")
    try:
        linked = github_app.installation_link(
            user=request.user, installation_id=int(raw_id)
        )
    except ProviderError as exc:
        messages.error(request, f"The GitHub App could not be linked: {exc}.")
        return redirect("dashboard")
    count = len(linked.repositories)
    messages.success(
        request,
        f"GitHub App installed on @{linked.installation.account_login}: "
        f"{count} repositor{'y' if count == 1 else 'ies'} connected.",
    )
    return redirect("dashboard")


class GitHubInstallationListApi(APIView):
    """GET /auth/github/installations: your App installations and their repositories."""

    def get(self, request, *args, **kwargs):
        mine = Q(linked_by=request.user) | Q(
            organization__memberships__user=request.user
        )
        installations = (
            AppInstallation.objects.filter(mine, provider="github", is_active=True)
            .distinct()
            .order_by("account_login")
        )
        repositories: dict[int, list[str]] = {}
        for installation_id, full_name in installation_repositories_visible_to(
            request.user, installations
        ).values_list("installation_id", "full_name"):
            repositories.setdefault(installation_id, []).append(full_name)
        return Response(
            [
                {
                    "installation_id": item.installation_id,
                    "account": item.account_login,
                    "host": item.host,
                    "suspended": item.is_suspended,
                    "repositories": sorted(repositories.get(item.installation_id, [])),
                }
                for item in installations
            ]
        )
