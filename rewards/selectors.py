"""Leaderboard and points history, scoped to the person's teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
)
from reviews.bots import is_bot
from reviews.give_take import GiveTake, give_take
from reviews.models import Member, ProviderIdentity, PullState
from reviews.selectors import member_label
from rewards.badges import Level, badge_rows, level_of
from rewards.models import (
    BadgeAward,
    PointsEntry,
    PointsView,
    Season,
    TrendSnapshot,
)
from rewards.streaks import Streak, streak_of
from rewards.totals import points_totals

PERIODS = {
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "season": None,
    "all": None,
}


class NoSeasonError(LookupError):
    """period=season asked for, but the team has no season running."""


class BoardOffError(LookupError):
    """The team turned its leaderboard off (README "Privacy")."""


def points_entries_visible_to(user: Any) -> QuerySet[PointsEntry]:
    return PointsEntry.objects.filter(visible_scope(user))


def visible_scope(user: Any) -> Q:
    """Ledger lines (and daily totals) of the person's teams; every one for
    superusers. Each line carries its team (its repository's, or the team a
    quest paid in)."""
    if user.is_superuser:
        return Q()
    return Q(organization__in=Organization.objects.filter(memberships__user=user))


def of_team(organization: Organization | str) -> Q:
    """Ledger lines (and daily totals) of a team: an Organization or its slug."""
    if isinstance(organization, str):
        return Q(organization__slug=organization)
    return Q(organization=organization)


def season_current(*, user: Any, team: str = "") -> Season | None:
    """The running season of ``team`` (or of any of the person's teams)."""
    now = timezone.now()
    seasons = Season.objects.filter(starts_at__lte=now, ends_at__gt=now)
    if team:
        seasons = seasons.filter(organization__slug=team)
    if not user.is_superuser:
        seasons = seasons.filter(organization__memberships__user=user)
    return seasons.select_related("organization").order_by("-starts_at").first()


def leaderboard_list(
    *, user: Any, period: str = "all", team: str = "", mode: str | None = None
) -> list[dict]:
    """Points and reviews per person (linked identities count together).

    ``points`` is confirmed credit; ``provisional`` is review credit waiting for
    its pull request to be merged or closed. Ranked by confirmed points.

    The privacy charter applies (README "Privacy"): people who chose not to be
    on leaderboards are left out for everyone but themselves; a team's board
    shows names, or only the viewer's own (``BoardOffError`` when it is off);
    the board of all one's teams counts only teams that show names.
    """
    scope, since, until = _in_period(visible_scope(user), user, period, team)
    mode = mode or board_mode(team)  # the caller may have read it already
    if team:
        if mode == Organization.Board.OFF:
            raise BoardOffError(f"the leaderboard of {team} is off")
        scope &= of_team(team)
    else:
        scope &= Q(organization__leaderboard=Organization.Board.NAMES) | Q(
            organization__isnull=True
        )
    totals = points_totals(scope=scope, since=since, until=until)
    identities = ProviderIdentity.objects.select_related("member__user").in_bulk(
        list(totals)
    )
    me = _member_id(user)
    people: dict[str, dict] = {}
    for identity_id, (confirmed, pending, sessions) in totals.items():
        identity = identities[identity_id]
        if is_bot(identity):
            continue  # bots are on no board, whatever they were paid before
        member = identity.member
        is_me = member is not None and member.pk == me
        if member is not None and not member.on_leaderboards and not is_me:
            continue  # off the boards: counted, shown to nobody else
        label = member_label(identity)
        person = people.setdefault(
            label,
            {
                "member": label,
                "identities": [],
                "points": 0,
                "provisional": 0,
                "reviews": 0,
                "is_me": is_me,
                "on_leaderboards": member is None or member.on_leaderboards,
                "shares_points": is_me or (member is not None and member.shares_points),
            },
        )
        person["identities"].append(f"{identity.provider}:{identity.login}")
        person.setdefault("_ids", []).append(identity.pk)
        person["points"] += confirmed
        person["provisional"] += pending
        person["reviews"] += sessions
    board = sorted(people.values(), key=lambda row: (-row["points"], row["member"]))
    lifetime = _confirmed_lifetime(list(identities))
    for row in board:
        ids = row.pop("_ids")
        row["level"] = level_of(sum(lifetime.get(pk, 0) for pk in ids)).number
    for rank, row in enumerate(board, start=1):
        row["identities"].sort()
        if mode == Organization.Board.ANONYMOUS and not row["is_me"]:
            row.update(
                member=f"Teammate #{rank}",
                identities=[],
                shares_points=False,
                level=None,
            )
    return board


def board_mode(team: str) -> str:
    """How the team's leaderboard shows people; "names" for all one's teams."""
    if not team:
        return Organization.Board.NAMES
    mode = (
        Organization.objects.filter(slug=team)
        .values_list("leaderboard", flat=True)
        .first()
    )
    return mode or Organization.Board.NAMES


def _member_id(user: Any) -> int | None:
    member = getattr(user, "member", None) if user.is_authenticated else None
    return member.pk if member is not None else None


def _confirmed_lifetime(identity_ids: list[int]) -> dict[int, int]:
    """Lifetime confirmed points of these identities, in all teams (for their
    level): two queries."""
    totals = points_totals(scope=Q(identity__in=identity_ids))
    return {identity: confirmed for identity, (confirmed, _, _) in totals.items()}


def confirmed_points(*, scope: Q, since: datetime | None = None) -> int:
    """The confirmed points of the lines in ``scope`` since a moment."""
    totals = points_totals(scope=scope, since=since)
    return sum(confirmed for confirmed, _, _ in totals.values())


def _in_period(
    scope: Q, user: Any, period: str, team: str
) -> tuple[Q, datetime | None, datetime | None]:
    """The scope and [since, until) of a board's period."""
    if period == "season":
        season = season_current(user=user, team=team)
        if season is None:
            raise NoSeasonError("no season is running for this team")
        return scope & of_team(season.organization), season.starts_at, season.ends_at
    since = PERIODS[period]
    if since is None:
        return scope, None, None
    return scope, timezone.now() - since, None


LOOK_AGAIN = timedelta(minutes=10)


class LedgerPrivateError(LookupError):
    """Another person's ledger they do not share with this viewer (a 404:
    whether it exists is theirs to say)."""


def points_list(*, user: Any, member: str = "", via: str = "") -> QuerySet[PointsEntry]:
    """A person's ledger, newest first; ``member`` is a username or
    provider:login, the viewer's own by default.

    Someone else's only when they share it and are on one of the viewer's
    teams (else ``LedgerPrivateError``); such a look is recorded for them
    (``via``: "page" or "api") — README "Privacy".
    """
    member = member or user.get_username()
    entries = points_entries_visible_to(user).select_related(
        "identity__member__user", "pull_request__repository"
    )
    provider, _, login = member.partition(":")
    if login:
        entries = entries.filter(identity__provider=provider, identity__login=login)
        owner = (
            Member.objects.filter(
                identities__provider=provider, identities__login=login
            )
            .select_related("user")
            .first()
        )
    else:
        entries = entries.filter(identity__member__user__username=member)
        owner = (
            Member.objects.filter(user__username=member).select_related("user").first()
        )
    if not _is_own(user, owner, member):
        if not _shared_with(user, owner):
            raise LedgerPrivateError(member)
        recent = timezone.now() - LOOK_AGAIN
        if (
            via
            and not PointsView.objects.filter(
                viewer=user, subject=owner, viewed_at__gte=recent
            ).exists()
        ):  # one line per look, not per page of it
            PointsView.objects.create(viewer=user, subject=owner, via=via)
    return entries.order_by("-created_at", "-id")


def _is_own(user: Any, owner: Member | None, member: str) -> bool:
    return member == user.get_username() or (
        owner is not None and owner.pk == _member_id(user)
    )


def _shared_with(user: Any, owner: Member | None) -> bool:
    """The person shares their points (history, badges, profile) and is on one
    of the viewer's teams."""
    return owner is not None and owner.shares_points and _teammates(user, owner)


def _teammates(user: Any, owner: Member) -> bool:
    return owner.user_id is not None and (
        OrganizationMembership.objects.filter(
            user_id=owner.user_id,
            organization__memberships__user=user,
        ).exists()
    )


def points_views_of(*, user: Any, days: int = 30) -> list[PointsView]:
    """Who looked at the person's points history lately (their access log)."""
    me = _member_id(user)
    if me is None:
        return []
    return list(
        PointsView.objects.filter(
            subject_id=me, viewed_at__gte=timezone.now() - timedelta(days=days)
        ).select_related("viewer")[:100]
    )


def entry_is_provisional(entry: PointsEntry, now: datetime | None = None) -> bool:
    """The rule rewards.totals applies in SQL, for one line already loaded."""
    hold = settings.REWARDS_HOLD_DAYS
    if hold <= 0 or entry.pull_request is None:
        return False
    now = now or timezone.now()
    finished = entry.pull_request.state in (PullState.MERGED, PullState.CLOSED)
    return not finished and entry.earned_at >= now - timedelta(days=hold)


def my_points_summary(*, user: Any, identities: list) -> dict:
    """Confirmed and provisional totals, this week's points and recent lines."""
    if not identities:
        return {"points": 0, "provisional": 0, "week": 0, "recent": []}
    mine = points_entries_visible_to(user).filter(identity__in=identities)
    totals = points_totals(scope=visible_scope(user) & Q(identity__in=identities))
    week = mine.filter(earned_at__gte=timezone.now() - timedelta(days=7)).aggregate(
        week_total=Sum("points")
    )["week_total"]
    recent = list(
        mine.select_related("pull_request__repository", "rule").order_by(
            "-earned_at", "-id"
        )[:8]
    )
    return {
        "points": sum(confirmed for confirmed, _, _ in totals.values()),
        "provisional": sum(pending for _, pending, _ in totals.values()),
        "week": week or 0,
        "recent": [(entry, entry_is_provisional(entry)) for entry in recent],
    }


def snapshot_list(
    *, user: Any, team: str = "", repository: str = "", since: date | None = None
) -> QuerySet[TrendSnapshot]:
    """Trend snapshots of the person's teams and their repositories, oldest
    first; ``repository`` is an id or a full name."""
    teams = Organization.objects.all()
    if not user.is_superuser:
        teams = teams.filter(memberships__user=user)
    if team:
        teams = teams.filter(slug=team)
    repositories = ConnectedRepository.objects.filter(organization__in=teams)
    queryset = TrendSnapshot.objects.select_related("organization", "repository")
    if repository:
        lookup = (
            {"pk": int(repository)}
            if repository.isdigit()
            else {"full_name": repository}
        )
        queryset = queryset.filter(repository__in=repositories.filter(**lookup))
    else:
        queryset = queryset.filter(
            Q(organization__in=teams) | Q(repository__in=repositories)
        )
    if since is not None:
        queryset = queryset.filter(day__gte=since)
    return queryset.order_by("day", "organization_id", "repository_id", "pk")


def badges_visible_to(*, user: Any) -> list[dict[str, Any]]:
    """Badges held by the person, and by teammates who share their points
    (README "Privacy"); newest first."""
    me = _member_id(user)
    teammates = OrganizationMembership.objects.filter(
        organization__memberships__user=user
    ).values("user")
    awards = BadgeAward.objects.filter(
        Q(member_id=me) | Q(member__user__in=teammates, member__shares_points=True)
    ).select_related("member__user")
    rows = badge_rows(awards.order_by("-awarded_at", "badge")[:500])
    for row in rows:
        member = row["award"].member
        row["member"] = (
            member.user.get_username() if member.user else member.display_name
        )
    return rows


@dataclass(frozen=True)
class Profile:
    member: Member
    label: str
    is_me: bool
    level: Level
    badges: list[dict[str, Any]]
    streak: Streak
    give_take: GiveTake | None  # the person's own profile only: it is private


def profile_get(*, user: Any, member: str = "") -> Profile:
    """A person's level and badges: one's own, or a teammate's who shares
    (else ``LedgerPrivateError``, a 404)."""
    member = member or user.get_username()
    owner = Member.objects.filter(user__username=member).select_related("user").first()
    is_me = _is_own(user, owner, member)
    if owner is None or not (is_me or _shared_with(user, owner)):
        raise LedgerPrivateError(member)
    identities = list(owner.identities.values_list("pk", flat=True))
    return Profile(
        member=owner,
        label=member,
        is_me=is_me,
        level=level_of(sum(_confirmed_lifetime(identities).values())),
        badges=badge_rows(owner.badges.order_by("-awarded_at", "badge")),
        streak=streak_of(owner),
        give_take=_give_take_of(owner) if is_me else None,
    )


def _give_take_of(member: Member) -> GiveTake:
    logins = {
        (provider, host, login)
        for provider, host, login in member.identities.values_list(
            "provider", "host", "login"
        )
    }
    return sum(give_take(logins).values(), GiveTake())
