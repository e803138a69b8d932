"""Reconciliation: make our copy equal the provider's, at almost no API cost.

Webhooks get lost (GitHub does not retry a failed delivery), so every connected
repository is also compared with its provider on a schedule and on demand:

1. List pull requests updated since the last one applied (``sync_cursor``),
   newest first, stopping at the cursor. On GitHub the first page is asked
   with the stored ETag: a 304 means nothing changed and costs no primary
   rate-limit point.
2. For each listed pull request (each was updated since the last run), read
   its reviews (one call) and send both through the same path as a webhook
   (``event_handle``): a repository with k changed pull requests costs about
   k + 1 calls, not one per open pull request.
3. Record the run (``SyncRun``: calls, points, changes, how many of them the
   webhooks had missed) and the provider's rate-limit headers.

Before spending, the last known budget of the token is checked: below the
reserve, the run is deferred until the limit resets instead.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import metrics
from integrations.models import ConnectedRepository, RateLimitSample, SyncRun
from integrations.providers.base import (
    EventKind,
    NormalizedEvent,
    ProviderError,
    PullRequestSnapshot,
    PullState,
    ReviewSnapshot,
)
from integrations.services.connections import (
    Progress,
    credential_guard,
    repository_client,
)
from integrations.services.events import event_handle

logger = logging.getLogger(__name__)

WEBHOOK_GRACE = timedelta(minutes=2)  # a delivery may still be on its way


class SyncDeferred(Exception):
    """The token's rate-limit budget is below the reserve until ``reset_at``."""

    def __init__(self, reset_at: datetime) -> None:
        super().__init__(f"rate limit below the reserve until {reset_at:%H:%M:%S} UTC")
        self.reset_at = reset_at


@dataclass
class SyncResult:
    run: SyncRun
    changed: list[str]  # "#12 merged", "#12 review by kim"


def repository_sync(
    *,
    repository: ConnectedRepository,
    full: bool = False,
    trigger: str = "schedule",
    progress: Progress = lambda line: None,
) -> SyncResult:
    """Reconcile one repository now; raises SyncDeferred or ProviderError."""
    started = timezone.now()
    run = SyncRun.objects.create(
        repository=repository,
        kind=SyncRun.Kind.FULL if full else SyncRun.Kind.INCREMENTAL,
        status=SyncRun.Status.RUNNING,
        trigger=trigger,
        started_at=started,
    )
    client = None
    try:
        budget_check(repository)
        credential = repository.credential
        with credential_guard(credential) if credential else nullcontext():
            client = repository_client(repository)
            changed, missed = _reconcile(repository, client, full, started, progress)
            run.not_modified = changed is None
            changed = changed or []
    except SyncDeferred as exc:
        _finish(run, client, SyncRun.Status.DEFERRED, error=str(exc))
        raise
    except ProviderError as exc:
        _finish(run, client, SyncRun.Status.FAILED, error=str(exc))
        raise
    except Exception as exc:
        # A malformed answer or a database error: the run must not stay
        # "running"; the caller (a task, the command) reports it.
        _finish(
            run, client, SyncRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}"
        )
        raise
    run.changes = len(changed)
    run.missed_by_webhooks = missed
    _finish(run, client, SyncRun.Status.SUCCEEDED)
    _webhook_health(repository, missed, started)
    return SyncResult(run, changed)


def _reconcile(repository, client, full: bool, started: datetime, progress):
    since = _since(repository, full, started)
    etag = "" if full else repository.sync_etag
    listing = client.pull_requests_since(repository.full_name, since=since, etag=etag)
    if listing.not_modified:
        progress("not modified since the last sync (no rate limit spent)")
        _bookmark(repository, listing.etag, None, started)
        return None, 0
    known = _known(repository, listing.pulls)
    changed: list[str] = []
    missed = 0
    newest = None
    for index, snapshot in enumerate(listing.pulls, start=1):
        newest = max(filter(None, (newest, snapshot.updated_at)), default=None)
        before = known.get(snapshot.number)
        if _seen_last_time(snapshot, before, repository.sync_cursor):
            continue
        reviews = client.reviews(repository.full_name, snapshot)
        found = _apply(repository, snapshot, reviews, before)
        progress(
            f"[{index}/{len(listing.pulls)}] #{snapshot.number}: "
            + (", ".join(found) if found else "no change")
        )
        changed += [f"#{snapshot.number} {what}" for what in found]
        if found and _webhooks_should_have(repository, snapshot, started):
            missed += len(found)
    _bookmark(repository, listing.etag, newest, started)
    return changed, missed


