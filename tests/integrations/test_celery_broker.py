"""The hand-off and retries with a real Redis broker and a real Celery worker."""

from __future__ import annotations

import os
import time
from unittest import mock

import pytest
from django.conf import settings

from integrations.models import WebhookDelivery
from reviews.models import PullRequest
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook

REDIS_BROKER = settings.CELERY_BROKER_URL.startswith("redis://")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not REDIS_BROKER and os.environ.get("CI") != "true",
        reason="needs CELERY_BROKER_URL=redis://… (make test starts Redis)",
    ),
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]


@pytest.fixture
def worker():
    from celery.contrib.testing.worker import start_worker

    from codequest.celery import app

    assert REDIS_BROKER, "the real-broker tests need Redis"
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=10,
        loglevel="WARNING",
    ) as running:
        yield running


def post_and_wait_processed(client, delivery: str, timeout: float = 30.0) -> None:
    """POST a real opened PR and wait until a worker has processed it."""
    payload = load_payload("github", "pull_request.opened.1.json")
    response = post_webhook(
        client, "github", payload, "pull_request", delivery=delivery
    )
    assert response.status_code == 202
    stored = WebhookDelivery.objects.filter(delivery_id=delivery)
    deadline = time.monotonic() + timeout
    while not stored.filter(status="processed").exists():
        assert time.monotonic() < deadline, stored.values("status", "error").first()
        time.sleep(0.1)


def test_committed_delivery_reaches_the_worker(client, worker):
    post_and_wait_processed(client, "real-1")
    assert PullRequest.objects.get().title == "Update the README with new information."


def test_transient_failure_is_retried_by_the_worker(client, worker):
    from django.db import OperationalError

    from reviews import services

    real = services.pull_request_upsert
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("could not serialize access")
        return real(**kwargs)

    with mock.patch("reviews.services.pull_request_upsert", flaky):
        post_and_wait_processed(client, "r-2")
    assert len(calls) == 2
    assert PullRequest.objects.count() == 1
    assert WebhookDelivery.objects.get(delivery_id="r-2").attempts == 1


def test_the_priority_queue_is_served_before_the_backlog():
    """Twenty ordinary tasks wait; three settings reads queued after them run
    first, all three: every BRPOP names the priority queue first (kombu's round
    robin would alternate, putting an ordinary task between them)."""
    from celery.contrib.testing.worker import start_worker

    from codequest.celery import app
    from integrations.tasks import (
        repository_points_recount_task,
        repository_settings_read_task,
    )

    ran: list[str] = []
    app.control.purge()
    for number in range(20):
        repository_points_recount_task.delay(1000 + number)
    for number in range(3):
        repository_settings_read_task.delay(number, "abc")
    with (
        mock.patch(
            "integrations.services.settings_file.repository_points_recount",
            lambda **kwargs: ran.append("recount"),
        ),
        mock.patch(
            "integrations.services.settings_file.repository_settings_read",
            lambda **kwargs: ran.append("settings"),
        ),
        start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            shutdown_timeout=10,
            loglevel="WARNING",
        ),
    ):
        deadline = time.monotonic() + 30
        while len(ran) < 23:
            assert time.monotonic() < deadline, ran
            time.sleep(0.05)
    assert ran[:3] == ["settings"] * 3, ran[:6]
    assert ran.count("recount") == 20
