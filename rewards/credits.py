"""What a pull request's facts earn, and how a daily cap shares out: pure rules.

No queries, no clock: the service (``rewards.services``) gathers the facts of
one pull request, these functions say what they earn, and the ledger follows.
Because the result depends only on the facts, any order of the same events
(with duplicates and replays) ends in the same credits, and so the same ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SUBSTANTIVE_CHARS = 20
RUBBER_STAMP = timedelta(minutes=1)
RUBBER_STAMP_MIN_LINES = 50
SESSION_GAP = timedelta(hours=24)
COMMENTS_PER_PULL = 5
SIZE_UNIT_LINES = 100
SIZE_UNITS_MAX = 5
VERDICTS = {"approved", "changes_requested"}
KEY_LENGTH = 180


@dataclass(frozen=True, slots=True)
class ReviewFact:
    external_id: str
    login: str
    state: str
    body: str
    commit_sha: str
    submitted_at: datetime
    inline_bodies: tuple[str, ...] = ()  # its inline comments, not deleted
    # What it pays as a reciprocal exchange (rewards.reciprocal), and why.
    share: int = 100
    share_note: str = ""
    helpful_at: datetime | None = None  # the author marked it helpful (kudos)


@dataclass(frozen=True, slots=True)
class CommentFact:
    kind: str
    external_id: str
    login: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PullFacts:
    """One pull request as stored, and who may earn on it."""

    pull_id: int
    label: str  # "owner/name#12"
    author_login: str
    size: int  # changed lines
    is_spam: bool
    merged_at: datetime | None
    first_request_at: datetime | None  # our first assignment, else creation
    reviews: tuple[ReviewFact, ...]
    comments: tuple[CommentFact, ...]
    may_earn: Callable[[str], bool]  # person rules: not the author, not a bot
    author_may_earn: bool  # the author is no bot
    answered_in_time: Callable[[str, datetime], bool]  # timeliness (SLA)
    # Work before CodeQuest followed the repository earns nothing (None: no limit).
    followed_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Earned:
    """One credit: a login earns ``units`` of a rule for ``key`` at ``earned_at``."""

    login: str
    rule: str
    key: str
    reason: str
    earned_at: datetime
    units: int = 1
    share: int = 100  # percent paid (reciprocal exchanges pay less)


@dataclass
class _Session:
    login: str
    head: str
    start: datetime
    reviews: list[ReviewFact] = field(default_factory=list)


def credits_earned(facts: PullFacts) -> list[Earned]:
    """Everything this pull request's facts earn now (nothing when it is spam)."""
    if facts.is_spam:
        return []
    sessions = _sessions(facts)
    earned = [_session_credit(facts, session) for session in sessions]
    earned += _bonuses(facts, sessions)
    earned += _comment_credits(facts)
    earned += _merge_credits(facts, sessions)
    earned += _helpful_credits(facts, sessions)
    if facts.followed_since is None:
        return earned
    return [item for item in earned if item.earned_at >= facts.followed_since]


def is_substantive(body: str) -> bool:
    return len(body.strip()) > SUBSTANTIVE_CHARS


def _sessions(facts: PullFacts) -> list[_Session]:
    """Substantive reviews grouped per reviewer and head; a new session after a
    24-hour gap from the start of the previous one."""
    groups: dict[tuple[str, str], list[ReviewFact]] = {}
    for review in facts.reviews:
        if review.state == "dismissed" or not facts.may_earn(review.login):
            continue
        if not _has_substance(review) or _rubber_stamp(facts, review):
            continue
        head = review.commit_sha or "any"
        groups.setdefault((review.login, head), []).append(review)
    sessions: list[_Session] = []
    for (login, head), reviews in sorted(groups.items()):
        current: _Session | None = None
        for review in sorted(
            reviews, key=lambda item: (item.submitted_at, item.external_id)
        ):
            if current is None or review.submitted_at - current.start >= SESSION_GAP:
                current = _Session(login, head, review.submitted_at)
                sessions.append(current)
            current.reviews.append(review)
    return sessions


def _has_substance(review: ReviewFact) -> bool:
    return (
        review.state in VERDICTS
        or is_substantive(review.body)
        or any(is_substantive(body) for body in review.inline_bodies)
    )


def _rubber_stamp(facts: PullFacts, review: ReviewFact) -> bool:
    if (
        review.state != "approved"
        or review.body.strip()
        or facts.size <= RUBBER_STAMP_MIN_LINES
        or any(is_substantive(body) for body in review.inline_bodies)
        or facts.first_request_at is None
    ):
        return False
    return review.submitted_at - facts.first_request_at <= RUBBER_STAMP


def _session_credit(facts: PullFacts, session: _Session) -> Earned:
    key = credit_key(
        "review-session",
        facts.pull_id,
        session.login,
        session.head,
        session.start.isoformat(),
    )
    share, note = _session_share(session)
    return Earned(
        session.login,
        "review_session",
        key,
        _shared(f"reviewed {facts.label}", share, note),
        session.start,
        share=share,
    )


