"""Reciprocal pairs: two people who keep approving each other's small pull
requests earn less for each further exchange (README "Fair play").

An **exchange** is an approval without substance (no body, no inline comment
of more than a few words) of a small pull request (at most 100 changed lines,
size known) by one person of another. For each exchange, the pair of people
(all their linked logins) is looked at over the 30 days before it: the
approvals *traded* are as many as the fewer of the two directions. Until
they have traded one, an exchange pays in full (so approving someone's many
small pull requests, one way, is never reduced); after that each further one
pays half: 50 % after one trade, 25 % after two, then 12 %, 6 %, 3 %, 1 %,
then nothing. A review with substance, changes requested or a large pull
request is never an exchange.

The share is a function of the stored reviews, so it is order-proof like the
rest of the ledger: when an exchange is added, changed or taken away, the
later exchanges of the same pair (which it counts for) are recomputed in the
same transaction (``followers``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from reviews.bots import is_bot_login
from reviews.models import Comment, ProviderIdentity, Review
from rewards.credits import is_substantive

SMALL_PULL_LINES = 100
WINDOW = timedelta(days=30)

Site = tuple[str, str]  # (provider, host)
Person = tuple[str, object]  # ("m", member id) or ("l", (provider, host, login))


def share_after(traded: int) -> int:
    """Percent paid for an exchange when the pair has ``traded`` approvals in
    the 30 days before it (the fewer of the two directions)."""
    return 100 >> traded


@dataclass(frozen=True, slots=True)
class Share:
    percent: int
    note: str  # for the ledger line's reason


@dataclass(frozen=True, slots=True)
class Approval:
    pull_id: int
    external_id: str
    site: Site
    reviewer: str
    author: str
    submitted_at: datetime


class _People:
    """Logins to people: linked logins are one person; others stand alone."""

    def __init__(self, logins: Iterable[tuple[str, str, str]]) -> None:
        wanted = Q()
        by_site: dict[Site, set[str]] = defaultdict(set)
        for provider, host, login in logins:
            by_site[(provider, host)].add(login)
        for (provider, host), names in by_site.items():
            wanted |= Q(provider=provider, host=host, login__in=sorted(names))
        self.member: dict[tuple[str, str, str], int] = {}
        self.logins: dict[int, set[tuple[str, str, str]]] = defaultdict(set)
        if not wanted:
            return
        linked = ProviderIdentity.objects.filter(wanted, member__isnull=False)
        for provider, host, login, member in ProviderIdentity.objects.filter(
            member_id__in=linked.values("member_id")
        ).values_list("provider", "host", "login", "member_id"):
            self.member[(provider, host, login)] = member
            self.logins[member].add((provider, host, login))

    def of(self, site: Site, login: str) -> Person:
        member = self.member.get((*site, login))
        return ("m", member) if member is not None else ("l", (*site, login))

    def every_login(self, person: Person) -> set[tuple[str, str, str]]:
        kind, key = person
        if kind == "m":
            return set(self.logins[key])  # type: ignore[index]
        return {key}  # type: ignore[arg-type]


def followers(approvals: list[Approval]) -> set[int]:
    """Pull requests holding later exchanges of the pairs these approvals
    belong to (within the window after each): they count these, so they are
    recomputed with them."""
    if not approvals:
        return set()
    people = _People(_logins(approvals))
    pairs = _pairs(approvals, people)
    if not pairs:
        return set()
    start = min(approval.submitted_at for approval in approvals)
    end = max(approval.submitted_at for approval in approvals) + WINDOW
    return {approval.pull_id for approval in _history(pairs, people, start, end)}


def is_exchange(
    *,
    state: str,
    body: str,
    additions: int | None,
    deletions: int | None,
    inline_bodies: Iterable[str],
) -> bool:
    """An approval without substance of a small pull request (size known)."""
    return (
        state == "approved"
        and additions is not None
        and additions + (deletions or 0) <= SMALL_PULL_LINES
        and not is_substantive(body)
        and not any(is_substantive(text) for text in inline_bodies)
    )


def reviews_of(pull_ids: Iterable[int]) -> list[Approval]:
    """Every review of these pull requests, whatever its state and the pull
    request's size now: an exchange dismissed, given substance or on a pull
    request that grew changes its pair's later shares too."""
    rows = Review.objects.filter(pull_request_id__in=list(pull_ids)).values_list(
        "pull_request_id",
        "external_id",
        "pull_request__repository__provider",
        "pull_request__repository__host",
        "reviewer_login",
        "pull_request__author_login",
        "submitted_at",
    )
    return [
        Approval(pull, external, (provider, host), reviewer, author, at)
        for pull, external, provider, host, reviewer, author, at in rows
    ]


