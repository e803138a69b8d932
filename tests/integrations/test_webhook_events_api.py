"""Received deliveries under their webhook name, and per-event outcome counts
(CONTRACT §7), team-scoped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership
from tests.factories import DeliveryFactory, OrganizationFactory, RepositoryFactory

pytestmark = pytest.mark.django_db

STATS = "/api/v1/webhooks/events/stats/"


@pytest.fixture
def world():
    mine, theirs = (
        OrganizationFactory(name=name, slug=name.lower()) for name in ("Mine", "Theirs")
    )
    repository = RepositoryFactory(organization=mine, full_name="acme/mine")
    other = RepositoryFactory(organization=theirs, full_name="acme/theirs")
    now = timezone.now()
    for event, status, count, age in [
        ("pull_request", "processed", 3, 1),
        ("pull_request", "failed", 1, 2),
        ("pull_request", "pending", 1, 0),
        ("pull_request_review", "processed", 2, 3),
        ("check_run", "ignored", 4, 5),
        ("pull_request", "processed", 5, 30),  # older than a day
    ]:
        for _ in range(count):
            DeliveryFactory(
                repository=repository,
                repository_name="acme/mine",
                event=event,
                status=status,
                received_at=now - timedelta(hours=age),
            )
    DeliveryFactory.create_batch(
        7, repository=other, repository_name="acme/theirs", event="pull_request"
    )
    user = get_user_model().objects.create_user("kim")
    OrganizationMembership.objects.create(organization=mine, user=user)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_stats_count_each_event_by_outcome_for_the_team_only(world):
    response = world.get(STATS)
    assert response.status_code == 200
    body = response.json()
    assert body["hours"] == 24
    assert body["results"] == [
        {
            "provider": "github",
            "event": "pull_request",
            "received": 5,
            "pending": 1,
            "processed": 3,
            "ignored": 0,
            "failed": 1,
        },
        {
            "provider": "github",
            "event": "check_run",
            "received": 4,
            "pending": 0,
            "processed": 0,
            "ignored": 4,
            "failed": 0,
        },
        {
            "provider": "github",
            "event": "pull_request_review",
            "received": 2,
            "pending": 0,
            "processed": 2,
            "ignored": 0,
            "failed": 0,
        },
    ]


def test_the_window_follows_hours(world):
    rows = world.get(STATS, {"hours": 2}).json()["results"]
    assert [(row["event"], row["received"]) for row in rows] == [("pull_request", 4)]
    rows = world.get(STATS, {"hours": 720}).json()["results"]
    assert rows[0]["received"] == 10


@pytest.mark.parametrize("hours", ["0", "721", "-1", "abc", "1.5", "9999999999"])
def test_hours_out_of_range_is_a_400(world, hours):
    response = world.get(STATS, {"hours": hours})
    assert response.status_code == 400
    assert "hours" in response.json()["error"]


def test_an_unknown_provider_is_a_400(world):
    assert world.get(STATS, {"provider": "svn"}).status_code == 400


def test_anonymous_is_refused(world):
    assert APIClient().get(STATS).status_code == 401


def test_events_are_the_deliveries_list_under_the_webhook_name(world):
    events = world.get("/api/v1/webhooks/events/", {"page_size": 100}).json()
    deliveries = world.get("/api/v1/deliveries/", {"page_size": 100}).json()
    assert events == deliveries
    assert events["count"] == 16
    assert {item["repository"] for item in events["results"]} == {"acme/mine"}
    failed = world.get("/api/v1/webhooks/events/", {"status": "failed"}).json()
    assert failed["count"] == 1