def _session_share(session: _Session) -> tuple[int, str]:
    """A session pays in full unless every review in it is a reciprocal
    exchange; then the best share among them."""
    best = max(session.reviews, key=lambda review: review.share)
    return best.share, best.share_note


def _shared(reason: str, share: int, note: str) -> str:
    return reason if share >= 100 else f"{reason} ({note}: {share}%)"


def _bonuses(facts: PullFacts, sessions: list[_Session]) -> list[Earned]:
    """Size and timeliness: once per reviewer, at their first session (and at
    its share)."""
    first: dict[str, _Session] = {}
    for session in sessions:
        if session.login not in first or session.start < first[session.login].start:
            first[session.login] = session
    units = min(facts.size // SIZE_UNIT_LINES, SIZE_UNITS_MAX)
    earned = []
    for login, session in sorted(first.items()):
        when = session.start
        share, note = _session_share(session)
        if units:
            earned.append(
                Earned(
                    login,
                    "review_size",
                    credit_key("review-size", facts.pull_id, login),
                    _shared(
                        f"reviewed {units * SIZE_UNIT_LINES}+ lines in {facts.label}",
                        share,
                        note,
                    ),
                    when,
                    units,
                    share,
                )
            )
        if facts.answered_in_time(login, when):
            earned.append(
                Earned(
                    login,
                    "review_timely",
                    credit_key("review-timely", facts.pull_id, login),
                    _shared(f"answered {facts.label} within the SLA", share, note),
                    when,
                    share=share,
                )
            )
    return earned


def _comment_credits(facts: PullFacts) -> list[Earned]:
    """Each substantive comment, the first five per person and pull request."""
    per_login: dict[str, list[CommentFact]] = {}
    for comment in facts.comments:
        if is_substantive(comment.body) and facts.may_earn(comment.login):
            per_login.setdefault(comment.login, []).append(comment)
    earned = []
    for login, comments in sorted(per_login.items()):
        comments.sort(key=lambda item: (item.created_at, item.kind, item.external_id))
        for comment in comments[:COMMENTS_PER_PULL]:
            key = credit_key(
                "comment", facts.pull_id, comment.kind, comment.external_id
            )
            earned.append(
                Earned(
                    login,
                    "review_comment",
                    key,
                    f"commented on {facts.label}",
                    comment.created_at,
                )
            )
    return earned


def _merge_credits(facts: PullFacts, sessions: list[_Session]) -> list[Earned]:
    if facts.merged_at is None or not sessions:
        return []
    key = credit_key("merged", facts.pull_id)
    reason = f"{facts.label} merged"
    best: dict[str, tuple[int, str]] = {}
    for session in sessions:
        best[session.login] = max(
            best.get(session.login, (0, "")), _session_share(session)
        )
    earned = [
        Earned(
            login,
            "merge_reviewer",
            key,
            _shared(reason, *share),
            facts.merged_at,
            share=share[0],
        )
        for login, share in sorted(best.items())
    ]
    if facts.author_login and facts.author_may_earn:
        # The author gains from a trade too, unless someone reviewed it in
        # full.
        share = max(best.values())
        author_note = "reciprocal approvals only" if share[0] < 100 else ""
        earned.insert(
            0,
            Earned(
                facts.author_login,
                "merge_author",
                key,
                _shared(reason, share[0], author_note),
                facts.merged_at,
                share=share[0],
            ),
        )
    return earned


def _helpful_credits(facts: PullFacts, sessions: list[_Session]) -> list[Earned]:
    """A reviewer whose review the author marked helpful earns the bonus once
    per pull request, from the first mark; only reviews that earn count."""
    marked: dict[str, datetime] = {}
    for session in sessions:
        for review in session.reviews:
            if review.helpful_at is not None:
                marked[session.login] = min(
                    marked.get(session.login, review.helpful_at), review.helpful_at
                )
    return [
        Earned(
            login,
            "review_helpful",
            credit_key("helpful", facts.pull_id, login),
            f"the author found your review of {facts.label} helpful",
            when,
        )
        for login, when in sorted(marked.items())
    ]


def credit_key(*parts: object) -> str:
    """What earned a credit, as a ledger source; long ones end in a digest."""
    key = ":".join(str(part) for part in parts)
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: KEY_LENGTH - 17]}~{digest}"


@dataclass(frozen=True, slots=True)
class Claim:
    """A credit competing for one person's daily cap."""

    ident: object  # the caller's handle for the credit
    points: int
    earned_at: datetime
    order: tuple[str, ...]  # ties at the same moment: rule, key


def allot(claims: Iterable[Claim], cap: int) -> dict[object, int]:
    """The points each claim keeps under a daily cap: earliest work first, so the
    share-out depends on when work was done, never on processing order."""
    kept: dict[object, int] = {}
    left = cap
    for claim in sorted(claims, key=lambda item: (item.earned_at, item.order)):
        kept[claim.ident] = max(0, min(claim.points, left))
        left -= kept[claim.ident]
    return kept
