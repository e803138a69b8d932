"""Points for review work: awarded from domain events, append-only, paid once.

Rules (README "Points"): a review session with substance earns
``review_session`` once per reviewer and pushed head; no points for reviewing
your own pull request, for bots, or for a rubber stamp (an approval with no
comment within a minute of the request on a change over 50 lines); a daily
cap per person; a dismissed review is reversed by a compensating entry; when a
reviewed pull request is merged its author earns ``merge_author`` and each
credited reviewer ``merge_reviewer``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from integrations.providers.base import EventKind, NormalizedEvent, ReviewSnapshot
from reviews.models import ProviderIdentity, PullRequest, ReviewAssignment
from rewards.models import PointsEntry, PointsRule

# The starting rules; admins change them (each change bumps the rule's version).
DEFAULT_RULES = {
    "review_session": (10, "A review with substance (a verdict, or a real comment)"),
    "merge_author": (5, "Your pull request was merged after review"),
    "merge_reviewer": (3, "A pull request you reviewed was merged"),
}
SUBSTANTIVE_CHARS = 20
RUBBER_STAMP = timedelta(minutes=1)
RUBBER_STAMP_MIN_LINES = 50
VERDICTS = {"approved", "changes_requested"}


def points_award(
    *, event: NormalizedEvent, pull_request: PullRequest | None
) -> list[PointsEntry]:
    """The ledger lines one event earns (none for most events); idempotent."""
    if pull_request is None:
        return []
    if event.kind is EventKind.REVIEW_SUBMITTED and event.review is not None:
        return _review_session(pull_request, event.review, event.provider)
    if event.kind is EventKind.REVIEW_DISMISSED and event.review is not None:
        return _reverse(_session_source(pull_request, event.review), "review dismissed")
    if event.kind is EventKind.PR_MERGED:
        return _merged(pull_request)
    return []


def _session_source(pull: PullRequest, review: ReviewSnapshot) -> str:
    head = review.commit_sha or pull.head_sha or "unknown"
    return f"review-session:{pull.pk}:{review.reviewer.login}:{head}"


def _review_session(pull: PullRequest, review: ReviewSnapshot, provider: str):
    reviewer = review.reviewer
    if reviewer.login == pull.author_login or reviewer.is_bot:
        return []
    if review.state not in VERDICTS and len(review.body.strip()) <= SUBSTANTIVE_CHARS:
        return []  # no verdict and no real comment: not a session with substance
    if _rubber_stamp(pull, review):
        return []
    identity = _identity(provider, pull.repository.host, reviewer.login)
    return _award(
        identity,
        "review_session",
        _session_source(pull, review),
        f"reviewed {pull.repository.full_name}#{pull.number}",
        pull,
    )


def _rubber_stamp(pull: PullRequest, review: ReviewSnapshot) -> bool:
    size = (pull.additions or 0) + (pull.deletions or 0)
    if (
        review.state != "approved"
        or review.body.strip()
        or size <= RUBBER_STAMP_MIN_LINES
    ):
        return False
    requested = (
        ReviewAssignment.objects.filter(pull_request=pull)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    ) or pull.provider_created_at
    return requested is not None and review.submitted_at - requested <= RUBBER_STAMP


def _merged(pull: PullRequest) -> list[PointsEntry]:
    sessions = PointsEntry.objects.filter(
        pull_request=pull, rule__key="review_session", points__gt=0
    ).select_related("identity")
    reversed_sources = set(
        PointsEntry.objects.filter(pull_request=pull, points__lt=0).values_list(
            "source", flat=True
        )
    )
    credited = {
        entry.identity
        for entry in sessions
        if f"{entry.source}:reversed" not in reversed_sources
    }
    if not credited:
        return []
    source = f"merged:{pull.pk}"
    label = f"{pull.repository.full_name}#{pull.number} merged"
    entries = []
    if pull.author_login:
        author = _identity(
            pull.repository.provider, pull.repository.host, pull.author_login
        )
        entries += _award(author, "merge_author", source, label, pull)
    for identity in sorted(credited, key=lambda identity: identity.login):
        entries += _award(identity, "merge_reviewer", source, label, pull)
    return entries


def rule_get(key: str) -> PointsRule:
    """A rule as admins last set it, created from DEFAULT_RULES the first time."""
    points, description = DEFAULT_RULES[key]
    rule, _ = PointsRule.objects.get_or_create(
        key=key, defaults={"points": points, "description": description}
    )
    return rule


def _reverse(source: str, reason: str) -> list[PointsEntry]:
    original = PointsEntry.objects.filter(source=source, points__gt=0).first()
    if original is None:
        return []
    return _create(
        PointsEntry(
            identity=original.identity,
            rule=original.rule,
            rule_version=original.rule_version,
            points=-original.points,
            reason=reason,
            source=f"{source}:reversed",
            pull_request=original.pull_request,
        )
    )


def _award(identity, rule_key, source, reason, pull) -> list[PointsEntry]:
    rule = rule_get(rule_key)
    if not rule.is_active or rule.points <= 0:
        return []
    points = min(rule.points, _left_today(identity))
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
        )
    )


def _left_today(identity: ProviderIdentity) -> int:
    since = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    earned = (
        PointsEntry.objects.filter(
            identity=identity, points__gt=0, created_at__gte=since
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
