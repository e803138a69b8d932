"""Webhook deliveries: record (in the request), process (in Celery), replay."""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

import orjson
from django.conf import settings
from django.db import (
    connection,
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from integrations import metrics
from integrations.models import (
    ConnectedRepository,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.providers import get_provider
from integrations.providers.base import (
    EventKind,
    PayloadError,
)
from integrations.providers.cache import repository_cache_invalidate
from integrations.services.events import EventBatch, event_handle
from integrations.services.repositories import (
    NotThroughItsHook,
    installation_apply,
    repository_for_event,
    repository_touch,
)
from integrations.tasks import delivery_process_task
from integrations.transient import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

# Headers worth keeping for the audit log. Never the token or signatures.
STORED_HEADERS = (
    "Content-Type",
    "User-Agent",
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-GitHub-Hook-ID",
    "X-GitHub-Hook-Installation-Target-ID",
    "X-GitHub-Hook-Installation-Target-Type",
    "X-Gitlab-Event",
    "X-Gitlab-Event-UUID",
    "X-Gitlab-Webhook-UUID",
    "X-Gitlab-Instance",
    "Idempotency-Key",
    "webhook-id",
    "webhook-timestamp",
)
SWEEP_REPEAT = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class RecordResult:
    delivery_pk: int | None  # None: a duplicate of a stored delivery
    delivery_id: str
    status: str


def delivery_record(
    *,
    provider: str,
    hook: WebhookEndpoint | None,
    delivery_id: str,
    event: str,
    action: str,
    repository_name: str,
    headers: Mapping[str, str],
    body: bytes,
) -> RecordResult:
    """Store one verified delivery with a single INSERT; enqueue it on commit.

    The unique (provider, hook, delivery id) key turns a redelivery into a no-op
    that the caller reports as a duplicate.
    """
    handled = get_provider(provider).is_handled(event, action)
    status = Status.PENDING if handled else Status.IGNORED
    kept = {
        name: _storable(value)
        for name in STORED_HEADERS
        if (value := headers.get(name))
    }
    params = [
        provider,
        hook.pk if hook else None,
        hook.public_id if hook else "",
        _storable(delivery_id),
        _storable(event[:100]),
        _storable(action[:100]),
        _storable(repository_name[:500]),
        orjson.dumps(kept).decode(),
        body,
        str(status),
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), params)
        row = cursor.fetchone()
    if row is None:
        metrics.webhook_deliveries.labels(provider, "duplicate").inc()
        return RecordResult(None, delivery_id, "duplicate")
    metrics.webhook_deliveries.labels(provider, str(status)).inc()
    if hook is not None and hook.verified_at is None:
        # It verified with this hook's own secret: the hook works, whatever
        # the event (GitLab sends no ping; its "Test" button sends a push).
        webhook_endpoint_verified(hook)
    if handled:
        pk = row[0]
        transaction.on_commit(lambda: dispatcher.notify(pk))
    return RecordResult(row[0], delivery_id, "accepted" if handled else "ignored")


def _storable(value: str) -> str:
    """Text PostgreSQL can hold: NUL (never valid in text or jsonb) becomes U+FFFD."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _insert_sql() -> str:
    table = WebhookDelivery._meta.db_table
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    # The table name comes from the model, never from input.
    return (
        f"INSERT INTO {table} (provider, hook_id, hook_key, delivery_id, event, "  # noqa: S608
        "action, repository_name, headers, body, status, attempts, error, "
        f"received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s{json_cast}, %s, %s, "
        "0, '', %s) ON CONFLICT (provider, hook_key, delivery_id) DO NOTHING "
        "RETURNING id"
    )


# --- processing -------------------------------------------------------------------


def delivery_process(
    *, delivery_id: int, final_attempt: bool = True, force: bool = False
) -> str:
    """Normalize one stored delivery and apply it; record the outcome on the row.

    Transient errors propagate (for Celery to retry) unless this is the final
    attempt, which records ``failed``. Any other error fails the delivery at
    once with its message: a malformed payload does not get better by waiting.
    """
    started = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "busy"  # another worker holds it, or it no longer exists
        if delivery.status in (Status.PROCESSED, Status.IGNORED) and not force:
            return str(delivery.status)
        _attempt(delivery, None, final_attempt=final_attempt)
        delivery.save(update_fields=OUTCOME_FIELDS)
    _observe([delivery], started, is_replay=force)
    return str(delivery.status)


OUTCOME_FIELDS = ["status", "error", "processed_at", "attempts", "repository"]


def deliveries_process(*, delivery_ids: Iterable[int]) -> dict[int, str]:
    """Process a batch handed over by the dispatcher.

    Deliveries are applied in short transactions of several each
    (``WEBHOOK_BATCH_COMMIT_SECONDS``), the ledger of each pull request they
    touch recomputed once, the outcomes written in one query. A failing
    delivery fails alone: a transaction in which one fails after writing is
    redone with every delivery in its own savepoint (savepoints cost two
    statements a delivery, so they are taken only when needed). A transaction
    that fails as a whole (a deadlock, say) is redone one delivery at a time;
    a transiently failing delivery goes to a retrying task.
    """
    remaining = list(dict.fromkeys(delivery_ids))
    outcome: dict[int, str] = {}
    # Shared by the batch's transactions: what one committed (repositories
    # found, identities recorded) the next need not look up again.
    batch = EventBatch()
    isolated = False
    while remaining:
        try:
            done, taken = _deliveries_chunk(
                remaining, batch, set(outcome), isolated=isolated
            )
        except _Unisolated as failure:
            batch, isolated = EventBatch(), True  # what it remembered is gone
            logger.info(
                "integrations.delivery.batch_isolated",
                extra={"delivery": failure.delivery, "error": failure.error},
            )
            continue
        except Exception:  # noqa: BLE001 - redone one by one, each outcome recorded
            batch = EventBatch()  # what it remembered was rolled back
            logger.warning(
                "integrations.delivery.batch_redone_singly",
                extra={"deliveries": len(remaining)},
                exc_info=True,
            )
            done, taken = {pk: _delivery_alone(pk) for pk in remaining}, []
        isolated = False
        outcome.update(done)
        remaining = [
            pk for pk in dict.fromkeys([*remaining, *taken]) if pk not in outcome
        ]
    return outcome


# Deliveries a transaction locks (and reads, bodies included) at most: about
# what it applies within its time budget under load.
CHUNK_ROWS = 40


def _deliveries_chunk(
    pks: list[int], batch: EventBatch, settled: set[int], *, isolated: bool
) -> tuple[dict[int, str], list[int]]:
    """Apply deliveries from ``pks``, and pending ones of the same repositories,
    in one transaction until the time budget is spent (at least one); each in
    a savepoint when ``isolated``, else a failure after writes raises
    ``_Unisolated`` (and the transaction rolls back).

    Returns the outcomes by id, and the deliveries taken along but not reached
    (another worker skipped them as ours: the caller owes them a turn).
    """
    started, clock = timezone.now(), time.monotonic()
    budget = settings.WEBHOOK_BATCH_COMMIT_SECONDS
    outcome: dict[int, str] = {}
    applied: list[WebhookDelivery] = []
    with transaction.atomic():
        mine = pks[:CHUNK_ROWS]
        rows = {row.pk: row for row in _locked(Q(pk__in=mine))}
        if len(rows) < CHUNK_ROWS:
            rows |= _companions(
                rows.values(), exclude={*pks, *settled}, limit=CHUNK_ROWS - len(rows)
            )
        for pk in sorted({*mine, *rows}):
            if outcome and time.monotonic() - clock > budget:
                break
            row = rows.get(pk)
            if row is None or row.status in (Status.PROCESSED, Status.IGNORED):
                outcome[pk] = "busy" if row is None else str(row.status)
                continue
            try:
                _attempt(row, batch, final_attempt=False, isolated=isolated)
            except TRANSIENT_ERRORS:
                outcome[pk] = "retrying"
                transaction.on_commit(lambda pk=pk: _retry_later(pk))
                continue
            outcome[pk] = str(row.status)
            applied.append(row)
        batch.finish()
        _outcomes_save(applied)
    _observe(applied, started, is_replay=False)
    return outcome, [pk for pk in rows if pk not in outcome]


def _locked(match: Q, limit: int | None = None) -> list[WebhookDelivery]:
    """Deliveries no other worker holds, locked until the transaction ends."""
    rows = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("hook__repository")
        .filter(match)
        .order_by("id")
    )
    return list(rows[:limit] if limit else rows)


def _companions(
    rows: Iterable[WebhookDelivery], exclude: set[int], limit: int
) -> dict[int, WebhookDelivery]:
    """Pending deliveries of the same repositories that no worker holds.

    Taken along, a busy repository's deliveries (a review and its comments
    arrive at once, through different web processes) are applied by one
    worker in one transaction, with one ledger recount per pull request,
    instead of by two workers waiting on each other's row locks.
    """
    names = {(row.provider, row.repository_name) for row in rows if row.repository_name}
    if not names:
        return {}
    same = reduce(
        operator.or_,
        (Q(provider=provider, repository_name=name) for provider, name in names),
    )
    pending = same & Q(status=Status.PENDING) & ~Q(pk__in=exclude)
    return {row.pk: row for row in _locked(pending, limit)}


def _outcomes_save(deliveries: list[WebhookDelivery]) -> None:
    """One UPDATE for the chunk, each row's outcome joined from a VALUES list
    (``bulk_update``'s CASE per row costs more than the work it records, and a
    chunk spans several repositories, so several outcomes)."""
    if not deliveries:
        return
    table = WebhookDelivery._meta.db_table
    rows = sorted(deliveries, key=lambda row: row.pk)  # one lock order
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name comes from the model, never from input.
            f"UPDATE {table} AS delivery SET status = outcome.status, "  # noqa: S608
            "error = outcome.error, repository_id = outcome.repository_id, "
            "processed_at = %s, attempts = delivery.attempts + 1 FROM (VALUES "
            + ", ".join(["(%s::bigint, %s::text, %s::text, %s::bigint)"] * len(rows))
            + ") AS outcome (id, status, error, repository_id) "
            "WHERE delivery.id = outcome.id",
            [
                connection.ops.adapt_datetimefield_value(timezone.now()),
                *(
                    value
                    for row in rows
                    for value in (row.pk, row.status, row.error, row.repository_id)
                ),
            ],
        )


def _delivery_alone(pk: int) -> str:
    try:
        return delivery_process(delivery_id=pk, final_attempt=False)
    except TRANSIENT_ERRORS:
        _retry_later(pk)
        return "retrying"


def _retry_later(pk: int) -> None:
    logger.info("integrations.delivery.retry_scheduled", extra={"delivery": pk})
    delivery_process_task.apply_async((pk,), countdown=2)


class _Unisolated(Exception):
    """A delivery applied without a savepoint of its own failed after writing
    (or may have): its transaction must roll back and be redone isolated."""

    def __init__(self, delivery: int, error: str) -> None:
        super().__init__(error)
        self.delivery, self.error = delivery, error


# Raised before a delivery writes anything (see their docstrings and _apply):
# without a savepoint they still fail the delivery alone.
_BEFORE_WRITES = (PayloadError, NotThroughItsHook)


def _attempt(
    delivery: WebhookDelivery,
    batch: EventBatch | None,
    *,
    final_attempt: bool,
    isolated: bool = True,
) -> None:
    """Apply one locked delivery, in a savepoint when ``isolated``; set its
    outcome on the row (the caller saves it). A transient error propagates
    unless final; without a savepoint, so does any failure after writes
    (as ``_Unisolated``)."""
    delivery.attempts += 1
    repository = None
    if batch is not None:
        batch.checkpoint()
    try:
        if isolated:
            with transaction.atomic():
                status, repository = _apply(delivery, batch)
        else:
            status, repository = _apply_unisolated(delivery, batch)
        error = ""
    except _Unisolated:
        raise  # the whole transaction is redone
    except NotThroughItsHook as exc:
        logger.warning(
            "integrations.delivery.not_through_its_hook",
            extra={"delivery": delivery.pk, "hook": delivery.hook_key[:8]},
        )
        status, error = Status.IGNORED, str(exc)[:2000]
    except TRANSIENT_ERRORS as exc:
        if not final_attempt:
            delivery.attempts -= 1
            _forget(batch)
            raise
        status, error = Status.FAILED, _describe(exc)
    except Exception as exc:  # noqa: BLE001 - recorded on the delivery, see docstring
        logger.warning(
            "integrations.delivery.failed",
            extra={"delivery": delivery.pk, "error": _describe(exc)},
            exc_info=not isinstance(exc, PayloadError | ValueError | KeyError),
        )
        status, error = Status.FAILED, _describe(exc)
    if error:
        _forget(batch)
    delivery.status = status
    delivery.error = error
    delivery.processed_at = timezone.now()
    if repository is not None:
        delivery.repository = repository


def _apply_unisolated(
    delivery: WebhookDelivery, batch: EventBatch | None
) -> tuple[str, ConnectedRepository | None]:
    try:
        return _apply(delivery, batch)
    except _BEFORE_WRITES:
        raise
    except Exception as exc:
        raise _Unisolated(delivery.pk, _describe(exc)) from exc


def _stale_after_commit(
    repository: ConnectedRepository, batch: EventBatch | None
) -> None:
    """Invalidate the repository's cached provider reads when the transaction
    commits: once per repository per transaction."""
    key = (repository.provider, repository.full_name)
    if batch is not None:
        if key in batch.stale_repositories:
            return
        batch.stale_repositories.add(key)
    transaction.on_commit(lambda: repository_cache_invalidate(*key))


def _forget(batch: EventBatch | None) -> None:
    if batch is not None:
        batch.forget()


def _observe(
    deliveries: list[WebhookDelivery], started: datetime, *, is_replay: bool
) -> None:
    """Metrics for committed outcomes."""
    now = timezone.now()
    for delivery in deliveries:
        metrics.webhook_processed.labels(delivery.provider, str(delivery.status)).inc()
        if not is_replay:  # a replay's age is not queue lag
            metrics.webhook_lag.labels(delivery.provider).observe(
                (now - delivery.received_at).total_seconds()
            )
    if deliveries:
        spent = (now - started).total_seconds() / len(deliveries)
        for delivery in deliveries:
            metrics.webhook_processing.labels(delivery.provider).observe(spent)


def _apply(
    delivery: WebhookDelivery, batch: EventBatch | None
) -> tuple[str, ConnectedRepository | None]:
    try:
        payload = orjson.loads(bytes(delivery.body))
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError("body is not a JSON object")
    event = get_provider(delivery.provider).parse(delivery.event, payload)
    if event is None:
        return Status.IGNORED, None
    repository = repository_for_event(
        event, delivery.hook, batch.repositories if batch is not None else None
    )
    if event.kind is EventKind.PING and delivery.hook is not None:
        # The ping may just have bound the hook to its repository: mark both.
        webhook_endpoint_verified(delivery.hook)
    if event.installation is not None:
        installation_apply(
            provider=event.provider,
            snapshot=event.installation,
            occurred_at=event.occurred_at,
        )
    event_handle(event=event, repository=repository, batch=batch)
    if repository is not None:
        # The provider changed: cached reads of this repository are stale, once
        # the change is committed (a read before would cache the old state).
        _stale_after_commit(repository, batch)
        repository_touch(repository)
    return Status.PROCESSED, repository


def _describe(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:2000]


def webhook_endpoint_verified(hook: WebhookEndpoint) -> None:
    """A delivery verified with the hook's own secret: mark hook and repository."""
    hook.verified_at = timezone.now()
    WebhookEndpoint.objects.filter(pk=hook.pk).update(verified_at=hook.verified_at)
    if hook.repository_id is not None:
        ConnectedRepository.objects.filter(pk=hook.repository_id).exclude(
            webhook_status=ConnectedRepository.WebhookStatus.VERIFIED
        ).update(webhook_status=ConnectedRepository.WebhookStatus.VERIFIED)


