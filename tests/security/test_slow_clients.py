"""Against the real web process (the Procfile's gunicorn): 50 clients that
promise a body and never send it do not stop deliveries, pages or /health/;
a chunked signed delivery is read and accepted."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
import requests

from integrations.models import WebhookDelivery
from tests.conftest import github_signature
from tests.live import live_stack

pytestmark = pytest.mark.django_db(transaction=True)

BODY = json.dumps({"action": "opened", "repository": {"full_name": "octo/hello"}})


def signed_headers(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(body),
    }


def stalled_client(port: int) -> socket.socket:
    """Headers promising 100 kB, one byte of body, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /webhooks/github/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n"
        b"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: slow\r\n"
        b"X-Hub-Signature-256: sha256=00\r\n\r\n{"
    )
    return sock


def stalled_headers(port: int) -> socket.socket:
    """Half a request line's headers, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"POST /webhooks/github/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


def test_fifty_stalled_clients_leave_the_site_answering():
    # Production serving settings (gunicorn.conf.py defaults), a short deadline.
    with live_stack("web", WEB_CONCURRENCY="", WEB_REQUEST_DEADLINE="4") as stack:
        port = stack.web_port
        stalled = [stalled_client(port) for _ in range(50)]
        time.sleep(0.5)  # every stalled request now holds a thread, as it can

        slowest = 0.0
        for _ in range(20):
            body = BODY.encode()
            started = time.monotonic()
            response = requests.post(
                f"http://127.0.0.1:{port}/webhooks/github/",
                data=body,
                headers=signed_headers(body),
                timeout=10,
            )
            slowest = max(slowest, time.monotonic() - started)
            assert response.status_code == 202
        health = requests.get(f"http://127.0.0.1:{port}/health/", timeout=10)
        login = requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)

        assert slowest < 2.0
        assert health.status_code in (200, 503)  # answers (no broker check here)
        assert login.status_code == 200
        # The stalled requests end within the deadline: a 408, then closed.
        answers = []
        for sock in stalled:
            sock.settimeout(10)
            answers.append(sock.recv(200))
            sock.close()
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers)
        # Clients that stall before their headers end are closed quietly.
        headers_only = [stalled_headers(port) for _ in range(5)]
        time.sleep(5)
        for sock in headers_only:
            sock.settimeout(10)
            assert sock.recv(200) == b""  # closed by the server
            sock.close()
        time.sleep(0.5)
        assert "Traceback" not in stack.log("web")
        assert "request deadline passed" in stack.log("web")
    assert WebhookDelivery.objects.count() == 20


def test_a_chunked_signed_delivery_is_accepted():
    with live_stack("web") as stack:
        body = BODY.encode()
        headers = signed_headers(body)
        chunks = (body[i : i + 16] for i in range(0, len(body), 16))
        response = requests.post(
            f"http://127.0.0.1:{stack.web_port}/webhooks/github/",
            data=chunks,  # a generator: requests sends Transfer-Encoding: chunked
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 202, response.text
    stored = WebhookDelivery.objects.get()
    assert bytes(stored.body) == body


def test_closing_stalled_clients_does_not_hold_the_worker():
    """A client past its deadline is closed at once, not lingered on: the
    worker's main loop closes connections, so each linger would stall it (and
    every connection waiting to be closed behind it)."""
    with live_stack("web", WEB_CONCURRENCY="1", WEB_REQUEST_DEADLINE="2") as stack:
        port = stack.web_port
        started = time.monotonic()
        stalled = [stalled_headers(port) for _ in range(5)]
        closed_after = []
        for sock in stalled:
            sock.settimeout(15)
            assert sock.recv(200) == b""  # closed by the server
            closed_after.append(time.monotonic() - started)
            sock.close()
        response = requests.get(f"http://127.0.0.1:{port}/health/", timeout=10)
    assert response.status_code in (200, 503)
    # Each one at its own deadline (2 s), not one linger after another.
    assert max(closed_after) < 4.0, closed_after
