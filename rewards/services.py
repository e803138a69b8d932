"""Points for review work: awarded from domain events, append-only, paid once.

What earns points (README "Points"), each line keyed by what earned it so a
replay never pays twice:

- ``review_session``: one per reviewer per pushed head (a new session after a
  24-hour gap) when it has substance — a verdict, or a comment over 20
  characters in the review or inline;
- ``review_comment``: each substantive comment by a reviewer, at most five per
  reviewer and pull request;
- ``review_size``: per 100 changed lines of the reviewed change (at most 5
  units), once per reviewer and pull request;
- ``review_timely``: the first answer came within the review SLA, counted in
  the reviewer's business hours (no prize for being first);
- ``merge_author`` / ``merge_reviewer`` when a reviewed pull request merges.

Never: your own pull request, bots, rubber stamps (approval with no comment
within a minute of the request on a change over 50 lines), a pull request
labelled spam; and never past the daily cap. Dismissed reviews, deleted
comments and spam are reversed by compensating entries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from integrations.providers.base import (
    CommentSnapshot,
    EventKind,
    NormalizedEvent,
    ReviewSnapshot,
)
from reviews.business_time import business_hours_between, working_day_of
from reviews.models import (
    Comment,
    ProviderIdentity,
    PullRequest,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)
from rewards.models import PointsEntry, PointsRule

# The starting rules; admins change them (each change bumps the rule's version).
DEFAULT_RULES = {
    "review_session": (10, "A review with substance (a verdict, or a real comment)"),
    "review_comment": (2, "A substantive review comment (5 per pull request)"),
    "review_size": (2, "Per 100 changed lines you reviewed (up to 500)"),
    "review_timely": (3, "You answered within the review SLA"),
    "merge_author": (5, "Your pull request was merged after review"),
    "merge_reviewer": (3, "A pull request you reviewed was merged"),
}
REVIEW_RULES = ("review_session", "review_comment", "review_size", "review_timely")
SUBSTANTIVE_CHARS = 20
RUBBER_STAMP = timedelta(minutes=1)
RUBBER_STAMP_MIN_LINES = 50
SESSION_GAP = timedelta(hours=24)
COMMENTS_PER_PULL = 5
SIZE_UNIT_LINES = 100
SIZE_UNITS_MAX = 5
SPAM_LABELS = {"spam"}
VERDICTS = {"approved", "changes_requested"}


def points_award(
    *, event: NormalizedEvent, pull_request: PullRequest | None
) -> list[PointsEntry]:
    """The ledger lines one event earns or reverses (none for most); idempotent."""
    if pull_request is None:
        return []
    if is_spam(pull_request):
        return _reverse_all(pull_request, "pull request marked as spam")
    if event.kind is EventKind.REVIEW_SUBMITTED and event.review is not None:
        return _review_session(pull_request, event.review, event.provider)
    if event.kind is EventKind.REVIEW_DISMISSED and event.review is not None:
        return _dismissed(pull_request, event.review, event.provider)
    if event.kind is EventKind.COMMENT_CREATED and event.comment is not None:
        return _comment(pull_request, event.comment, event.provider)
    if event.kind is EventKind.COMMENT_DELETED and event.comment is not None:
        return _reverse(_comment_source(pull_request, event.comment), "comment deleted")
    if event.kind is EventKind.PR_MERGED:
        return _merged(pull_request, event.occurred_at)
    return []


def is_spam(pull: PullRequest) -> bool:
    return bool(SPAM_LABELS & {label.lower() for label in pull.labels})


# --- review sessions ----------------------------------------------------------


def _review_session(pull: PullRequest, review: ReviewSnapshot, provider: str):
    reviewer = review.reviewer
    identity = _identity(provider, pull.repository.host, reviewer.login)
    if not _may_earn(pull, identity, reviewer.is_bot):
        return []
    has_substance = review.state in VERDICTS or _is_substantive(review.body)
    if not has_substance and not _has_substantive_comment(pull, review):
        return []
    if _rubber_stamp(pull, review):
        return []
    head = review.commit_sha or pull.head_sha or "unknown"
    return _session_open(identity, pull, head, review.submitted_at)


def _session_open(
    identity: ProviderIdentity, pull: PullRequest, head: str, when: datetime
) -> list[PointsEntry]:
    """Credit a session unless this work belongs to one already credited."""
    prefix = f"review-session:{pull.pk}:{identity.login}:{head}"
    earlier = list(
        PointsEntry.objects.filter(
            identity=identity, source__startswith=prefix, points__gt=0
        ).values_list("earned_at", flat=True)
    )
    if any(abs(when - seen) < SESSION_GAP for seen in earlier):
        return []
    source = prefix if not earlier else f"{prefix}:{len(earlier)}"
    label = f"{pull.repository.full_name}#{pull.number}"
    entries = _award(
        identity, "review_session", source, f"reviewed {label}", pull, when
    )
    if not entries:
        return []
    units = min(
        ((pull.additions or 0) + (pull.deletions or 0)) // SIZE_UNIT_LINES,
        SIZE_UNITS_MAX,
    )
    if units:
        entries += _award(
            identity,
            "review_size",
            f"review-size:{pull.pk}:{identity.login}",
            f"reviewed {units * SIZE_UNIT_LINES}+ lines in {label}",
            pull,
            when,
            units=units,
        )
    if _answered_in_time(pull, identity.login, when):
        entries += _award(
            identity,
            "review_timely",
            f"review-timely:{pull.pk}:{identity.login}",
            f"answered {label} within the SLA",
            pull,
            when,
        )
    return entries


def _may_earn(pull: PullRequest, identity: ProviderIdentity, is_bot: bool) -> bool:
    """Rules are about people: no credit on a pull request the same person
    wrote (under any of their linked logins), and none for bots."""
    if not identity.login or is_bot or _is_bot(identity):
        return False
    author = _author_identity(pull)
    if author is None:
        return identity.login != pull.author_login
    if author.pk == identity.pk:
        return False
    return author.member_id is None or author.member_id != identity.member_id


def _is_bot(identity: ProviderIdentity) -> bool:
    return identity.is_bot or identity.login.endswith("[bot]")


def _author_identity(pull: PullRequest) -> ProviderIdentity | None:
    if not pull.author_login:
        return None
    return ProviderIdentity.objects.filter(
        provider=pull.repository.provider,
        host=pull.repository.host,
        login=pull.author_login,
    ).first()


def _is_substantive(body: str) -> bool:
    return len(body.strip()) > SUBSTANTIVE_CHARS


def _has_substantive_comment(pull: PullRequest, review: ReviewSnapshot) -> bool:
    bodies = Comment.objects.filter(
        pull_request=pull, review_external_id=review.external_id, is_deleted=False
    ).values_list("body", flat=True)
    return any(_is_substantive(body) for body in bodies)


def _rubber_stamp(pull: PullRequest, review: ReviewSnapshot) -> bool:
    size = (pull.additions or 0) + (pull.deletions or 0)
    if (
        review.state != "approved"
        or review.body.strip()
        or size <= RUBBER_STAMP_MIN_LINES
        or _has_substantive_comment(pull, review)
    ):
        return False
    requested = (
        ReviewAssignment.objects.filter(pull_request=pull)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    ) or pull.provider_created_at
    return requested is not None and review.submitted_at - requested <= RUBBER_STAMP


def _answered_in_time(pull: PullRequest, login: str, when: datetime) -> bool:
    """Asked to review, and this first answer came within the repository's SLA."""
    from reviews.assignment.service import review_settings_get

    # Strictly before: a request first seen in the review's own snapshot has
    # no known request time, so it earns no timeliness credit.
    request = ReviewRequest.objects.filter(
        pull_request=pull, reviewer_login=login, requested_at__lt=when
    ).first()
    if request is None:
        return False
    profile = ReviewerProfile.objects.filter(identity__login=login).first()
    waited = business_hours_between(
        request.requested_at, when, **working_day_of(profile)
    )
    return waited <= review_settings_get(pull.repository).sla_hours


