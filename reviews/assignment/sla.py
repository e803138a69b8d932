"""Review SLA: a request waiting too long gets one reminder, then maybe a new reviewer.

The wait is counted in the reviewer's business hours (their time zone and
working day), so nobody is "late" over a weekend. Each step is claimed in the
database before the provider is called, so two beat runs never remind twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max, Q
from django.utils import timezone

from integrations.credentials import repository_client
from integrations.models import ConnectedRepository
from integrations.providers.base import (
    ProviderError,
    ProviderTemporaryError,
    RepoClient,
)
from reviews.assignment.service import (
    is_quiet,
    review_settings_get,
    reviewer_assign,
)
from reviews.business_time import business_hours_between, working_day_of
from reviews.models import (
    PullState,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
    ReviewRequestSighting,
    SlaReminder,
)
from reviews.reminders import chat_reaches

logger = logging.getLogger(__name__)


@dataclass
class SlaResult:
    reminded: list[str] = field(default_factory=list)
    reassigned: list[str] = field(default_factory=list)


def review_sla_check(*, now: datetime | None = None) -> SlaResult:
    """One pass over every open, unanswered review request."""
    now = now or timezone.now()
    result = SlaResult()
    pending = list(
        ReviewRequest.objects.filter(
            is_active=True,
            responded_at__isnull=True,
            reassigned_at__isnull=True,
            pull_request__state=PullState.OPEN,
        )
        .exclude(pull_request__draft=True)
        .exclude(snoozed_until__gt=now)
        .select_related("pull_request__repository")
        .order_by("requested_at", "id")
    )
    profiles = _profiles({request.reviewer_login for request in pending})
    settings_cache: dict[int, object] = {}
    for request in pending:
        repository = request.pull_request.repository
        if repository.pk not in settings_cache:
            settings_cache[repository.pk] = review_settings_get(repository)
        settings_ = settings_cache[repository.pk]
        if is_quiet(request.pull_request, settings_):
            continue  # a quiet label: nobody is chased
        waited = request_waited_hours(request, profiles, now)
        label = f"{repository.full_name}#{request.pull_request.number}"
        due = waited >= settings_.sla_hours and request.reminded_at is None
        if due and _remind(request, settings_, waited, now):
            result.reminded.append(f"{request.reviewer_login} on {label}")
        if (
            settings_.sla_reassign
            and request.reminded_at is not None
            and waited >= 2 * settings_.sla_hours
            and _reassign(request, now)
        ):
            result.reassigned.append(f"{request.reviewer_login} on {label}")
    return result


def _profiles(logins: set[str]) -> dict[str, ReviewerProfile]:
    return {
        profile.identity.login: profile
        for profile in ReviewerProfile.objects.filter(
            identity__login__in=logins
        ).select_related("identity")
    }


def request_waited_hours(
    request: ReviewRequest, profiles: dict[str, ReviewerProfile], now: datetime
) -> float:
    """Business hours the request has waited, in the reviewer's own working day."""
    profile = profiles.get(request.reviewer_login)
    return business_hours_between(request.requested_at, now, **working_day_of(profile))


def _remind(request: ReviewRequest, settings_, waited: float, now: datetime) -> bool:
    """Claim the reminder, then post it (a dashboard nudge needs no call)."""
    if settings_.sla_reminder == SlaReminder.OFF:
        return False
    claimed = ReviewRequest.objects.filter(
        pk=request.pk, reminded_at__isnull=True
    ).update(reminded_at=now)
    if not claimed:
        return False
    request.reminded_at = now
    pull = request.pull_request
    if settings_.sla_reminder == SlaReminder.DASHBOARD:
        return True
    if settings_.sla_reminder == SlaReminder.AUTO and chat_reaches(pull.repository):
        return True  # the reviewer is messaged (notifications follow reminded_at)
    body = (
        f"@{request.reviewer_login}, a friendly nudge from CodeQuest: this has been "
        f"waiting for your review for {waited:.0f} business hours (the team aims "
        f"for {settings_.sla_hours}). If you can't get to it soon, remove yourself "
        "as a reviewer and CodeQuest will ask someone else."
    )
    try:
        _client(pull.repository).comment_create(
            pull.repository.full_name, pull.number, body
        )
    except ProviderTemporaryError:
        # Try again on the next pass; the nudge still shows on the dashboard.
        ReviewRequest.objects.filter(pk=request.pk).update(reminded_at=None)
        request.reminded_at = None
        return False
    except ProviderError as exc:
        logger.info("reviews.sla.reminder_failed", extra={"error": str(exc)})
    return True