def shares(approvals: list[Approval]) -> dict[int, dict[str, Share]]:
    """The share each of these exchanges (the caller passes only exchanges,
    ``is_exchange``) pays, per pull request and review (external id); those
    with nothing traded before them are absent (they pay in full)."""
    if not approvals:
        return {}
    people = _People(_logins(approvals))
    pairs = _pairs(approvals, people)
    if not pairs:
        return {}
    start = min(approval.submitted_at for approval in approvals) - WINDOW
    end = max(approval.submitted_at for approval in approvals)
    by_pair: dict[frozenset, list[tuple[datetime, int, str, Person]]] = defaultdict(
        list
    )
    for approval in _history(pairs, people, start, end + timedelta(microseconds=1)):
        pair = frozenset(
            (
                people.of(approval.site, approval.reviewer),
                people.of(approval.site, approval.author),
            )
        )
        by_pair[pair].append(
            (
                approval.submitted_at,
                approval.pull_id,
                approval.external_id,
                people.of(approval.site, approval.reviewer),
            )
        )
    found: dict[int, dict[str, Share]] = defaultdict(dict)
    wanted = {(a.pull_id, a.external_id): a for a in approvals}
    for exchanges in by_pair.values():
        exchanges.sort(key=lambda row: row[:3])
        for index, (moment, pull_id, external_id, reviewer) in enumerate(exchanges):
            approval = wanted.get((pull_id, external_id))
            if approval is None:
                continue
            recent = [row[3] for row in exchanges[:index] if row[0] >= moment - WINDOW]
            same = sum(1 for other in recent if other == reviewer)
            traded = min(same, len(recent) - same)
            if traded:
                found[pull_id][external_id] = Share(
                    share_after(traded),
                    f"approvals traded with {approval.author}: {traded} in 30 days",
                )
    return found


def _logins(approvals: list[Approval]) -> set[tuple[str, str, str]]:
    return {
        (*approval.site, login)
        for approval in approvals
        for login in (approval.reviewer, approval.author)
    }


def _pairs(approvals: list[Approval], people: _People) -> set[frozenset]:
    pairs = set()
    for approval in approvals:
        if is_bot_login(approval.reviewer) or is_bot_login(approval.author):
            continue
        reviewer = people.of(approval.site, approval.reviewer)
        author = people.of(approval.site, approval.author)
        if reviewer != author:
            pairs.add(frozenset((reviewer, author)))
    return pairs


def _history(
    pairs: set[frozenset], people: _People, start: datetime, end: datetime
) -> list[Approval]:
    """The exchanges between these pairs submitted in [start, end): two
    queries (the approvals, then the inline comments that may give them
    substance)."""
    wanted = Q()
    for pair in pairs:
        logins = set().union(*(people.every_login(person) for person in pair))
        by_site: dict[Site, set[str]] = defaultdict(set)
        for provider, host, login in logins:
            by_site[(provider, host)].add(login)
        for (provider, host), names in by_site.items():
            wanted |= Q(
                pull_request__repository__provider=provider,
                pull_request__repository__host=host,
                reviewer_login__in=sorted(names),
                pull_request__author_login__in=sorted(names),
            )
    rows = list(
        Review.objects.filter(
            wanted,
            state="approved",
            submitted_at__gte=start,
            submitted_at__lt=end,
            pull_request__additions__isnull=False,
        ).values_list(
            "pull_request_id",
            "external_id",
            "pull_request__repository__provider",
            "pull_request__repository__host",
            "reviewer_login",
            "pull_request__author_login",
            "submitted_at",
            "body",
            "pull_request__additions",
            "pull_request__deletions",
        )
    )
    candidates = [
        row
        for row in rows
        if is_exchange(
            state="approved",
            body=row[7],
            additions=row[8],
            deletions=row[9],
            inline_bodies=(),
        )
    ]
    inline = _inline_bodies(candidates)
    found = []
    for pull, external, provider, host, reviewer, author, at, *_ in candidates:
        approval = Approval(pull, external, (provider, host), reviewer, author, at)
        if any(is_substantive(body) for body in inline.get((pull, external), ())):
            continue
        pair = frozenset(
            (people.of(approval.site, reviewer), people.of(approval.site, author))
        )
        if len(pair) == 2 and pair in pairs:
            found.append(approval)
    return found


def _inline_bodies(rows: list) -> dict[tuple[int, str], list[str]]:
    """The inline comments (not deleted) of these reviews, one query."""
    found: dict[tuple[int, str], list[str]] = defaultdict(list)
    if not rows:
        return found
    for pull, review, body in Comment.objects.filter(
        pull_request_id__in={row[0] for row in rows},
        review_external_id__in={row[1] for row in rows},
        is_deleted=False,
    ).values_list("pull_request_id", "review_external_id", "body"):
        found[(pull, review)].append(body)
    return found
