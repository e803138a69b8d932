"""Teams without the admin: create one (or one that follows a provider
organization, team or group), invite with a link, answer join requests, manage
roles. Another team is a 404; a change by a member who is not an admin a 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations import selectors
from integrations.forms import (
    RepositoryConnectForm,
    TeamBoardForm,
    TeamCreateForm,
    TeamFollowForm,
    TeamFromProviderForm,
    TeamWritesForm,
)
from integrations.models import OrganizationMembership
from integrations.providers import PROVIDERS
from integrations.providers.base import Capability
from integrations.selectors import TeamPage
from integrations.services import teams as team_services
from integrations.services.teams import TeamError

ADMIN = OrganizationMembership.Role.ADMIN
ADMINS_ONLY = "Only the team's admins can change this."


@login_required
def teams_view(request: HttpRequest) -> HttpResponse:
    """My teams, my waiting requests, and the two ways to start a team."""
    create_form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and create_form.is_valid():
        try:
            team = team_services.team_create(
                user=request.user, name=create_form.cleaned_data["name"]
            )
        except TeamError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Team {team.name} created; you are its admin.")
            return redirect("dashboard-team", slug=team.slug)
    return render(
        request,
        "dashboard/teams.html",
        {
            "section": "teams",
            "teams": selectors.teams_of(request.user),
            "waiting": selectors.join_requests_of(request.user),
            "create_form": create_form,
            "provider_form": TeamFromProviderForm(providers=_member_providers()),
        },
        status=400 if create_form.is_bound and create_form.errors else 200,
    )


@login_required
@require_POST
def team_from_provider_view(request: HttpRequest) -> HttpResponse:
    form = TeamFromProviderForm(request.POST, providers=_member_providers())
    if not form.is_valid():
        messages.error(request, "Choose a provider and give the organization's path.")
        return redirect("dashboard-teams")
    data = form.cleaned_data
    try:
        team = team_services.team_create_from_provider(
            user=request.user,
            provider=data["provider"],
            path=data["path"],
            name=data["name"],
        )
    except TeamError as exc:
        messages.error(request, f"No team created: {exc}")
        return redirect("dashboard-teams")
    messages.success(
        request,
        f"Team {team.name} follows {team.source_path}: "
        f"{team.memberships.count()} of its members already signed in here joined; "
        "the others join when they sign in.",
    )
    return redirect("dashboard-team", slug=team.slug)


@login_required
def team_view(request: HttpRequest, slug: str) -> HttpResponse:
    page = team_page_or_404(request, slug)
    is_admin = page.role == ADMIN
    return render(
        request,
        "dashboard/team.html",
        {
            "section": "teams",
            "page": page,
            "team": page.team,
            "is_admin": is_admin,
            "invite_url": request.build_absolute_uri(
                reverse("team-join", args=[page.team.invite_token])
            )
            if is_admin
            else "",
            "connect_form": RepositoryConnectForm(
                admin_of=selectors.organizations_administered(request.user).filter(
                    pk=page.team.pk
                )
            )
            if is_admin
            else None,
            "follow_form": TeamFollowForm(providers=_member_providers())
            if is_admin and not page.team.source_path
            else None,
            "writes_form": TeamWritesForm(instance=page.team) if is_admin else None,
            "board_form": TeamBoardForm(instance=page.team) if is_admin else None,
        },
    )


@login_required
@require_POST
def team_board_view(request: HttpRequest, slug: str) -> HttpResponse:
    """How the team's leaderboard shows people (README "Privacy")."""
    team = _admin_page(request, slug).team
    form = TeamBoardForm(request.POST, instance=team)
    if not form.is_valid():
        messages.error(request, "Not saved: choose names, anonymous or off.")
        return redirect("dashboard-team", slug=slug)
    form.save()
    messages.success(
        request,
        f"Saved: the leaderboard shows {team.get_leaderboard_display().lower()}.",
    )
    return redirect("dashboard-team", slug=slug)


@login_required
@require_POST
def team_writes_view(request: HttpRequest, slug: str) -> HttpResponse:
    """How CodeQuest writes to the team's repositories."""
    team = _admin_page(request, slug).team
    form = TeamWritesForm(request.POST, instance=team)
    if not form.is_valid():
        errors = "; ".join(
            f"{form.fields[name].label}: {' '.join(problems)}"
            for name, problems in form.errors.items()
        )
        messages.error(request, f"Not saved. {errors}")
        return redirect("dashboard-team", slug=slug)
    form.save()
    messages.success(request, "Saved: CodeQuest writes to this team's repositories so.")
    return redirect("dashboard-team", slug=slug)


