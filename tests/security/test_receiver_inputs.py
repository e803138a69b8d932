"""Receiver inputs that used to be 500s or 503s get a precise answer."""

from __future__ import annotations

import json
from unittest import mock
from urllib.parse import urlencode

import pytest

from integrations.models import WebhookDelivery
from tests.conftest import (
    GITLAB_SECRET,
    github_signature,
    post_webhook,
    standard_webhook_headers,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_dispatch():
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send:
        yield send


PAYLOAD = {"object_kind": "merge_request", "object_attributes": {"action": "open"}}


@pytest.mark.parametrize("timestamp", ["9" * 400, "1" * 13, "١٧٠٠٠٠٠٠٠٠", "-1", ""])
def test_a_wild_standard_webhooks_timestamp_is_401(client, timestamp):
    body = json.dumps(PAYLOAD).encode()
    headers = standard_webhook_headers(body, GITLAB_SECRET)
    headers["webhook-timestamp"] = timestamp

    response = post_webhook(
        client, "gitlab", None, "Merge Request Hook", body=body, extra_headers=headers
    )

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_a_form_body_with_too_many_fields_is_400(client):
    fields = {"payload": json.dumps({"action": "opened"})}
    fields.update({f"field{n}": "x" for n in range(60)})
    body = urlencode(fields).encode()

    response = post_webhook(
        client,
        "github",
        None,
        "pull_request",
        body=body,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "too many fields" in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


def test_a_nul_in_a_header_is_stored_without_it(client):
    body = json.dumps({"action": "opened", "repository": {"full_name": "a/b"}}).encode()
    response = client.generic(
        "POST",
        "/webhooks/github/",
        body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "d-nul",
            "X-Hub-Signature-256": github_signature(body),
            "User-Agent": "GitHub-Hookshot/\x00abc",
        },
    )

    assert response.status_code == 202
    stored = WebhookDelivery.objects.get()
    assert "\x00" not in json.dumps(stored.headers)