def _dismissed(pull: PullRequest, review: ReviewSnapshot, provider: str):
    head = review.commit_sha or pull.head_sha or "unknown"
    prefix = f"review-session:{pull.pk}:{review.reviewer.login}:{head}"
    entries = []
    for source in PointsEntry.objects.filter(
        source__startswith=prefix, points__gt=0, rule__key="review_session"
    ).values_list("source", flat=True):
        entries += _reverse(source, "review dismissed")
    if entries and not _credited_sessions(pull, review.reviewer.login):
        for kind in ("review-size", "review-timely"):
            entries += _reverse(
                f"{kind}:{pull.pk}:{review.reviewer.login}", "review dismissed"
            )
    return entries


# --- comments -----------------------------------------------------------------


def _comment_source(pull: PullRequest, comment: CommentSnapshot) -> str:
    return f"comment:{pull.pk}:{comment.kind}:{comment.external_id}"


def _comment(pull: PullRequest, comment: CommentSnapshot, provider: str):
    author = comment.author
    if not _is_substantive(comment.body):
        return []
    identity = _identity(provider, pull.repository.host, author.login)
    if not _may_earn(pull, identity, author.is_bot):
        return []
    paid = PointsEntry.objects.filter(
        identity=identity,
        pull_request=pull,
        rule__key="review_comment",
        points__gt=0,
    ).count()
    if paid >= COMMENTS_PER_PULL:
        return []
    label = f"{pull.repository.full_name}#{pull.number}"
    entries = _award(
        identity,
        "review_comment",
        _comment_source(pull, comment),
        f"commented on {label}",
        pull,
        comment.created_at,
    )
    if entries and comment.review_external_id:
        # Inline comments give a commented review its substance, whichever
        # of the two deliveries arrives first.
        entries += _session_open(
            identity, pull, pull.head_sha or "unknown", comment.created_at
        )
    return entries


