"""The person's notifications on the dashboard, and what they want sent."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations.models import OrganizationMembership
from integrations.selectors import TeamPage, team_page_get
from notifications import services
from notifications.forms import (
    NotificationSettingsForm,
    TeamChannelForm,
    TeamChannelKindsForm,
)
from notifications.models import TEAM_KINDS


@login_required
def notifications_view(request: HttpRequest) -> HttpResponse:
    choice = services.settings_for(request.user)
    form = NotificationSettingsForm(request.POST or None, instance=choice)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Saved: CodeQuest tells you so from now on.")
            return redirect("dashboard-notifications")
        messages.error(request, "Not saved; see the form.")
    items = services.inbox_of(request.user)
    return render(
        request,
        "dashboard/notifications.html",
        {
            "section": "notifications",
            "items": items,
            "unread": sum(1 for item in items if item.read_at is None),
            "form": form,
            "has_email": bool(request.user.email),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    count = services.inbox_read(request.user)
    messages.success(
        request, f"Marked {count} as read." if count else "Nothing unread."
    )
    return redirect("dashboard-notifications")


@login_required
def team_channels_view(request: HttpRequest, slug: str) -> HttpResponse:
    """A team's channels: everyone on the team sees where messages go (the
    host, never the URL); admins add and remove them."""
    page = _team_page(request, slug)
    is_admin = page.role == ADMIN
    if request.method == "POST" and not is_admin:
        raise PermissionDenied(ADMINS_ONLY)
    form = TeamChannelForm(request.POST or None) if is_admin else None
    if form is not None and form.is_bound:
        if form.is_valid():
            channel = services.team_channel_add(
                team=page.team, by=request.user, **form.cleaned_data
            )
            messages.success(
                request,
                f"Added {channel.name}: review requests in {page.team.name}'s "
                "repositories go there from now on.",
            )
            return redirect("dashboard-team-channels", slug=slug)
        messages.error(request, "Not added; see the form.")
    return render(
        request,
        "dashboard/team_channels.html",
        {
            "section": "teams",
            "team": page.team,
            "is_admin": is_admin,
            "channels": services.team_channels_of(page.team),
            "team_kinds": TEAM_KINDS,
            "form": form,
        },
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def team_channel_kinds_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    page = _team_page(request, slug)
    if page.role != ADMIN:
        raise PermissionDenied(ADMINS_ONLY)
    form = TeamChannelKindsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not saved: choose from the list.")
        return redirect("dashboard-team-channels", slug=slug)
    name = services.team_channel_kinds_set(
        team=page.team, pk=pk, kinds=form.cleaned_data["kinds"]
    )
    if name is None:
        raise Http404("no such channel of this team")
    messages.success(request, f"Saved: {name} gets what is ticked from now on.")
    return redirect("dashboard-team-channels", slug=slug)


@login_required
@require_POST
def team_channel_remove_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    page = _team_page(request, slug)
    if page.role != ADMIN:
        raise PermissionDenied(ADMINS_ONLY)
    removed = services.team_channel_remove(team=page.team, pk=pk)
    if removed is None:
        raise Http404("no such channel of this team")
    messages.success(request, f"Removed {removed}; nothing more is sent there.")
    return redirect("dashboard-team-channels", slug=slug)


ADMIN = OrganizationMembership.Role.ADMIN
ADMINS_ONLY = "Only the team's admins can change this."


def _team_page(request: HttpRequest, slug: str) -> TeamPage:
    page = team_page_get(user=request.user, slug=slug)
    if page is None:
        raise Http404("no such team of yours")
    return page
