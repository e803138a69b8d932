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

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import metrics
from integrations.budgets import (
    SyncDeferred,
    budget_check,
    rate_limits_record,
)
from integrations.credentials import credential_guard, repository_client
from integrations.models import ConnectedRepository, SyncRun
from integrations.providers import PROVIDERS
from integrations.providers.base import (
    CommentKind,
    CommentListing,
    CommentSnapshot,
    EventKind,
    NormalizedEvent,
    ProviderError,
    PullRequestSnapshot,
    PullState,
    RepoClient,
    ReviewSnapshot,
    UserRef,
)
from integrations.services.events import EventBatch, event_handle
from integrations.services.settings_file import repositories_settings_stale
from integrations.tasks import repository_settings_read_task, repository_sync_task
from reviews.models import Comment, PullRequest

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

WEBHOOK_GRACE = timedelta(minutes=2)  # a delivery may still be on its way


@dataclass
class SyncResult:
    run: SyncRun
    changed: list[str]  # "#12 merged", "#12 review by kim"
    pull_requests: int = 0  # read from the provider
    reviews: int = 0


@dataclass
class _Pass:
    """What one run found and read."""

    changed: list[str] | None  # None: the provider said nothing changed (304)
    missed: int = 0
    pull_requests: int = 0
    reviews: int = 0


def repository_sync(
    *,
    repository: ConnectedRepository,
    full: bool = False,
    initial: bool = False,
    trigger: str = SyncRun.Trigger.SCHEDULE,
    progress: Progress = lambda line: None,
    client: RepoClient | None = None,
) -> SyncResult:
    """Reconcile one repository now; raises SyncDeferred or ProviderError.

    ``initial`` is the import when a repository is connected: its open pull
    requests and those updated in the last ``CODEQUEST_INITIAL_SCAN_DAYS``,
    down the same road as every other run (what was done before the
    repository was followed earns nothing and assigns nobody, by the rules).
    """
    started = timezone.now()
    run = SyncRun.objects.create(
        repository=repository,
        kind=_kind(full=full, initial=initial),
        status=SyncRun.Status.RUNNING,
        trigger=trigger,
        started_at=started,
        # What a client handed in has already spent; _finish takes the rest.
        api_calls=client.usage.calls if client else 0,
        rate_limit_points=client.usage.points if client else 0,
    )
    try:
        budget_check(repository)
        credential = repository.credential
        with credential_guard(credential) if credential else nullcontext():
            client = client or repository_client(repository)
            found = (
                _import(repository, client, started, progress)
                if initial
                else _reconcile(repository, client, full, started, progress)
            )
            run.not_modified = found.changed is None
            changed = found.changed or []
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
    run.missed_by_webhooks = found.missed
    _finish(run, client, SyncRun.Status.SUCCEEDED)
    _webhook_health(repository, found.missed, started)
    return SyncResult(run, changed, found.pull_requests, found.reviews)


def _kind(*, full: bool, initial: bool) -> str:
    if initial:
        return SyncRun.Kind.INITIAL
    return SyncRun.Kind.FULL if full else SyncRun.Kind.INCREMENTAL


