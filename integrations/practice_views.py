"""The team's review practice page: the practice repository (created by a team
admin), practice reviews (anyone on the team for themselves, an admin for
anyone) and their results. Another team is a 404; an admin-only change by a
member a 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations.models import PracticeRepository
from integrations.services.practice import (
    DEFAULT_NAME,
    PracticeError,
    practice_places,
    practice_repository_request,
    practice_round_start,
)
from integrations.team_views import ADMIN, ADMINS_ONLY, team_page_or_404
from reviews.models import PracticeRound
from reviews.practice import LINE_WINDOW, PROBLEMS, round_outcomes


@login_required
def practice_view(request: HttpRequest, slug: str) -> HttpResponse:
    page = team_page_or_404(request, slug)
    team, is_admin = page.team, page.role == ADMIN
    practice = (
        PracticeRepository.objects.select_related("repository")
        .filter(organization=team)
        .first()
    )
    rounds = list(
        PracticeRound.objects.filter(repository__organization=team)
        .select_related("member__user", "repository")
        .order_by("-created_at", "-pk")[:200]
    )
    mine = [item for item in rounds if item.member.user_id == request.user.pk]
    return render(
        request,
        "dashboard/practice.html",
        {
            "section": "teams",
            "team": team,
            "is_admin": is_admin,
            "practice": practice,
            "places": practice_places(user=request.user, team=team) if is_admin else [],
            "default_name": practice.name if practice else DEFAULT_NAME,
            "mine": [(item, round_outcomes(item)) for item in mine],
            "has_open_round": any(
                item.status in (PracticeRound.Status.OPENING, PracticeRound.Status.OPEN)
                for item in mine
            ),
            "rounds": rounds if is_admin else [],
            "teammates": [
                item.user for item in page.memberships if item.user != request.user
            ]
            if is_admin
            else [],
            "problem_count": len(PROBLEMS),
            "line_window": LINE_WINDOW,
        },
    )


@login_required
@require_POST
def practice_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    page = team_page_or_404(request, slug)
    if page.role != ADMIN:
        raise PermissionDenied(ADMINS_ONLY)
    try:
        practice = practice_repository_request(
            user=request.user,
            team=page.team,
            place=request.POST.get("place", ""),
            name=request.POST.get("name", ""),
        )
    except PracticeError as exc:
        messages.error(request, f"Not created: {exc}")
    else:
        messages.success(
            request,
            f"Creating {practice.name}: this page shows each step as it is done.",
        )
    return redirect("dashboard-practice", slug=slug)


@login_required
@require_POST
def practice_round_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a practice review: for oneself, or (team admins) for a member."""
    page = team_page_or_404(request, slug)
    person = request.user
    chosen = request.POST.get("user", "")
    if chosen and chosen != str(request.user.pk):
        if page.role != ADMIN:
            raise PermissionDenied(ADMINS_ONLY)
        people = {str(item.user_id): item.user for item in page.memberships}
        if chosen not in people:
            messages.error(request, "Choose someone on this team.")
            return redirect("dashboard-practice", slug=slug)
        person = people[chosen]
    try:
        practice_round_start(
            team=page.team, member_user=person, requested_by=request.user
        )
    except PracticeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Opening a practice pull request for {person.get_username()}; "
            "they are asked to review it in a moment.",
        )
    return redirect("dashboard-practice", slug=slug)
