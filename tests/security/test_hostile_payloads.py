"""Signed but strange payloads: stored when a provider could send them, failed
once with the field named when no provider would."""

from __future__ import annotations

import copy
import json
from unittest import mock

import pytest

from integrations import services
from integrations.models import WebhookDelivery
from reviews.models import PullRequest
from tests.conftest import load_payload, post_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_dispatch():
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send:
        yield send


def opened() -> dict:
    return copy.deepcopy(load_payload("github", "pull_request.opened.1.json"))


def deliver(client, payload: dict, event: str = "pull_request") -> WebhookDelivery:
    response = post_webhook(client, "github", payload, event)
    assert response.status_code == 202, response.content
    delivery = WebhookDelivery.objects.latest("id")
    services.delivery_process(delivery_id=delivery.pk, final_attempt=False)
    delivery.refresh_from_db()
    return delivery


def test_a_300_character_branch_name_is_stored(client):
    payload = opened()
    branch = "feature/" + "x" * 292
    payload["pull_request"]["head"]["ref"] = branch
    payload["pull_request"]["base"]["ref"] = branch

    delivery = deliver(client, payload)

    assert (delivery.status, delivery.error) == ("processed", "")
    pull = PullRequest.objects.get()
    assert pull.base_ref == branch
    assert pull.head_ref == branch


def test_a_very_long_title_is_stored(client):
    payload = opened()
    payload["pull_request"]["title"] = "Long " * 60_000

    delivery = deliver(client, payload)

    assert delivery.status == "processed"
    assert PullRequest.objects.get().title == ("Long " * 60_000)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["pull_request"].update(title="bad\u0000title"), "title"),
        (lambda p: p["pull_request"]["head"].update(ref="a\u0000b"), "head_ref"),
        (lambda p: p["pull_request"]["user"].update(login="oct\u0000cat"), "author"),
        (lambda p: p["pull_request"].update(number=2**63), "number"),
        (lambda p: p["pull_request"].update(number=-5), "number"),
        (lambda p: p["pull_request"].update(additions=2**63), "additions"),
        (
            lambda p: p["pull_request"].update(updated_at="9999-12-31T23:59:59Z"),
            "updated_at",
        ),
        (lambda p: p["repository"].update(id=2**70), "repository"),
    ],
)
def test_values_no_provider_sends_fail_once_naming_the_field(client, mutate, field):
    payload = opened()
    mutate(payload)

    delivery = deliver(client, payload)

    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert field in delivery.error, delivery.error
    assert "PayloadError" in delivery.error
    assert PullRequest.objects.count() == 0
    stored = json.loads(bytes(delivery.body))
    assert stored == payload


@pytest.mark.parametrize("where", ["action", "repository"])
def test_a_nul_in_the_summary_columns_is_stored_not_a_503(client, where):
    payload = opened()
    if where == "action":
        payload["action"] = "opened\u0000"
    else:
        payload["repository"]["full_name"] = "octo/\u0000hello"

    response = post_webhook(client, "github", payload, "pull_request")

    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert "\x00" not in delivery.action + delivery.repository_name


def test_a_value_the_database_refuses_fails_at_once_without_retries(client):
    from django.db import DataError

    post_webhook(client, "github", opened(), "pull_request")
    delivery = WebhookDelivery.objects.get()
    refused = DataError("value too long for type character varying(255)")
    with mock.patch(
        "integrations.services.deliveries.event_handle", side_effect=refused
    ):
        outcome = services.delivery_process(
            delivery_id=delivery.pk, final_attempt=False
        )

    delivery.refresh_from_db()
    assert outcome == "failed"
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.error.startswith("DataError: value too long")
