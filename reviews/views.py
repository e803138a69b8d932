"""Dashboard pages: my review queue, team statistics, my availability."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from codequest.charts import bar_chart
from integrations.selectors import organizations_of
from reviews import people, selectors
from reviews.forms import AwayForm, PrivacyForm, ReviewerSettingsForm
from reviews.models import Member
from reviews.stats import team_stats

STATS_WINDOWS = {"7": 7, "28": 28, "90": 90}


@login_required
def queue_view(request: HttpRequest) -> HttpResponse:
    identities = selectors.my_identities(request.user)
    queue = selectors.review_queue(user=request.user, identities=identities)
    stale = selectors.my_stale_approvals(user=request.user, identities=identities)
    mine = selectors.my_pulls(user=request.user, identities=identities)
    return render(
        request,
        "dashboard/queue.html",
        {
            "queue": queue,
            "stale": stale,
            "mine": mine,
            "identities": identities,
            "section": "queue",
        },
    )


@login_required
def stats_view(request: HttpRequest) -> HttpResponse:
    days = STATS_WINDOWS.get(request.GET.get("days", ""), 28)
    teams = organizations_of(request.user)
    team = team_param(request, teams)
    stats = team_stats(user=request.user, team=team, days=days)
    trend = bar_chart("Median time to first review, per week", stats.trend, unit=" h")
    load = bar_chart(
        "Open review requests per person",
        [(login, float(waiting)) for login, waiting, _ in stats.load[:10]],
        decimals=0,
    )
    return render(
        request,
        "dashboard/stats.html",
        {
            "stats": stats,
            "trend": trend,
            "load": load,
            "days": days,
            "windows": STATS_WINDOWS,
            "teams": teams,
            "team": team,
            "section": "stats",
        },
    )


@login_required
def settings_view(request: HttpRequest) -> HttpResponse:
    """Working hours, capacity and time away, for all the person's logins."""
    identities = selectors.my_identities(request.user)
    profile = _profile(identities)
    zone = profile.timezone if profile else "UTC"
    form = ReviewerSettingsForm(
        request.POST or None,
        initial={
            "timezone": zone,
            "workday_start_hour": profile.workday_start_hour if profile else 9,
            "workday_end_hour": profile.workday_end_hour if profile else 18,
            "capacity": profile.capacity if profile else 5,
        },
    )
    if request.method == "POST" and identities and form.is_valid():
        people.reviewer_settings_save(identities=identities, **form.cleaned_data)
        messages.success(request, "Saved. New review requests follow these settings.")
        return redirect("dashboard-settings")
    return render(
        request,
        "dashboard/settings.html",
        {
            "form": form,
            "away_form": AwayForm(zone=zone),
            "away": people.away_list(identities=identities),
            "privacy_form": _privacy_form(request.user),
            "identities": identities,
            "zone": zone,
            "section": "settings",
        },
        status=400 if request.method == "POST" else 200,
    )


def _privacy_form(user, data=None) -> PrivacyForm | None:
    member = Member.objects.filter(user=user).first()
    return PrivacyForm(data, instance=member) if member is not None else None


@login_required
@require_POST
def privacy_view(request: HttpRequest) -> HttpResponse:
    """Whether the person is on leaderboards and shares their points history."""
    form = _privacy_form(request.user, request.POST)
    if form is None:
        messages.error(request, "Connect GitHub or GitLab first.")
    elif form.is_valid():
        form.save()
        messages.success(request, "Saved: your privacy choices apply from now on.")
    return redirect(reverse("dashboard-settings") + "#privacy")


@login_required
@require_POST
def away_add_view(request: HttpRequest) -> HttpResponse:
    identities = selectors.my_identities(request.user)
    profile = _profile(identities)
    form = AwayForm(request.POST, zone=profile.timezone if profile else "UTC")
    if not identities:
        messages.error(request, "Connect GitHub or GitLab first.")
    elif form.is_valid():
        starts_at, ends_at = form.window()
        people.away_add(
            identities=identities,
            starts_at=starts_at,
            ends_at=ends_at,
            note=form.cleaned_data["note"],
        )
        messages.success(
            request,
            f"Enjoy your time away. Nobody will ask you for reviews from "
            f"{form.cleaned_data['first_day']:%b %d} to "
            f"{form.cleaned_data['last_day']:%b %d}.",
        )
    else:
        messages.error(request, "Not saved. " + _errors(form))
    return redirect("dashboard-settings")


@login_required
@require_POST
def away_delete_view(request: HttpRequest, window_id: int) -> HttpResponse:
    identities = selectors.my_identities(request.user)
    if people.away_delete(identities=identities, window_id=window_id):
        messages.success(request, "Time away removed.")
    else:
        messages.error(request, "That time away was not found.")
    return redirect("dashboard-settings")


def _profile(identities):
    """The person's reviewer settings (the same on each of their logins)."""
    return next(
        (
            identity.reviewer_profile
            for identity in identities
            if hasattr(identity, "reviewer_profile")
        ),
        None,
    )


def _errors(form) -> str:
    return " ".join(
        message for messages_ in form.errors.values() for message in messages_
    )


def team_param(request: HttpRequest, teams: list[tuple[str, str]]) -> str:
    """The ``team`` asked for, when it is one of the person's teams."""
    team = request.GET.get("team", "")
    return team if team in {slug for slug, _ in teams} else ""
