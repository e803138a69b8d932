"""The team member's dashboard: connections and repositories."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from integrations import selectors, services
from integrations.forms import RepositoryConnectForm
from integrations.models import Organization, OrganizationMembership, ProviderCredential
from integrations.providers import PROVIDERS, provider_choices
from integrations.providers.base import ProviderError
from integrations.services.api_tokens import (
    api_token_create,
    api_token_list,
    api_token_revoke,
)
from reviews.selectors import (
    look_alikes,
    my_identities,
    my_turn,
    pull_request_list,
    pulls_with_stale_approval,
    review_queue,
)
from rewards.selectors import leaderboard_list, my_points_summary


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
            "app_install_url": _app_install_url(slug),
            "connect_url": f"{reverse(f'{slug}_login')}?process=connect"
            if _configured(slug)
            else None,
        }
        for slug, name in provider_choices()
    ]
    repositories = selectors.repositories_with_health(
        selectors.repository_list(user=request.user, filters={})
    )[:200]
    teams = selectors.teams_of(request.user)
    return render(
        request,
        "dashboard/overview.html",
        {
            "connections": connections,
            "repositories": repositories,
            "teams": teams,
            "open_pulls": list(
                pull_request_list(
                    user=request.user, filters={"state": "open"}
                ).annotate(has_stale_approval=pulls_with_stale_approval())[:8]
            ),
            # Only someone in no team yet is told about their waiting requests.
            "waiting": [] if teams else selectors.join_requests_of(request.user),
            "section": "overview",
            **_my_day(request.user),
        },
    )


def _my_day(user) -> dict:
    """The morning view: my queue, my points, this week's leaders."""
    identities = my_identities(user)
    return {
        "identities": identities,
        "queue": review_queue(user=user, identities=identities)[:5],
        "turn": my_turn(user=user, identities=identities)[:5],
        "look_alikes": look_alikes(user=user, identities=identities),
        "points": my_points_summary(user=user, identities=identities),
        "leaders": leaderboard_list(user=user, period="week")[:5],
        "me": user.get_username(),
    }


def _configured(slug: str) -> bool:
    return bool(settings.SOCIALACCOUNT_PROVIDERS[slug].get("APPS"))


def _admin_of(user):
    return Organization.objects.filter(
        memberships__user=user, memberships__role=OrganizationMembership.Role.ADMIN
    )


@login_required
@require_POST
def repository_connect_view(request: HttpRequest) -> HttpResponse:
    """Team admins connect a repository with a token; others get 403."""
    admin_of = _admin_of(request.user)
    if not admin_of.exists():
        return HttpResponseForbidden(
            "Only organization admins can connect repositories."
        )
    form = RepositoryConnectForm(request.POST, admin_of=admin_of)
    back = _team_page(request.POST.get("organization"), admin_of)
    if not form.is_valid():
        errors = "; ".join(
            f"{form.fields[name].label or name}: {' '.join(messages_)}"
            for name, messages_ in form.errors.items()
        )
        messages.error(request, f"Not connected. {errors}")
        return back
    data = form.cleaned_data
    try:
        result = services.repository_connect(
            provider=data["provider"],
            full_name=data["full_name"],
            token=data["token"],
            api_url=data["api_url"] or None,
            register_webhook=data["register_webhook"],
            organization=data["organization"],
            label=f"dashboard, {request.user.get_username()}",
            trigger="manual",
        )
    except ProviderError as exc:
        messages.error(request, f"Not connected: {exc}.")
        return back
    pulls = ngettext("%d pull request", "%d pull requests", result.pull_requests)
    reviews = ngettext("%d review", "%d reviews", result.reviews)
    pulls, reviews = pulls % result.pull_requests, reviews % result.reviews
    messages.success(
        request,
        f"Connected {result.repository.full_name}: {pulls} and {reviews} imported.",
    )
    return redirect("repository", repository_id=result.repository.pk)


def _team_page(organization: str | None, admin_of) -> HttpResponse:
    """Back to the team settings page the form was on (the teams list when the
    team is not one the person administers)."""
    team = (
        admin_of.filter(pk=organization).first()
        if organization and organization.isdigit()
        else None
    )
    if team is None:
        return redirect("dashboard-teams")
    return redirect("dashboard-team", slug=team.slug)


@login_required
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    """The person's API tokens: list, create (shown once), revoke."""
    new_token = None
    if request.method == "POST":
        _, new_token = api_token_create(user=request.user)
    response = render(
        request,
        "dashboard/tokens.html",
        {
            "section": "tokens",
            "tokens": api_token_list(user=request.user),
            "new_token": new_token,
            "lifetime_days": settings.CODEQUEST_API_TOKEN_DAYS,
        },
    )
    response["Cache-Control"] = "no-store"  # a new token is on this page, once
    return response


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_key: str) -> HttpResponse:
    if api_token_revoke(user=request.user, token_key=token_key):
        messages.success(request, f"Token {token_key}… revoked; it no longer works.")
    else:
        messages.error(request, "That token was not found.")
    return redirect("dashboard-tokens")


@login_required
@require_POST
def connection_disconnect_view(request: HttpRequest, provider: str) -> HttpResponse:
    """Disconnect GitHub/GitLab: revoke the grant there, forget the token here."""
    if provider not in PROVIDERS:
        raise Http404("no such provider")
    name = PROVIDERS[provider].name
    result = services.oauth_credential_disconnect(user=request.user, provider=provider)
    if not result.found:
        messages.info(request, f"{name} was not connected; nothing changed.")
    elif result.revoked:
        messages.success(
            request,
            f"{name} disconnected: our access is revoked on {name} and the token "
            "is forgotten. Your points and reviews stay.",
        )
    else:
        messages.warning(
            request,
            f"{name} disconnected: the token is forgotten here, but {name} did not "
            f"confirm the revocation ({result.reason}). You can revoke CodeQuest "
            f"yourself in your {name} settings, under Applications.",
        )
    return redirect("dashboard")


def _app_install_url(slug: str) -> str:
    """Where to install the provider's App ("" without an App or its slug)."""
    app = PROVIDERS[slug].app
    return app.install_url() if app is not None else ""