# --- replay and sweeping ------------------------------------------------------------


def deliveries_replay(
    *,
    status: str | None = None,
    since: datetime | None = None,
    delivery_id: str | None = None,
) -> Iterable[tuple[WebhookDelivery, str]]:
    """Re-run processing of stored deliveries, oldest first; yields each outcome."""
    queryset = WebhookDelivery.objects.order_by("received_at", "id")
    if status:
        queryset = queryset.filter(status=status)
    if since:
        queryset = queryset.filter(received_at__gte=since)
    if delivery_id:
        queryset = queryset.filter(delivery_id=delivery_id)
    for delivery in queryset.only("pk", "provider", "event", "action", "delivery_id"):
        outcome = delivery_process(delivery_id=delivery.pk, force=True)
        yield delivery, outcome


def deliveries_sweep() -> int:
    """Hand pending deliveries that nobody picked up (a lost hand-off) to Celery.

    A delivery is re-queued at most every ``SWEEP_REPEAT``: when workers are
    merely behind, its id is already queued and re-sending it every minute
    would only grow the backlog.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
    pks = list(
        WebhookDelivery.objects.filter(status=Status.PENDING, received_at__lt=cutoff)
        .exclude(requeued_at__gte=now - SWEEP_REPEAT)
        .order_by("received_at")
        .values_list("pk", flat=True)[:5000]
    )
    WebhookDelivery.objects.filter(pk__in=pks).update(requeued_at=now)
    for start in range(0, len(pks), 100):
        dispatcher.send(pks[start : start + 100])
    if pks:
        logger.info("integrations.delivery.swept", extra={"count": len(pks)})
    return len(pks)


from integrations.dispatch import dispatcher  # noqa: E402  (dispatch imports tasks lazily)
