"""Dashboard pages: the leaderboard, a person's points history and a team's
trends."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from codequest.charts import sparkline
from integrations.selectors import organizations_of
from reviews.selectors import member_label
from reviews.views import team_param
from rewards import selectors
from rewards.badges import BADGES, level_start

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
    board: list[dict] = []
    board_off = False
    mode = selectors.board_mode(team)
    if period != "season" or season is not None:
        try:
            board = selectors.leaderboard_list(
                user=request.user, period=period, team=team, mode=mode
            )
        except selectors.BoardOffError:
            board_off = True
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
            "board_off": board_off,
            "anonymous": mode == "anonymous",
            "hidden_me": any(
                row["is_me"] and not row["on_leaderboards"] for row in board
            ),
            "section": "leaderboard",
        },
    )


@login_required
def points_view(request: HttpRequest) -> HttpResponse:
    """A person's points history: mine by default; a teammate's when they
    share it (README "Privacy"), the look recorded for them."""
    member = request.GET.get("member", "")[:300]
    try:
        entries = selectors.points_list(
            user=request.user,
            member=member or request.user.get_username(),
            via="page",
        )
    except selectors.LedgerPrivateError:
        raise Http404("No points history of that person is shared with you.") from None
    own = not member or member == request.user.get_username()
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
            "looks": selectors.points_views_of(user=request.user) if own else [],
            "own": own,
            "section": "points",
        },
    )


@login_required
def profile_view(request: HttpRequest) -> HttpResponse:
    """A person's level and badges: one's own, or a teammate's who shares."""
    member = request.GET.get("member", "")[:300]
    try:
        profile = selectors.profile_get(user=request.user, member=member)
    except selectors.LedgerPrivateError:
        if not member:
            return render(
                request,
                "dashboard/profile.html",
                {"profile": None, "section": "profile"},
            )
        raise Http404("No profile of that person is shared with you.") from None
    return render(
        request,
        "dashboard/profile.html",
        {
            "profile": profile,
            "all_badges": BADGES,
            "held": {row["badge"].key for row in profile.badges},
            "curve": [(number, level_start(number)) for number in range(1, 11)],
            "section": "profile",
        },
    )


TREND_DAYS = 84  # twelve weeks
# (field, title, unit, lower is better)
TREND_FIGURES = [
    ("open_pulls", "Open pull requests", "", True),
    ("waiting_requests", "Review requests waiting", "", True),
    ("stuck_pulls", "Stuck pull requests", "", True),
    ("median_first_review_hours", "Median time to first review", " h", True),
    ("reviews", "Reviews per day", "", False),
    ("points", "Points per day", "", False),
]


@login_required
def trends_view(request: HttpRequest) -> HttpResponse:
    """Twelve weeks of one team's daily snapshots: a sparkline per figure and
    how the last week compares with the one before."""
    teams = organizations_of(request.user)
    team = team_param(request, teams) or (teams[0][0] if teams else "")
    since = timezone.localdate() - timedelta(days=TREND_DAYS)
    snapshots = (
        list(
            selectors.snapshot_list(user=request.user, team=team, since=since).filter(
                organization__isnull=False
            )
        )
        if team
        else []
    )
    # Up to yesterday: today's snapshot is taken tonight.
    days = [since + timedelta(days=offset) for offset in range(TREND_DAYS)]
    by_day = {snapshot.day: snapshot for snapshot in snapshots}
    figures = [
        {
            "title": title,
            "unit": unit,
            "line": sparkline(
                [_value(by_day.get(day), field) for day in days],
                lower_is_better=lower_is_better,
            ),
        }
        for field, title, unit, lower_is_better in TREND_FIGURES
    ]
    return render(
        request,
        "dashboard/trends.html",
        {
            "section": "trends",
            "teams": teams,
            "team": team,
            "figures": figures,
            "has_data": bool(snapshots),
            "first_day": days[0],
            "last_day": days[-1],
        },
    )


def _value(snapshot, field: str) -> float | None:
    value = getattr(snapshot, field) if snapshot is not None else None
    return None if value is None else float(value)