# --- merge --------------------------------------------------------------------


def _credited_sessions(pull: PullRequest, login: str | None = None) -> set:
    sessions = PointsEntry.objects.filter(
        pull_request=pull, rule__key="review_session", points__gt=0
    ).select_related("identity")
    if login is not None:
        sessions = sessions.filter(identity__login=login)
    reversed_sources = set(
        PointsEntry.objects.filter(pull_request=pull, points__lt=0).values_list(
            "source", flat=True
        )
    )
    return {
        entry.identity
        for entry in sessions
        if f"{entry.source}:reversed" not in reversed_sources
    }


def _merged(pull: PullRequest, occurred_at: datetime) -> list[PointsEntry]:
    credited = _credited_sessions(pull)
    if not credited:
        return []
    source = f"merged:{pull.pk}"
    label = f"{pull.repository.full_name}#{pull.number} merged"
    when = pull.merged_at or occurred_at
    entries = []
    if pull.author_login:
        author = _identity(
            pull.repository.provider, pull.repository.host, pull.author_login
        )
        if not _is_bot(author):  # a bot's own pull request earns nothing
            entries += _award(author, "merge_author", source, label, pull, when)
    for identity in sorted(credited, key=lambda identity: identity.login):
        entries += _award(identity, "merge_reviewer", source, label, pull, when)
    return entries


# --- the ledger ---------------------------------------------------------------


def rule_get(key: str) -> PointsRule:
    """A rule as admins last set it, created from DEFAULT_RULES the first time."""
    points, description = DEFAULT_RULES[key]
    rule, _ = PointsRule.objects.get_or_create(
        key=key, defaults={"points": points, "description": description}
    )
    return rule


def _reverse_all(pull: PullRequest, reason: str) -> list[PointsEntry]:
    entries = []
    sources = PointsEntry.objects.filter(pull_request=pull, points__gt=0).values_list(
        "source", flat=True
    )
    for source in sorted(set(sources)):
        entries += _reverse(source, reason)
    return entries


def _reverse(source: str, reason: str) -> list[PointsEntry]:
    """A compensating line for every unreversed positive line of ``source``."""
    entries = []
    for original in PointsEntry.objects.filter(source=source, points__gt=0):
        entries += _create(
            PointsEntry(
                identity=original.identity,
                rule=original.rule,
                rule_version=original.rule_version,
                points=-original.points,
                reason=reason,
                source=f"{source}:reversed",
                pull_request_id=original.pull_request_id,
                repository_id=original.repository_id,
                earned_at=original.earned_at,
            )
        )
    return entries


def _award(
    identity: ProviderIdentity,
    rule_key: str,
    source: str,
    reason: str,
    pull: PullRequest,
    earned_at: datetime,
    *,
    units: int = 1,
) -> list[PointsEntry]:
    rule = rule_get(rule_key)
    if not rule.is_active or rule.points <= 0:
        return []
    with transaction.atomic():
        # One person's awards are serialized (all their logins), so the cap holds.
        _lock_person(identity)
        points = min(rule.points * units, _left_on(identity, earned_at))
        if points <= 0:
            return []
        return _create(
            PointsEntry(
                identity=identity,
                rule=rule,
                rule_version=rule.version,
                points=points,
                reason=reason,
                source=source,
                pull_request=pull,
                earned_at=earned_at,
            )
        )


def _lock_person(identity: ProviderIdentity) -> None:
    from reviews.models import Member

    if identity.member_id:
        Member.objects.select_for_update().filter(pk=identity.member_id).first()
    else:
        ProviderIdentity.objects.select_for_update().filter(pk=identity.pk).first()


def _left_on(identity: ProviderIdentity, earned_at: datetime) -> int:
    """What the daily cap still allows the person (all their linked logins) on
    the (UTC) day the work was done."""
    day = earned_at.replace(hour=0, minute=0, second=0, microsecond=0)
    mine = (
        {"identity__member_id": identity.member_id}
        if identity.member_id
        else {"identity": identity}
    )
    earned = (
        PointsEntry.objects.filter(
            **mine,
            points__gt=0,
            earned_at__gte=day,
            earned_at__lt=day + timedelta(days=1),
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )
    return settings.REWARDS_DAILY_CAP - earned


def _create(entry: PointsEntry) -> list[PointsEntry]:
    """Insert one line; a replay of the same source is a no-op."""
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return []
    return [entry]


def _identity(provider: str, host: str, login: str) -> ProviderIdentity:
    identity, _ = ProviderIdentity.objects.get_or_create(
        provider=provider, host=host, login=login
    )
    return identity
