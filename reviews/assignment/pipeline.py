"""Choosing reviewers: candidate pool -> filters -> ranking -> fallback.

Pure and deterministic: the same inputs always give the same choice (ties go
to whoever was asked least recently, then by login), and every decision
carries its explanation (who was in the pool and why, who was filtered out and
why, every score). A required section none of whose owners can be asked gets
its owning team requested instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from reviews.codeowners import Ownership


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"  # least recently requested first
    LOAD_BALANCE = "load_balance"  # least open work now, then fewest recent requests
    OPEN_LOAD = "open_load"  # least open review work, weighted by size
    EXPERTISE = "expertise"  # knows these files, blended with load


@dataclass(frozen=True, slots=True)
class Person:
    """What the pipeline needs to know about one possible reviewer."""

    login: str
    is_bot: bool = False
    never_assign: bool = False
    unavailable: str = ""  # "vacation until 2026-12-01", "busy on GitHub"...
    outside_working_hours: bool = False
    capacity: int = 5
    open_requests: int = 0
    open_request_lines: int = 0  # size of the open requests, in changed lines
    requests_last_30_days: int = 0
    last_requested_at: datetime | None = None
    expertise: float = 0.0  # recency-weighted reviews/changes of these files
    # Review work given minus received, size-weighted, 90 days (give_take).
    give_take: float = 0.0


@dataclass(frozen=True, slots=True)
class Request:
    author: str
    committers: tuple[str, ...] = ()
    ownerships: tuple[Ownership, ...] = ()  # CODEOWNERS result per section
    team_pool: tuple[str, ...] = ()  # per-repository pool (logins or @teams)
    teams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    people: Mapping[str, Person] = field(default_factory=dict)
    strategy: Strategy = Strategy.LOAD_BALANCE
    count: int = 1
    is_urgent: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    reviewers: tuple[str, ...]
    teams: tuple[str, ...]  # fallback: the owning teams, requested as teams
    explanation: dict


def reviewers_choose(request: Request) -> Decision:
    """Pick ``request.count`` reviewers, at least one owner per required section."""
    pool = _pool(request)
    excluded = {
        login: reason
        for login in sorted(pool)
        if (reason := _filtered_out(login, request))
    }
    eligible = [login for login in sorted(pool) if login not in excluded]
    scores = {login: _score(request.people.get(login), request) for login in eligible}
    ranked = sorted(
        eligible,
        key=lambda login: (
            scores[login],
            _last_asked(request, login),
            _give_take(request, login),  # who took more than they gave first
            login,
        ),
    )
    chosen = _choose(ranked, request)
    fallback = _owning_teams(request, chosen)
    explanation = {
        "strategy": str(request.strategy),
        "pool": {login: sorted(pool[login]) for login in sorted(pool)},
        "filtered": excluded,
        "scores": {login: round(score, 4) for login, score in scores.items()},
        "expertise": {
            login: request.people[login].expertise
            for login in eligible
            if login in request.people and request.people[login].expertise
        },
        "chosen": list(chosen),
        "fallback_teams": list(fallback),
        "note": _note(chosen, fallback, pool),
    }
    return Decision(tuple(chosen), fallback, explanation)


def _pool(request: Request) -> dict[str, set[str]]:
    """login -> why they are in the pool (owner of a section, team pool)."""
    pool: dict[str, set[str]] = {}
    for ownership in request.ownerships:
        for login in owners_expand(ownership.owners, request.teams):
            pool.setdefault(login, set()).add(f"code owner ({ownership.section})")
    for login in owners_expand(request.team_pool, request.teams):
        pool.setdefault(login, set()).add("repository pool")
    return pool


def owners_expand(
    owners: Iterable[str], teams: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """@user -> user; @org/team and @group -> their members; emails are skipped."""
    logins = []
    for owner in owners:
        if owner in teams:
            logins.extend(teams[owner])
        elif owner.startswith("@") and not owner.startswith("@@"):
            logins.append(owner[1:])
    return logins


def _filtered_out(login: str, request: Request) -> str:
    """Why ``login`` may not review this request ("" when they may)."""
    person = request.people.get(login, Person(login))
    checks = [
        (login == request.author, "is the author"),
        (login in request.committers, "committed to this change"),
        (person.is_bot, "is a bot"),
        (person.never_assign, "is on the never-assign list"),
        (bool(person.unavailable), f"unavailable: {person.unavailable}"),
        (
            request.is_urgent and person.outside_working_hours,
            "outside working hours for an urgent request",
        ),
        (
            person.open_requests >= person.capacity,
            f"at capacity ({person.open_requests}/{person.capacity} open)",
        ),
    ]
    return next((reason for failed, reason in checks if failed), "")


def _score(person: Person | None, request: Request) -> float:
    """Lower is better."""
    person = person or Person("")
    if request.strategy is Strategy.ROUND_ROBIN:
        when = person.last_requested_at
        return when.timestamp() if when else 0.0
    if request.strategy is Strategy.LOAD_BALANCE:
        # Open requests now, with the last 30 days' requests as the tie-breaker
        # that evens out who gets the work over time.
        return person.open_requests + person.requests_last_30_days / 30
    load = person.open_requests + person.open_request_lines / 500
    if request.strategy is Strategy.OPEN_LOAD:
        return load
    # Expertise blended with load: knowledge lowers the score, open work raises it.
    return load - 2.0 * person.expertise


def _give_take(request: Request, login: str) -> float:
    person = request.people.get(login)
    return person.give_take if person else 0.0


def _last_asked(request: Request, login: str) -> float:
    person = request.people.get(login)
    when = person.last_requested_at if person else None
    return when.timestamp() if when else 0.0


def _choose(ranked: list[str], request: Request) -> list[str]:
    """Best owner of each required section first, then the best of the rest.

    A request with several required sections may get more than ``count``
    reviewers: every required section needs one of its owners.
    """
    chosen: list[str] = []
    for ownership in request.ownerships:
        if ownership.is_optional:
            continue
        owners = set(owners_expand(ownership.owners, request.teams))
        if owners & set(chosen):
            continue
        best = next((login for login in ranked if login in owners), None)
        if best is not None:
            chosen.append(best)
    for login in ranked:
        if len(chosen) >= max(request.count, 1):
            break
        if login not in chosen:
            chosen.append(login)
    return chosen


def _owning_teams(request: Request, chosen: list[str]) -> tuple[str, ...]:
    """The owning teams of every required section none of whose owners could be
    chosen (all of them when nobody was): the team is asked instead."""
    teams = [
        owner
        for ownership in request.ownerships
        if not chosen
        or (
            not ownership.is_optional
            and not set(owners_expand(ownership.owners, request.teams)) & set(chosen)
        )
        for owner in ownership.owners
        if owner in request.teams
    ]
    return tuple(dict.fromkeys(teams))


def _note(chosen: list[str], fallback: tuple[str, ...], pool: dict) -> str:
    if chosen and fallback:
        return (
            "No owner of some required sections could be asked; their team is "
            "requested instead: " + ", ".join(fallback)
        )
    if chosen:
        return ""
    if not pool:
        return "No code owner or pool covers these files; nobody was requested."
    if fallback:
        return (
            "Everyone in the pool was filtered out; the owning team is requested "
            "instead: " + ", ".join(fallback)
        )
    return "Everyone in the pool was filtered out and no owning team exists."