def _reassign(request: ReviewRequest, now: datetime) -> bool:
    """Ask someone else; the late reviewer's request is withdrawn on the provider."""
    claimed = ReviewRequest.objects.filter(
        Q(pk=request.pk) & Q(reassigned_at__isnull=True)
    ).update(reassigned_at=now)
    if not claimed:
        return False
    pull = request.pull_request
    assignment = reviewer_assign(
        pull_request_id=pull.pk,
        trigger="sla_reassign",
        exclude=[request.reviewer_login],
    )
    if assignment is None or assignment.status != ReviewAssignment.Status.REQUESTED:
        logger.info("reviews.sla.nobody_else", extra={"pull": pull.pk})
        return False
    try:
        _client(pull.repository).reviewers_remove(
            pull.repository.full_name, pull.number, logins=[request.reviewer_login]
        )
    except ProviderError as exc:
        logger.info("reviews.sla.unrequest_failed", extra={"error": str(exc)})
    return True


def _client(repository: ConnectedRepository) -> RepoClient:
    return repository_client(repository)


# A reviewer taken off a pull request is replaced only once the change has
# settled: GitHub takes a reviewer off when they review, and the review may
# arrive a little after the snapshot that no longer shows them.
REPLACE_GRACE = timedelta(minutes=5)
REPLACE_WITHIN = timedelta(days=14)  # CodeQuest's own choices this recent


def removed_reviewers_replace(*, now: datetime | None = None) -> list[str]:
    """Someone CodeQuest asked to review who was taken off the pull request
    without reviewing (they removed themselves, as the reminder suggests) is
    replaced by the pipeline, once: the request is claimed before anyone is
    asked, so two runs never replace twice."""
    now = now or timezone.now()
    asked: dict[int, set[str]] = defaultdict(set)
    for pull_id, reviewers in (
        ReviewAssignment.objects.filter(
            status=ReviewAssignment.Status.REQUESTED,
            created_at__gte=now - REPLACE_WITHIN,
            pull_request__state=PullState.OPEN,
        )
        .exclude(pull_request__draft=True)
        .values_list("pull_request_id", "reviewers")
    ):
        asked[pull_id] |= {login.lower() for login in reviewers or ()}
    if not asked:
        return []
    settled = {
        pull_id
        for pull_id, latest in ReviewRequestSighting.objects.filter(
            pull_request_id__in=list(asked)
        )
        .values("pull_request_id")
        .annotate(latest=Max("seen_at"))
        .values_list("pull_request_id", "latest")
        if latest <= now - REPLACE_GRACE
    }
    replaced = []
    for request in (
        ReviewRequest.objects.filter(
            pull_request_id__in=settled,
            is_active=False,
            responded_at__isnull=True,
            reassigned_at__isnull=True,
        )
        .select_related("pull_request__repository")
        .order_by("pk")
    ):
        if request.reviewer_login.lower() not in asked[request.pull_request_id]:
            continue  # a person asked for them, not CodeQuest
        if not ReviewRequest.objects.filter(
            pk=request.pk, reassigned_at__isnull=True
        ).update(reassigned_at=now):
            continue
        assignment = reviewer_assign(
            pull_request_id=request.pull_request_id,
            trigger="reviewer_removed",
            exclude=[request.reviewer_login],
        )
        pull = request.pull_request
        label = f"{pull.repository.full_name}#{pull.number}"
        if assignment is None or assignment.status != ReviewAssignment.Status.REQUESTED:
            logger.info("reviews.removed.nobody_else", extra={"pull": pull.pk})
            continue
        replaced.append(f"{request.reviewer_login} on {label}")
    return replaced
