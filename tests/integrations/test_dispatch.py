"""The receiver's hand-off batches ids: one Celery message per batch, never lost."""

from __future__ import annotations

import time
from unittest import mock

from integrations.dispatch import DeliveryDispatcher


def test_zero_delay_sends_each_id_at_once(settings):
    settings.WEBHOOK_DISPATCH_MAX_DELAY = 0
    dispatcher = DeliveryDispatcher()
    with mock.patch.object(dispatcher, "send") as send:
        dispatcher.notify(1)
        dispatcher.notify(2)
    assert send.call_args_list == [mock.call([1]), mock.call([2])]


def test_ids_within_the_delay_travel_as_one_batch(settings):
    settings.WEBHOOK_DISPATCH_MAX_DELAY = 0.05
    settings.WEBHOOK_DISPATCH_BATCH_SIZE = 100
    dispatcher = DeliveryDispatcher()
    with mock.patch.object(dispatcher, "send") as send:
        for pk in range(5):
            dispatcher.notify(pk)
        assert send.call_count == 0
        deadline = time.monotonic() + 2
        while send.call_count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    send.assert_called_once_with([0, 1, 2, 3, 4])


def test_a_full_batch_goes_without_waiting(settings):
    settings.WEBHOOK_DISPATCH_MAX_DELAY = 60
    settings.WEBHOOK_DISPATCH_BATCH_SIZE = 3
    dispatcher = DeliveryDispatcher()
    with mock.patch.object(dispatcher, "send") as send:
        for pk in range(7):
            dispatcher.notify(pk)
        assert send.call_args_list == [mock.call([0, 1, 2]), mock.call([3, 4, 5])]
        dispatcher.flush()  # what atexit does when the process stops
    assert send.call_args_list[-1] == mock.call([6])


def test_broker_down_is_logged_and_swallowed(caplog):
    dispatcher = DeliveryDispatcher()
    with mock.patch(
        "integrations.tasks.deliveries_process_task.delay",
        side_effect=ConnectionError("redis down"),
    ):
        dispatcher.send([1, 2])
    assert "integrations.dispatch.broker_unavailable" in caplog.text
