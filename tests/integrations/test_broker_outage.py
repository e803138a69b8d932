"""A running web + worker (the Procfile's commands) ride out real Redis
outages: Redis is stopped under them and started again, and every delivery,
before, during and after, is processed by the same worker process."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from kombu import Connection

from integrations.models import WebhookDelivery
from tests.conftest import SHARED_FIXTURES, github_signature, load_payload
from tests.live import Stack, live_stack

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]


def deliver(port: int, count: int) -> list[str]:
    """POST ``count`` signed real deliveries; each must be stored (202)."""
    body = json.dumps(load_payload("github", "pull_request.opened.1.json")).encode()
    ids = []
    for _ in range(count):
        delivery = str(uuid.uuid4())
        response = requests.post(
            f"http://127.0.0.1:{port}/webhooks/github/",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": github_signature(body),
            },
            timeout=10,
        )
        assert response.status_code == 202, response.text
        ids.append(delivery)
    return ids


def wait_processed(ids: list[str], timeout: float = 60.0) -> None:
    stored = WebhookDelivery.objects.filter(delivery_id__in=ids)
    deadline = time.monotonic() + timeout
    while stored.filter(status="processed").count() < len(ids):
        assert time.monotonic() < deadline, list(stored.values("status", "error"))
        time.sleep(0.2)


def outage(stack: Stack, seconds: float, *, posted_meanwhile: int) -> list[str]:
    stack.redis.stop()
    during = deliver(stack.web_port, posted_meanwhile)  # stored; hand-off waits
    time.sleep(seconds)
    stack.redis.start()
    return during


def sweep(stack: Stack) -> None:
    """What Redis lost while down is handed over again by the sweeper (beat)."""
    from codequest.celery import app

    with Connection(stack.redis.url) as connection:
        app.send_task("integrations.deliveries_sweep", connection=connection)


def test_the_worker_survives_redis_outages_and_nothing_is_lost():
    with live_stack("web", "worker") as stack:
        before = deliver(stack.web_port, 5)
        wait_processed(before)
        worker_pid = stack.processes["worker"].pid

        # 1. Right after work (the moment that ended the worker in about one
        #    outage in three), three times.
        during = []
        for _ in range(3):
            during += outage(stack, 2, posted_meanwhile=1)
            wait_processed(deliver(stack.web_port, 2))
        # 2. While the worker holds unacknowledged messages, for 5 seconds.
        in_flight = deliver(stack.web_port, 20)
        during += outage(stack, 5, posted_meanwhile=5)

        after = deliver(stack.web_port, 5)
        wait_processed(after)
        sweep(stack)
        wait_processed(during + in_flight)

        assert stack.alive("worker"), stack.log("worker")[-3000:]
        assert stack.processes["worker"].pid == worker_pid
        log = stack.log("worker")
        assert "Unrecoverable error" not in log
        assert "Connection to broker lost" in log
    assert WebhookDelivery.objects.filter(status="processed").count() == 44