def _import(
    repository: ConnectedRepository,
    client: RepoClient,
    started: datetime,
    progress: Progress,
) -> _Pass:
    """Every open pull request and those updated in the scan window, with
    their reviews, applied like any other run."""
    days = settings.CODEQUEST_INITIAL_SCAN_DAYS
    changed: list[str] = []
    found = _Pass(changed=changed)
    newest = None
    for snapshot, reviews in client.pull_requests(
        repository.full_name, updated_since=started - timedelta(days=days)
    ):
        newest = max(filter(None, (newest, snapshot.updated_at)), default=None)
        before = _known(repository, [snapshot]).get(snapshot.number)
        comments = client.comments(repository.full_name, snapshot)
        changes = _apply(repository, snapshot, reviews, before, comments, started)
        changed += [f"#{snapshot.number} {what}" for what in changes]
        found.pull_requests += 1
        found.reviews += len(reviews)
        progress(
            f"#{snapshot.number} {snapshot.state}: {_count(len(reviews), 'review')}"
        )
    _bookmark(repository, "", newest, started)
    progress(
        f"imported {_count(found.pull_requests, 'pull request')} and "
        f"{_count(found.reviews, 'review')} (last {days} days)"
    )
    return found


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _reconcile(
    repository: ConnectedRepository,
    client: RepoClient,
    full: bool,
    started: datetime,
    progress: Progress,
) -> _Pass:
    since = _since(repository, full, started)
    etag = "" if full else repository.sync_etag
    listing = client.pull_requests_since(repository.full_name, since=since, etag=etag)
    if listing.not_modified:
        progress("not modified since the last sync (no rate limit spent)")
        _bookmark(repository, listing.etag, None, started)
        return _Pass(changed=None)
    known = _known(repository, listing.pulls)
    changed: list[str] = []
    missed = read = reviewed = 0
    newest = None
    for index, snapshot in enumerate(listing.pulls, start=1):
        newest = max(filter(None, (newest, snapshot.updated_at)), default=None)
        before = known.get(snapshot.number)
        cursor = None if full else repository.sync_cursor  # full: read them all
        if _seen_last_time(snapshot, before, cursor):
            continue
        reviews = client.reviews(repository.full_name, snapshot)
        comments = client.comments(repository.full_name, snapshot)
        read, reviewed = read + 1, reviewed + len(reviews)
        found = _apply(repository, snapshot, reviews, before, comments, started)
        progress(
            f"[{index}/{len(listing.pulls)}] #{snapshot.number}: "
            + (", ".join(found) if found else "no change")
        )
        changed += [f"#{snapshot.number} {what}" for what in found]
        if found and _webhooks_should_have(repository, snapshot, started):
            missed += len(found)
    _bookmark(repository, listing.etag, newest, started)
    return _Pass(changed, missed, read, reviewed)


def _webhooks_should_have(
    repository: ConnectedRepository, snapshot: PullRequestSnapshot, started: datetime
) -> bool:
    """Changed after we began following the repository, and long enough ago
    that its delivery is not merely still on the way: a webhook missed it.
    History from before we followed it is an import, not a miss."""
    when = snapshot.updated_at
    since = repository.followed_since or repository.created_at
    return when is not None and since <= when < started - WEBHOOK_GRACE


def _since(repository: ConnectedRepository, full: bool, now: datetime) -> datetime:
    if full or repository.sync_cursor is None:
        return now - timedelta(days=settings.CODEQUEST_SYNC_HISTORY_DAYS)
    return repository.sync_cursor


def _known(repository, pulls: list[PullRequestSnapshot]) -> dict[int, tuple]:
    """number -> (provider_updated_at, state) of the pull requests we hold."""
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
    comments: CommentListing,
    listed_at: datetime,
) -> list[str]:
    """Send the snapshot, its reviews and comments down the webhook path, as
    one batch (the pull request's ledger is recomputed once); what changed."""
    batch = EventBatch()
    kind = _pull_kind(snapshot, before)
    event = NormalizedEvent(
        kind=kind,
        provider=repository.provider,
        occurred_at=snapshot.updated_at or timezone.now(),
        pull_request=snapshot,
    )
    found = []
    if event_handle(event=event, repository=repository, batch=batch).changed:
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
        if event_handle(event=reviewed, repository=repository, batch=batch).changed:
            found.append(f"review by {review.reviewer.login} ({review.state})")
    found += _apply_comments(repository, snapshot, comments, listed_at, batch)
    batch.finish()
    return found