def _webhooks_should_have(
    repository: ConnectedRepository, snapshot: PullRequestSnapshot, started: datetime
) -> bool:
    """Changed after we began following the repository, and long enough ago
    that its delivery is not merely still on the way: a webhook missed it.
    History from before we followed it is an import, not a miss."""
    when = snapshot.updated_at
    return when is not None and repository.created_at <= when < started - WEBHOOK_GRACE


def _since(repository: ConnectedRepository, full: bool, now: datetime) -> datetime:
    if full or repository.sync_cursor is None:
        return now - timedelta(days=settings.CODEQUEST_SYNC_HISTORY_DAYS)
    return repository.sync_cursor


def _known(repository, pulls: list[PullRequestSnapshot]) -> dict[int, tuple]:
    """number -> (provider_updated_at, state) of the pull requests we hold."""
    from reviews.models import PullRequest

    rows = PullRequest.objects.filter(
        repository=repository, number__in=[pull.number for pull in pulls]
    ).values_list("number", "provider_updated_at", "state")
    return {number: (updated, state) for number, updated, state in rows}


def _seen_last_time(
    snapshot: PullRequestSnapshot, before: tuple | None, cursor: datetime | None
) -> bool:
    """Already reconciled by the previous run (it is the cursor itself, applied).

    Everything else listed was updated since the last run and is read in full,
    even when a webhook already brought a later version of the pull request:
    an earlier delivery (a review) may have been the one that was lost.
    """
    return (
        cursor is not None
        and before is not None
        and snapshot.updated_at is not None
        and snapshot.updated_at <= cursor
        and before[0] == snapshot.updated_at
    )


@transaction.atomic
def _apply(
    repository: ConnectedRepository,
    snapshot: PullRequestSnapshot,
    reviews: list[ReviewSnapshot],
    before: tuple | None,
) -> list[str]:
    """Send the snapshot and its reviews down the webhook path; what changed."""
    kind = _pull_kind(snapshot, before)
    event = NormalizedEvent(
        kind=kind,
        provider=repository.provider,
        occurred_at=snapshot.updated_at or timezone.now(),
        pull_request=snapshot,
    )
    found = []
    if event_handle(event=event, repository=repository).changed:
        found.append("new" if before is None else str(snapshot.state))
    for review in reviews:
        review_kind = (
            EventKind.REVIEW_DISMISSED
            if review.state == "dismissed"
            else EventKind.REVIEW_SUBMITTED
        )
        reviewed = NormalizedEvent(
            kind=review_kind,
            provider=repository.provider,
            occurred_at=review.submitted_at,
            pull_request=snapshot,
            review=review,
        )
        if event_handle(event=reviewed, repository=repository).changed:
            found.append(f"review by {review.reviewer.login} ({review.state})")
    return found


def _pull_kind(snapshot: PullRequestSnapshot, before: tuple | None) -> EventKind:
    """What a webhook would have said: opened, merged, closed or just updated."""
    if before is None:
        return (
            EventKind.PR_OPENED
            if snapshot.state == PullState.OPEN
            else (
                EventKind.PR_MERGED
                if snapshot.state == PullState.MERGED
                else EventKind.PR_UPDATED
            )
        )
    was = before[1]
    if snapshot.state == PullState.MERGED and was != PullState.MERGED:
        return EventKind.PR_MERGED
    if snapshot.state == PullState.CLOSED and was == PullState.OPEN:
        return EventKind.PR_CLOSED
    return EventKind.PR_UPDATED


def _bookmark(repository, etag: str, newest: datetime | None, now: datetime) -> None:
    updates = {"sync_etag": etag[:200], "last_synced_at": now}
    if newest is not None and (
        repository.sync_cursor is None or newest > repository.sync_cursor
    ):
        updates["sync_cursor"] = newest
    ConnectedRepository.objects.filter(pk=repository.pk).update(**updates)
    for field, value in updates.items():
        setattr(repository, field, value)


def _finish(run: SyncRun, client, status: str, *, error: str = "") -> None:
    run.status = status
    run.error = error[:2000]
    run.finished_at = timezone.now()
    if client is not None:
        run.api_calls = client.usage.calls
        run.rate_limit_points = client.usage.points
        _sample(run.repository, client)
    run.save()
    _export(run)


