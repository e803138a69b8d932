"""/metrics is not public: a bearer token, or loopback when none is configured."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_loopback_reads_metrics_when_no_token_is_configured(client, settings):
    settings.CODEQUEST_METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"codequest_webhook_deliveries_total" in response.content


@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "203.0.113.9"},
        {"REMOTE_ADDR": "10.1.2.3"},
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},  # through a proxy on loopback
    ],
)
def test_other_callers_are_refused_without_a_token(client, settings, extra):
    settings.CODEQUEST_METRICS_TOKEN = ""
    response = client.get("/metrics", **extra)
    assert response.status_code == 403
    assert b"CODEQUEST_METRICS_TOKEN" in response.content
    assert b"codequest_" not in response.content


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", "Bearer s3cret-metrics ", "s3cret-metrics"]
)
def test_a_wrong_or_missing_token_is_401(client, settings, header):
    settings.CODEQUEST_METRICS_TOKEN = "s3cret-metrics"
    headers = {"Authorization": header} if header else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"codequest_" not in response.content


def test_the_token_opens_metrics_from_anywhere(client, settings):
    settings.CODEQUEST_METRICS_TOKEN = "s3cret-metrics"
    response = client.get(
        "/metrics",
        REMOTE_ADDR="203.0.113.9",
        headers={"Authorization": "Bearer s3cret-metrics"},
    )
    assert response.status_code == 200
    assert b"codequest_webhook_deliveries_total" in response.content