def _apply_comments(
    repository: ConnectedRepository,
    snapshot: PullRequestSnapshot,
    comments: CommentListing,
    listed_at: datetime,
    batch: EventBatch,
) -> list[str]:
    """Comments as the provider lists them, and those it no longer lists."""
    found = []
    for comment in [
        *comments.comments,
        *_deleted(repository, snapshot, comments, listed_at),
    ]:
        commented = NormalizedEvent(
            kind=EventKind.COMMENT_DELETED
            if comment.is_deleted
            else EventKind.COMMENT_CREATED,
            provider=repository.provider,
            occurred_at=comment.updated_at,
            pull_request=snapshot,
            comment=comment,
        )
        if event_handle(event=commented, repository=repository, batch=batch).changed:
            what = "deleted" if comment.is_deleted else "by"
            found.append(f"comment {what} {comment.author.login}")
    return found


def _deleted(
    repository: ConnectedRepository,
    snapshot: PullRequestSnapshot,
    listing: CommentListing,
    listed_at: datetime,
) -> list[CommentSnapshot]:
    """Comments we hold that the provider no longer lists: deleted there.

    Only a complete listing proves a deletion, and only for comments older
    than the listing by the webhook grace: one created meanwhile may have
    arrived by webhook after the list was read.
    """
    if not listing.complete:
        return []
    listed = {comment.external_id for comment in listing.comments}
    gone = Comment.objects.filter(
        pull_request__repository=repository,
        pull_request__number=snapshot.number,
        kind__in=[str(kind) for kind in listing.kinds],
        is_deleted=False,
        provider_created_at__lt=listed_at - WEBHOOK_GRACE,
    ).exclude(external_id__in=listed)
    return [
        CommentSnapshot(
            external_id=row.external_id,
            kind=CommentKind(row.kind),
            author=UserRef(row.author_login, row.author_external_id),
            body=row.body,
            created_at=row.provider_created_at,
            updated_at=row.provider_updated_at,
            review_external_id=row.review_external_id,
            is_deleted=True,
            path=row.path,
            line=row.line,
        )
        for row in gone
    ]


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
        # A client handed in (connecting) has spent calls before this run.
        run.api_calls = client.usage.calls - run.api_calls
        run.rate_limit_points = client.usage.points - run.rate_limit_points
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


def _sample(repository: ConnectedRepository, client) -> None:
    limit = client.rate_limit()
    if limit is not None:
        rate_limits_record(repository=repository, limits=[limit])


def repositories_syncable():
    """Active repositories we can call: a stored token, or an App installation
    when this instance has the App's credentials."""
    from django.db.models import Q

    callable_ = Q(credential__isnull=False) | Q(
        installation_id__isnull=False, provider__in=apps_configured()
    )
    return ConnectedRepository.objects.filter(is_active=True).filter(callable_)


def repositories_waiting_for_app():
    """Active repositories known only through an App installation on an
    instance without the App's credentials: skipped, not failed."""
    return ConnectedRepository.objects.filter(
        is_active=True, credential__isnull=True, installation_id__isnull=False
    ).exclude(provider__in=apps_configured())


def apps_configured() -> list[str]:
    """Providers whose App this instance can authenticate as."""
    return [
        slug
        for slug, adapter in PROVIDERS.items()
        if adapter.app is not None and adapter.app.is_configured()
    ]


DEFAULT_QUEUE = "celery"  # CELERY_TASK_DEFAULT_QUEUE


def repository_sync_all(*, interval: int) -> int:
    """Queue every repository's sync, spread evenly over ``interval`` seconds.

    Each repository keeps the same offset in every round (its id modulo the
    interval), so 1,000 repositories never fire at once.
    """
    count = 0
    syncable = repositories_syncable()
    for pk in syncable.values_list("pk", flat=True).iterator():
        offset = (pk * 7919) % max(interval, 1)
        repository_sync_task.apply_async((pk,), countdown=offset)
        count += 1
    # The settings file too, where the last reading is an hour old (a push
    # webhook that never came): not urgent, so not the priority queue.
    for pk in repositories_settings_stale(syncable):
        repository_settings_read_task.apply_async(
            (pk,), countdown=(pk * 7919) % max(interval, 1), queue=DEFAULT_QUEUE
        )
    return count