def _export(run: SyncRun) -> None:
    provider = run.repository.provider
    metrics.sync_runs.labels(provider, run.status).inc()
    metrics.sync_seconds.labels(provider).observe(
        (run.finished_at - run.started_at).total_seconds()
    )
    metrics.sync_api_calls.labels(provider).inc(run.api_calls)
    metrics.sync_rate_limit_points.labels(provider).inc(run.rate_limit_points)
    metrics.sync_changes.labels(provider, "found").inc(run.changes)
    metrics.sync_changes.labels(provider, "missed_by_webhooks").inc(
        run.missed_by_webhooks
    )


def _webhook_health(repository, missed: int, started: datetime) -> None:
    """Changes only reconciliation found: the webhook is not doing its job."""
    status = ConnectedRepository.WebhookStatus
    if missed and repository.webhook_status == status.VERIFIED:
        logger.warning(
            "integrations.sync.webhook_degraded",
            extra={"repository": repository.full_name, "missed": missed},
        )
        new = status.DEGRADED
    elif (
        not missed
        and repository.webhook_status == status.DEGRADED
        and repository.last_event_at is not None
        and repository.last_event_at >= started - timedelta(hours=1)
    ):
        new = status.VERIFIED  # deliveries arrive again and nothing was missed
    else:
        return
    ConnectedRepository.objects.filter(pk=repository.pk).update(webhook_status=new)
    repository.webhook_status = new


# --- rate limits ------------------------------------------------------------------


def token_fingerprint(repository: ConnectedRepository) -> str:
    """Which budget a repository spends: its installation or its credential."""
    if repository.installation_id:
        key = f"installation:{repository.installation_id}"
    else:
        key = f"credential:{repository.credential_id}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _sample(repository: ConnectedRepository, client) -> None:
    limit = client.rate_limit()
    if limit is not None:
        rate_limits_record(repository=repository, limits=[limit])


def rate_limits_record(
    *, repository: ConnectedRepository, limits: list, now: datetime | None = None
) -> None:
    """Keep the budgets a provider reported for the token this repository uses."""
    now = now or timezone.now()
    for limit in limits:
        labels = (repository.provider, repository.host, limit.resource)
        metrics.rate_limit_remaining.labels(*labels).set(limit.remaining)
        metrics.rate_limit_limit.labels(*labels).set(limit.limit)
    RateLimitSample.objects.bulk_create(
        RateLimitSample(
            provider=repository.provider,
            host=repository.host,
            token_fingerprint=token_fingerprint(repository),
            resource=limit.resource,
            limit=limit.limit,
            remaining=limit.remaining,
            reset_at=limit.reset_at,
            sampled_at=now,
        )
        for limit in limits
    )


def budget_check(repository: ConnectedRepository) -> None:
    """Defer instead of spending the last of the budget (the reserve).

    Raises SyncDeferred (with the reset time) when the token this repository
    uses last reported less than CODEQUEST_RATE_LIMIT_RESERVE left.
    """
    latest = (
        RateLimitSample.objects.filter(
            token_fingerprint=token_fingerprint(repository), resource="core"
        )
        .order_by("-sampled_at", "-id")
        .first()
    )
    now = timezone.now()
    if (
        latest is not None
        and latest.reset_at is not None
        and latest.reset_at > now
        and latest.remaining < settings.CODEQUEST_RATE_LIMIT_RESERVE
    ):
        raise SyncDeferred(latest.reset_at)


def repositories_syncable():
    """Active repositories we can call: a stored token, or an App installation
    when this instance has the App's credentials."""
    from django.db.models import Q

    callable_ = Q(credential__isnull=False)
    if app_configured():
        callable_ |= Q(installation_id__isnull=False)
    return ConnectedRepository.objects.filter(is_active=True).filter(callable_)


def repositories_waiting_for_app():
    """Active repositories known only through an App installation on an
    instance without the App's credentials: skipped, not failed."""
    if app_configured():
        return ConnectedRepository.objects.none()
    return ConnectedRepository.objects.filter(
        is_active=True, credential__isnull=True, installation_id__isnull=False
    )


def app_configured() -> bool:
    return bool(settings.GITHUB_APP_ID and settings.GITHUB_APP_PRIVATE_KEY)


def repository_sync_all(*, interval: int) -> int:
    """Queue every repository's sync, spread evenly over ``interval`` seconds.

    Each repository keeps the same offset in every round (its id modulo the
    interval), so 1,000 repositories never fire at once.
    """
    from integrations.tasks import repository_sync_task

    count = 0
    for pk in repositories_syncable().values_list("pk", flat=True).iterator():
        offset = (pk * 7919) % max(interval, 1)
        repository_sync_task.apply_async((pk,), countdown=offset)
        count += 1
    return count
