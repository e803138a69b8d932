"""Behind a TLS-terminating proxy: X-Forwarded-Proto makes a request secure,
and Strict-Transport-Security is sent on HTTPS answers once configured."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_hsts_is_off_until_configured(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_on_https_answers_behind_the_proxy(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    secure = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/")  # not through the proxy's HTTPS: no HSTS
    assert "Strict-Transport-Security" not in plain.headers
