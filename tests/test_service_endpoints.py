"""Health checks, metrics, admin pages, home page; and no secret shows anywhere."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from integrations.models import ProviderCredential, WebhookDelivery, WebhookEndpoint
from tests.conftest import GITHUB_SECRET, post_webhook
from tests.factories import DeliveryFactory, PullRequestFactory

pytestmark = pytest.mark.django_db


def test_health_ok(client):
    with mock.patch("codequest.views._check_broker", return_value="ok"):
        response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok"},
    }


def test_health_names_the_failing_check(client):
    def refuse(*args, **kwargs):
        raise OperationalError("down")

    with (
        mock.patch("codequest.views._check_broker", return_value="ok"),
        mock.patch.object(CursorWrapper, "execute", refuse),
    ):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable", "broker": "ok"}


def test_health_reports_an_unreachable_broker(client, settings):
    from kombu import Connection

    from codequest.celery import app

    dead = Connection("redis://127.0.0.1:1/0", connect_timeout=1)
    with mock.patch.object(app, "connection_for_write", return_value=dead):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unavailable"


def test_webhook_health_counts_the_last_hour(client):
    old = timezone.now() - timedelta(hours=2)
    DeliveryFactory(status="failed", received_at=old)
    DeliveryFactory.create_batch(3, status="processed")
    DeliveryFactory(status="failed")
    DeliveryFactory(provider="gitlab", status="failed")
    body = client.get("/webhooks/github/health").json()
    assert body["total_events_last_hour"] == 4
    assert body["failed_events_last_hour"] == 1
    assert body["success_rate"] == 0.75
    assert body["status"] == "degraded"
    assert body["last_event_at"] is not None
    empty = client.get("/webhooks/gitlab/health/").json()
    assert empty["status"] == "unhealthy"
    assert empty["success_rate"] == 0.0


def test_webhook_health_with_no_traffic_is_healthy(client):
    body = client.get("/webhooks/gitlab/health").json()
    assert body == {
        "status": "healthy",
        "success_rate": 1.0,
        "total_events_last_hour": 0,
        "failed_events_last_hour": 0,
        "last_event_at": None,
        "pending": 0,
        "queue_lag_seconds": 0.0,
    }


def test_a_stopped_worker_does_not_read_healthy(client, settings):
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 60
    stuck = timezone.now() - timedelta(minutes=5)
    DeliveryFactory.create_batch(3, status="pending", received_at=stuck)
    DeliveryFactory(status="pending")  # just arrived: not a failure yet
    DeliveryFactory(status="processed")

    body = client.get("/webhooks/github/health").json()

    assert body["failed_events_last_hour"] == 3
    assert body["success_rate"] == 0.4
    assert body["status"] == "unhealthy"
    assert body["pending"] == 4
    assert 290 < body["queue_lag_seconds"] < 400


def test_metrics_expose_webhook_counters(client):
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send"):
        post_webhook(client, "github", {"zen": "x"}, "ping")
        post_webhook(client, "github", {"zen": "x"}, "ping", secret="wrong")
    text = client.get("/metrics").content.decode()
    assert (
        'codequest_webhook_deliveries_total{outcome="pending",provider="github"}'
        in text
    )
    assert (
        'codequest_webhook_rejected_total{provider="github",reason="bad_signature"}'
        in text
    )
    assert "django_http_requests_total_by_method_total" in text


def test_admin_pages_render_and_never_show_secrets(admin_client):
    hook = WebhookEndpoint(provider="github")
    hook.secret = "very-secret-hook-value"
    hook.save()
    delivery = DeliveryFactory(body=json.dumps({"action": "opened", "n": 1}).encode())
    PullRequestFactory()
    credential = ProviderCredential(
        provider="gitlab", api_url="https://gl.example", kind="oauth"
    )
    credential.token = "very-secret-hook-value"
    credential.save()
    pages = [
        "/admin/integrations/webhookdelivery/",
        f"/admin/integrations/webhookdelivery/{delivery.pk}/change/",
        "/admin/integrations/webhookendpoint/",
        f"/admin/integrations/webhookendpoint/{hook.pk}/change/",
        "/admin/integrations/connectedrepository/",
        "/admin/reviews/pullrequest/",
        "/admin/reviews/review/",
        "/admin/reviews/member/",
        "/admin/integrations/providercredential/",
        f"/admin/integrations/providercredential/{credential.pk}/change/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert b"very-secret-hook-value" not in response.content
        assert hook.secret_encrypted.encode() not in response.content
        assert credential.token_encrypted.encode() not in response.content
    detail = admin_client.get(pages[1]).content.decode()
    assert "&quot;opened&quot;" in detail  # the pretty-printed payload


def test_admin_replay_action(admin_client):
    delivery = DeliveryFactory(status="failed", body=b'{"zen": "hi"}', event="ping")
    response = admin_client.post(
        "/admin/integrations/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Replayed: 1 processed" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "processed"


def test_no_secret_reaches_logs_or_responses(client, caplog, settings):
    settings.GITLAB_WEBHOOK_SECRET = "gitlab-token-abc123"
    caplog.set_level(logging.DEBUG)
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send"):
        responses = [
            post_webhook(client, "github", {"zen": "x"}, "ping", secret="wrong"),
            post_webhook(client, "github", {"zen": "x"}, "ping"),
            post_webhook(
                client, "gitlab", {"a": 1}, "Push Hook", secret="gitlab-token-abc123"
            ),
            post_webhook(
                client, "gitlab", {"a": 1}, "Push Hook", secret="gitlab-token-wrong"
            ),
        ]
    stored = json.dumps(list(WebhookDelivery.objects.values("headers")))
    for secret in (GITHUB_SECRET, "gitlab-token-abc123", "gitlab-token-wrong"):
        assert secret not in caplog.text
        assert secret not in stored
        for response in responses:
            assert secret.encode() not in response.content


def test_home_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"/webhooks/github/" in response.content
