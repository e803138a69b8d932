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


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_committed_delivery_reaches_the_worker(client, worker):
    payload = load_payload("github", "pull_request.opened.1.json")
    response = post_webhook(
        client, "github", payload, "pull_request", delivery="real-1"
    )
    assert response.status_code == 202
    assert wait_for(
        lambda: WebhookDelivery.objects.filter(
            delivery_id="real-1", status="processed"
        ).exists()
    ), WebhookDelivery.objects.values("status", "error").first()
    assert PullRequest.objects.get().title == payload["pull_request"]["title"]


def test_transient_failure_is_retried_by_the_worker(client, worker):
    from reviews import services

    real = services.pull_request_upsert
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            from django.db import OperationalError

            raise OperationalError("could not serialize access")
        return real(**kwargs)

    payload = load_payload("github", "pull_request.opened.1.json")
    with mock.patch("reviews.services.pull_request_upsert", flaky):
        response = post_webhook(
            client, "github", payload, "pull_request", delivery="r-2"
        )
        assert response.status_code == 202
        assert wait_for(
            lambda: WebhookDelivery.objects.filter(
                delivery_id="r-2", status="processed"
            ).exists()
        ), WebhookDelivery.objects.values("status", "error").first()
    assert len(calls) == 2
    assert PullRequest.objects.count() == 1
    assert WebhookDelivery.objects.get(delivery_id="r-2").attempts == 1
