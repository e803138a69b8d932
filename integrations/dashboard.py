"""The team member's dashboard: connections and repositories."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from integrations import selectors
from integrations.models import ProviderCredential

PROVIDERS = [("github", "GitHub"), ("gitlab", "GitLab")]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    credentials = {
        credential.provider: credential
        for credential in ProviderCredential.objects.filter(
            user=request.user, kind=ProviderCredential.Kind.OAUTH
        )
    }
    connections = [
        {
            "slug": slug,
            "name": name,
            "credential": credentials.get(slug),
            "connect_url": f"{reverse(f'{slug}_login')}?process=connect"
            if _configured(slug)
            else None,
        }
        for slug, name in PROVIDERS
    ]
    repositories = selectors.repository_list(user=request.user, filters={})[:200]
    return render(
        request,
        "integrations/dashboard.html",
        {"connections": connections, "repositories": repositories},
    )


def _configured(slug: str) -> bool:
    return bool(settings.SOCIALACCOUNT_PROVIDERS[slug].get("APPS"))