@login_required
@require_POST
def team_follow_view(request: HttpRequest, slug: str) -> HttpResponse:
    """An admin makes the team follow a provider organization, team or group."""
    team = _admin_page(request, slug).team
    form = TeamFollowForm(request.POST, providers=_member_providers())
    if team.source_path or not form.is_valid():
        messages.error(request, "Choose a provider and give the organization's path.")
        return redirect("dashboard-team", slug=slug)
    try:
        joined, _ = team_services.team_source_link(
            team=team,
            user=request.user,
            provider=form.cleaned_data["provider"],
            path=form.cleaned_data["path"],
        )
    except TeamError as exc:
        messages.error(request, f"Not followed: {exc}")
    else:
        messages.success(
            request,
            f"{team.name} follows {team.source_path} now: {joined} of its members "
            "already signed in here joined; the others join when they sign in.",
        )
    return redirect("dashboard-team", slug=slug)


@login_required
@require_POST
def team_invite_reset_view(request: HttpRequest, slug: str) -> HttpResponse:
    page = _admin_page(request, slug)
    team_services.team_invite_reset(team=page.team)
    messages.success(request, "New invite link made; the old one no longer works.")
    return redirect("dashboard-team", slug=slug)


@login_required
@require_POST
def team_request_view(request: HttpRequest, slug: str, request_id: int) -> HttpResponse:
    page = _admin_page(request, slug)
    decision = request.POST.get("decision")
    if decision not in ("approve", "decline"):
        messages.error(request, "Approve or decline the request.")
        return redirect("dashboard-team", slug=slug)
    try:
        answered = team_services.join_request_decide(
            team=page.team,
            request_id=request_id,
            admin=request.user,
            approve=decision == "approve",
        )
    except TeamError as exc:
        messages.info(request, str(exc))
    else:
        who = answered.user.get_username()
        messages.success(
            request,
            f"{who} joined {page.team.name}."
            if decision == "approve"
            else f"{who}'s request was declined.",
        )
    return redirect("dashboard-team", slug=slug)


@login_required
@require_POST
def team_member_view(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """Admins change roles and remove people; anyone may leave."""
    page = team_page_or_404(request, slug)
    action = request.POST.get("action", "")
    leaving = action == "remove" and user_id == request.user.pk
    if page.role != ADMIN and not leaving:
        return HttpResponseForbidden(ADMINS_ONLY)
    try:
        if action == "remove":
            team_services.membership_remove(team=page.team, user_id=user_id)
        elif action in ("admin", "member"):
            team_services.membership_role_set(
                team=page.team, user_id=user_id, role=action
            )
        else:
            raise TeamError("Choose admin, member or remove.")
    except TeamError as exc:
        messages.error(request, str(exc))
        return redirect("dashboard-team", slug=slug)
    if leaving:
        messages.success(request, f"You left {page.team.name}.")
        return redirect("dashboard-teams")
    messages.success(request, "Team updated.")
    return redirect("dashboard-team", slug=slug)


@login_required
@require_POST
def team_refresh_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Read the provider's members now (with my connection if the team's is
    gone)."""
    team = _admin_page(request, slug).team
    if not team.source_path:
        raise Http404("this team does not follow a provider")
    try:
        joined, left = team_services.team_members_refresh(team=team, by=request.user)
    except TeamError as exc:
        messages.error(request, f"Members not refreshed: {exc}")
    else:
        messages.success(
            request,
            f"Members refreshed from the provider: {joined} joined, {left} left.",
        )
    return redirect("dashboard-team", slug=slug)


@login_required
def team_join_view(request: HttpRequest, token: str) -> HttpResponse:
    """The invite link: GET says which team, POST asks to join it."""
    team = selectors.team_by_invite(token)
    if team is None:
        return render(request, "dashboard/team_join.html", {"team": None}, status=404)
    if request.method != "POST":
        member = team.memberships.filter(user=request.user).exists()
        return render(
            request, "dashboard/team_join.html", {"team": team, "member": member}
        )
    try:
        team, state = team_services.team_join_request(user=request.user, token=token)
    except TeamError as exc:  # the link was reset meanwhile
        messages.error(request, str(exc))
        return redirect("dashboard-teams")
    if state == "member":
        return redirect("dashboard-team", slug=team.slug)
    messages.success(
        request,
        f"Asked to join {team.name}: you are in as soon as one of its admins agrees.",
    )
    return redirect("dashboard-teams")


def team_page_or_404(request: HttpRequest, slug: str) -> TeamPage:
    page = selectors.team_page_get(user=request.user, slug=slug)
    if page is None:
        raise Http404("no such team of yours")
    return page


def _admin_page(request: HttpRequest, slug: str) -> TeamPage:
    page = team_page_or_404(request, slug)
    if page.role != ADMIN:
        raise PermissionDenied(ADMINS_ONLY)
    return page


def _member_providers() -> list[tuple[str, str]]:
    """Providers that can list a group's members."""
    return [
        (slug, provider.name)
        for slug, provider in PROVIDERS.items()
        if provider.can(Capability.TEAM_MEMBERS)
    ]
