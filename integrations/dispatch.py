"""Cheap hand-off from the webhook receiver to Celery.

A Celery ``delay()`` per delivery costs about as much CPU as the whole rest of
the request (PERFORMANCE-NOTES). The stored row is the real queue, so the
receiver only notes the new row's id here; a short timer sends the ids to Celery
as one batch task. If a process dies with ids in its buffer, the rows are still
``pending`` and ``deliveries_sweep`` (beat) re-queues them.
"""

from __future__ import annotations

import atexit
import logging
import threading

from django.conf import settings

from integrations.tasks import deliveries_process_task

logger = logging.getLogger(__name__)


class DeliveryDispatcher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._timer: threading.Timer | None = None

    def notify(self, delivery_pk: int) -> None:
        """Queue one stored delivery for processing (called on commit)."""
        delay = settings.WEBHOOK_DISPATCH_MAX_DELAY
        if delay <= 0:
            self.send([delivery_pk])
            return
        with self._lock:
            self._pending.append(delivery_pk)
            full = len(self._pending) >= settings.WEBHOOK_DISPATCH_BATCH_SIZE
            if not full and self._timer is None:
                self._timer = threading.Timer(delay, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if batch:
            self.send(batch)

    def send(self, delivery_pks: list[int]) -> None:
        """One Celery message for the batch; on failure the sweeper recovers."""
        try:
            deliveries_process_task.delay(delivery_pks)
        except Exception:  # noqa: BLE001 - broker down: rows stay pending, swept later
            logger.warning(
                "integrations.dispatch.broker_unavailable",
                extra={"deliveries": len(delivery_pks)},
                exc_info=True,
            )


dispatcher = DeliveryDispatcher()
atexit.register(dispatcher.flush)
