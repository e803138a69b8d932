"""The receivers answer every row of CONTRACT §3 and never lose or duplicate."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from integrations import crypto
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import (
    GITLAB_SECRET,
    github_signature,
    post_webhook,
    standard_webhook_headers,
)

pytestmark = pytest.mark.django_db

PR_PAYLOAD = {
    "action": "opened",
    "number": 1,
    "pull_request": {"number": 1},
    "repository": {"id": 7, "full_name": "octo/hello"},
}
MR_PAYLOAD = {
    "object_kind": "merge_request",
    "object_attributes": {"action": "open", "iid": 1},
    "project": {"id": 9, "path_with_namespace": "group/sub/project"},
}


@pytest.fixture
def dispatched():
    """The ids handed to Celery by the receiver (instead of a broker)."""
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send:
        yield send


def test_new_delivery_is_stored_then_accepted(
    client, dispatched, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(
            client, "github", PR_PAYLOAD, "pull_request", delivery="d-1"
        )
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "delivery": "d-1"}
    stored = WebhookDelivery.objects.get()
    assert (stored.provider, stored.delivery_id, stored.event, stored.action) == (
        "github",
        "d-1",
        "pull_request",
        "opened",
    )
    assert stored.repository_name == "octo/hello"
    assert stored.status == "pending"
    assert json.loads(bytes(stored.body)) == PR_PAYLOAD
    assert "X-Hub-Signature-256" not in stored.headers
    assert stored.headers["X-GitHub-Event"] == "pull_request"
    assert len(callbacks) == 1
    dispatched.assert_called_once_with([stored.pk])


def test_duplicate_delivery_is_200_and_not_requeued(
    client, dispatched, django_capture_on_commit_callbacks
):
    post_webhook(client, "github", PR_PAYLOAD, "pull_request", delivery="dup")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(
            client, "github", PR_PAYLOAD, "pull_request", delivery="dup"
        )
    assert response.status_code == 200
    assert response.json() == {"status": "duplicate", "delivery": "dup"}
    assert WebhookDelivery.objects.count() == 1
    assert callbacks == []


def test_same_delivery_id_on_two_hooks_is_two_deliveries(client, dispatched):
    hook = WebhookEndpoint(provider="github")
    hook.secret = "hook-secret"
    hook.save()
    first = post_webhook(client, "github", PR_PAYLOAD, "pull_request", delivery="x")
    second = post_webhook(
        client,
        "github",
        PR_PAYLOAD,
        "pull_request",
        delivery="x",
        hook=hook.public_id,
        secret="hook-secret",
    )
    assert (first.status_code, second.status_code) == (202, 202)
    assert sorted(WebhookDelivery.objects.values_list("hook_key", flat=True)) == [
        "",
        hook.public_id,
    ]


def test_github_form_encoded_body(client, dispatched):
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(PR_PAYLOAD)}).encode()
    response = post_webhook(
        client,
        "github",
        None,
        "pull_request",
        body=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 202
    assert json.loads(bytes(WebhookDelivery.objects.get().body)) == PR_PAYLOAD


def test_unknown_event_is_stored_as_ignored_and_not_queued(
    client, dispatched, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(client, "github", {"zen": "hi"}, "watch")
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert WebhookDelivery.objects.get().status == "ignored"
    assert callbacks == []
    dispatched.assert_not_called()


def test_unknown_action_of_known_event_is_ignored(client, dispatched):
    payload = {**PR_PAYLOAD, "action": "some_future_action"}
    response = post_webhook(client, "github", payload, "pull_request")
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"


@pytest.mark.parametrize(
    ("_case", "headers", "status"),
    [
        ("wrong secret", {"X-Hub-Signature-256": github_signature(b"x", "nope")}, 401),
        ("no signature", {"X-Hub-Signature-256": ""}, 401),
        ("garbage signature", {"X-Hub-Signature-256": "sha256=zz\u00e9"}, 401),
        ("no event header", {"X-GitHub-Event": ""}, 400),
        ("no delivery header", {"X-GitHub-Delivery": ""}, 400),
        ("over-long delivery id", {"X-GitHub-Delivery": "d" * 201}, 400),
    ],
)
def test_github_bad_headers_store_nothing(client, dispatched, _case, headers, status):
    response = post_webhook(
        client, "github", PR_PAYLOAD, "pull_request", extra_headers=headers
    )
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert WebhookDelivery.objects.count() == 0
    dispatched.assert_not_called()


@pytest.mark.parametrize(
    ("_case", "body", "status"),
    [
        ("malformed json", b'{"action": ', 400),
        ("json array", b"[1, 2]", 400),
        ("json string", b'"hello"', 400),
        ("empty body", b"", 400),
        ("invalid utf-8", b"\xff\xfe{}", 400),
    ],
)
def test_bad_bodies_are_400_after_verification(client, dispatched, _case, body, status):
    response = post_webhook(client, "github", None, "pull_request", body=body)
    assert response.status_code == status
    assert "error" in response.json()
    assert WebhookDelivery.objects.count() == 0


def test_signature_is_checked_before_the_body_is_parsed(client, dispatched):
    response = post_webhook(
        client,
        "github",
        None,
        "pull_request",
        body=b"not json",
        extra_headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert response.status_code == 401


def test_body_over_25_mb_is_413(client, dispatched):
    body = b'{"a": "' + b"x" * (26 * 1024 * 1024) + b'"}'
    response = post_webhook(client, "github", None, "pull_request", body=body)
    assert response.status_code == 413
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize(
    ("provider", "content_type"),
    [
        ("github", "text/plain"),
        ("github", "application/xml"),
        ("gitlab", "application/x-www-form-urlencoded"),
    ],
)
def test_other_content_types_are_415(client, dispatched, provider, content_type):
    response = post_webhook(
        client, provider, PR_PAYLOAD, "pull_request", content_type=content_type
    )
    assert response.status_code == 415
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_only_post_is_allowed(client, method):
    response = getattr(client, method)("/webhooks/github/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_url_without_trailing_slash_is_served_not_redirected(client, dispatched):
    raw = json.dumps(PR_PAYLOAD).encode()
    response = client.generic(
        "POST",
        "/webhooks/github",
        raw,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "no-slash",
            "X-Hub-Signature-256": github_signature(raw),
        },
    )
    assert response.status_code == 202


def test_database_down_is_503_and_nothing_claimed(client, dispatched):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with mock.patch.object(CursorWrapper, "execute", refuse):
        response = post_webhook(client, "github", PR_PAYLOAD, "pull_request")
    assert response.status_code == 503
    assert "error" in response.json()
    dispatched.assert_not_called()
    assert WebhookDelivery.objects.count() == 0


def test_instance_secret_not_configured_refuses(client, settings, dispatched):
    settings.GITHUB_WEBHOOK_SECRET = ""
    response = post_webhook(client, "github", PR_PAYLOAD, "pull_request", secret="")
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


# --- per-hook URLs -------------------------------------------------------------


@pytest.fixture
def gitlab_hook():
    hook = WebhookEndpoint(provider="gitlab")
    hook.secret = "per-hook-token"
    hook.save()
    return hook


def test_hook_url_uses_the_hooks_own_secret(client, dispatched, gitlab_hook):
    ok = post_webhook(
        client,
        "gitlab",
        MR_PAYLOAD,
        "Merge Request Hook",
        hook=gitlab_hook.public_id,
        secret="per-hook-token",
    )
    instance_secret = post_webhook(
        client,
        "gitlab",
        MR_PAYLOAD,
        "Merge Request Hook",
        hook=gitlab_hook.public_id,
        secret=GITLAB_SECRET,
    )
    assert ok.status_code == 202
    assert instance_secret.status_code == 401
    assert WebhookDelivery.objects.get().hook == gitlab_hook


def test_unknown_hook_is_404(client, dispatched):
    response = post_webhook(
        client, "gitlab", MR_PAYLOAD, "Merge Request Hook", hook="nope"
    )
    assert response.status_code == 404
    assert WebhookDelivery.objects.count() == 0


def test_hook_of_the_other_provider_is_404(client, dispatched, gitlab_hook):
    response = post_webhook(
        client, "github", PR_PAYLOAD, "pull_request", hook=gitlab_hook.public_id
    )
    assert response.status_code == 404


def test_hook_secret_is_encrypted_at_rest(gitlab_hook):
    stored = WebhookEndpoint.objects.values_list("secret_encrypted", flat=True).get()
    assert "per-hook-token" not in stored
    assert stored.startswith(f"v1.{crypto.current_key_id()}.")
    assert WebhookEndpoint.objects.get().secret == "per-hook-token"


# --- GitLab specifics ----------------------------------------------------------


def test_gitlab_wrong_token_is_401(client, dispatched):
    response = post_webhook(
        client, "gitlab", MR_PAYLOAD, "Merge Request Hook", secret="wrong"
    )
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_gitlab_signed_delivery_verifies(client, dispatched):
    body = json.dumps(MR_PAYLOAD).encode()
    response = post_webhook(
        client,
        "gitlab",
        None,
        "Merge Request Hook",
        body=body,
        extra_headers=standard_webhook_headers(body, GITLAB_SECRET),
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("_case", "age_seconds", "tamper"),
    [("stale timestamp", 301, False), ("tampered body", 0, True)],
)
def test_gitlab_bad_signing_headers_are_401(
    client, dispatched, _case, age_seconds, tamper
):
    import time

    body = json.dumps(MR_PAYLOAD).encode()
    headers = standard_webhook_headers(
        body, GITLAB_SECRET, at=time.time() - age_seconds
    )
    sent = body + b" " if tamper else body
    response = post_webhook(
        client, "gitlab", None, "Merge Request Hook", body=sent, extra_headers=headers
    )
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_gitlab_delivery_id_falls_back_to_uuid_then_body_hash(client, dispatched):
    import hashlib

    body = json.dumps(MR_PAYLOAD).encode()
    with_uuid = post_webhook(
        client,
        "gitlab",
        None,
        "Merge Request Hook",
        body=body,
        extra_headers={"Idempotency-Key": "", "X-Gitlab-Event-UUID": "uuid-1"},
    )
    hashed = post_webhook(
        client,
        "gitlab",
        None,
        "Merge Request Hook",
        body=body,
        extra_headers={"Idempotency-Key": ""},
    )
    again = post_webhook(
        client,
        "gitlab",
        None,
        "Merge Request Hook",
        body=body,
        extra_headers={"Idempotency-Key": ""},
    )
    assert with_uuid.json()["delivery"] == "uuid-1"
    assert hashed.json()["delivery"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert again.status_code == 200
    assert WebhookDelivery.objects.count() == 2


def test_gitlab_unhandled_hook_type_is_202_ignored(client, dispatched):
    response = post_webhook(client, "gitlab", {"object_kind": "build"}, "Job Hook")
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
