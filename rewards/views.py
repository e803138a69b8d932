"""Dashboard pages: the leaderboard and a person's points history."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from integrations.selectors import organizations_of
from reviews.selectors import member_label
from reviews.views import team_param
from rewards import selectors

PERIOD_NAMES = {
    "week": "This week",
    "month": "Last 30 days",
    "season": "This season",
    "all": "All time",
}


@login_required
def leaderboard_view(request: HttpRequest) -> HttpResponse:
    period = request.GET.get("period", "week")
    if period not in selectors.PERIODS:
        period = "week"
    teams = organizations_of(request.user)
    team = team_param(request, teams)
    if "team" not in request.GET and teams:
        team = teams[0][0]  # per team by default; "All my teams" is a choice
    season = selectors.season_current(user=request.user, team=team)
    board = []
    if period != "season" or season is not None:
        board = selectors.leaderboard_list(user=request.user, period=period, team=team)
    me = request.user.get_username()
    return render(
        request,
        "dashboard/leaderboard.html",
        {
            "board": board,
            "period": period,
            "periods": PERIOD_NAMES,
            "period_name": PERIOD_NAMES[period].lower(),
            "season": season,
            "teams": teams,
            "team": team,
            "me": me,
            "section": "leaderboard",
        },
    )


@login_required
def points_view(request: HttpRequest) -> HttpResponse:
    """A member's points history: mine by default, anyone's on my teams."""
    member = request.GET.get("member", "")[:300]
    entries = selectors.points_list(
        user=request.user, member=member or request.user.get_username()
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    rows = [
        (entry, member_label(entry.identity), selectors.entry_is_provisional(entry))
        for entry in page
    ]
    return render(
        request,
        "dashboard/points.html",
        {
            "page": page,
            "rows": rows,
            "member": member or request.user.get_username(),
            "section": "points",
        },
    )
