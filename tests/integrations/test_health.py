"""Integration health: token, rate limit, webhook, deliveries, reconciliation;
a status change is announced once; `manage.py check_integrations`."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    IntegrationHealth,
    OrganizationMembership,
    ProviderCredential,
    RateLimitSample,
    SyncRun,
    WebhookEndpoint,
)
from integrations.services.health import integrations_check
from notifications.models import Notification, NotificationSettings
from notifications.operations import operations_notify
from notifications.services import notifications_send_due
from tests.factories import DeliveryFactory, OrganizationFactory
from tests.integrations.test_connect_repo_gitlab import BASE, documented_project
from tests.integrations.test_connect_repo_gitlab import recorded as gitlab_recorded

pytestmark = pytest.mark.django_db

API = "https://api.github.com:443"
RESPONSES = Path(__file__).resolve().parents[1] / "provider_responses" / "github"
RECORDED = json.loads((RESPONSES / "rate_limit.json").read_text())
HOOK = json.loads((RESPONSES / "hook_created.json").read_text())
DELIVERIES = json.loads((RESPONSES / "hook_deliveries.json").read_text())
HOOK_URL = f"{API}/repos/acme/shop/hooks/{HOOK['id']}"
LIMIT_HEADERS = {
    "X-RateLimit-Limit": "5000",
    "X-RateLimit-Remaining": "4904",
    "X-RateLimit-Reset": "1684195041",
}


@pytest.fixture
def repository(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    team = OrganizationFactory(slug="core")
    admin = get_user_model().objects.create_user("lead", email="lead@example.com")
    OrganizationMembership.objects.create(organization=team, user=admin, role="admin")
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_health"
    credential.save()
    repository = ConnectedRepository.objects.create(
        organization=team,
        provider="github",
        host="github.com",
        external_id=1,
        full_name="acme/shop",
        credential=credential,
        webhook_status="verified",
    )
    endpoint = WebhookEndpoint(
        provider="github", repository=repository, provider_hook_id=HOOK["id"]
    )
    endpoint.secret = "hook-secret"
    endpoint.save()
    return repository


def github(rsps, *, rate=None, hook_status=200, rate_status=200, deliveries=None):
    rsps.get(
        f"{API}/rate_limit",
        json=rate or RECORDED,
        status=rate_status,
        headers=LIMIT_HEADERS,
    )
    if rate_status == 200:
        rsps.get(
            HOOK_URL,
            json=HOOK if hook_status == 200 else {"message": "Not Found"},
            status=hook_status,
        )
        if hook_status == 200:
            rsps.get(f"{HOOK_URL}/deliveries", json=deliveries or DELIVERIES)


def check(**kwargs) -> IntegrationHealth:
    with responses.RequestsMock() as rsps:
        github(rsps, **kwargs)
        (health,) = integrations_check()
    return health


def test_a_healthy_integration(repository):
    health = check()
    assert (health.status, health.reasons) == ("healthy", [])
    assert "webhook active" in health.details
    assert "4904/5000 core left" in health.details
    assert "never reconciled" in health.details
    samples = set(RateLimitSample.objects.values_list("resource", "remaining"))
    assert samples == {("core", 4904), ("search", 30), ("graphql", 5000)}
    assert mail.outbox == []  # healthy from the start is nothing to announce


def test_a_deleted_webhook_is_unhealthy_and_announced_once(repository, caplog):
    """The team's admins are told by notifications, from the stored checks."""
    lead = get_user_model().objects.get(username="lead")
    NotificationSettings.objects.create(user=lead, quiet_outside_working_hours=False)

    def announced() -> list[str]:
        operations_notify()
        notifications_send_due()
        return [message.subject for message in mail.outbox]

    check()
    assert announced() == []  # healthy from the start is nothing to announce
    caplog.clear()
    first = check(hook_status=404)
    assert first.status == "unhealthy"
    assert first.reasons == ["webhook deleted on the provider"]
    assert announced() == ["acme/shop is unhealthy"]
    assert mail.outbox[0].to == ["lead@example.com"]
    assert "- webhook deleted on the provider" in mail.outbox[0].body
    assert "/dashboard/repositories/" in mail.outbox[0].body
    assert [r.msg for r in caplog.records].count("integrations.health.changed") == 1
    check(hook_status=404)  # the same state again: no second alert
    assert len(announced()) == 1
    back = check()
    assert back.status == "healthy"
    assert announced() == ["acme/shop is unhealthy", "acme/shop is healthy again"]
    assert IntegrationHealth.objects.count() == 4  # the history is kept
    # On the admin's dashboard list too, once each.
    assert Notification.objects.filter(recipient=lead, channel="in_app").count() == 2


def test_a_hook_paused_by_a_team_admin_is_not_read_as_disabled(repository):
    """GitHub shows a paused hook as inactive; that was asked for, not broken."""
    repository.webhooks.update(is_enabled=False)
    with responses.RequestsMock() as rsps:
        rsps.get(f"{API}/rate_limit", json=RECORDED, headers=LIMIT_HEADERS)
        (health,) = integrations_check()
        assert [call.request.url for call in rsps.calls] == [f"{API}/rate_limit"]
    assert (health.status, health.reasons) == ("healthy", [])
    assert (
        "webhook paused by a team admin: changes arrive with reconciliation"
        in health.details
    )


def test_low_rate_limit_refused_token_and_failed_syncs(repository):
    low = json.loads(json.dumps(RECORDED))
    low["resources"]["core"].update(remaining=120)
    assert check(rate=low).reasons == ["rate limit nearly spent: 120/5000 core left"]
    low["resources"]["core"].update(remaining=0)
    spent = check(rate=low)
    assert spent.status == "unhealthy"
    assert spent.reasons[0].startswith("rate limit spent until ")

    refused = check(rate={"message": "Bad credentials"}, rate_status=401)
    assert refused.status == "unhealthy"
    assert refused.reasons[0].startswith("token refused:")

    for minutes in (30, 20, 10):
        SyncRun.objects.create(
            repository=repository,
            kind="incremental",
            status="failed",
            started_at=timezone.now() - timedelta(minutes=minutes),
            error="GitHub answered 502",
        )
    failing = check()
    assert failing.reasons == ["last 3 syncs failed: GitHub answered 502"]


def test_failed_deliveries_and_missed_changes_degrade(repository):
    for index in range(10):
        DeliveryFactory(
            repository=repository,
            delivery_id=f"d{index}",
            status="failed" if index < 2 else "processed",
        )
    ConnectedRepository.objects.filter(pk=repository.pk).update(
        webhook_status="degraded"
    )
    health = check()
    assert health.status == "degraded"
    assert health.reasons == [
        "2 of 10 deliveries failed in 24 h",
        "reconciliation found changes the webhook missed",
    ]


def test_gitlab_token_and_disabled_hook(settings):
    project = documented_project("glpat-health", webhook_status="verified")
    endpoint = WebhookEndpoint(
        provider="gitlab", repository=project, provider_hook_id=1
    )
    endpoint.secret = "s"
    endpoint.save()
    hook = gitlab_recorded("hook.json")
    hook["alert_status"] = "disabled"  # GitLab stopped delivering after failures
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/user",
            json=gitlab_recorded("user.json"),
            headers={"RateLimit-Limit": "2000", "RateLimit-Remaining": "1990"},
        )
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site/hooks/1",
            json=hook,
        )
        (health,) = integrations_check()
    assert health.status == "unhealthy"
    assert health.reasons == ["webhook disabled on the provider"]
    assert "1990/2000 core left" in health.details


def test_check_integrations_command(repository):
    out = StringIO()
    with responses.RequestsMock() as rsps:
        github(rsps)
        call_command("check_integrations", stdout=out)
    text = out.getvalue()
    assert "[1/1] github:acme/shop: healthy: all checks passed" in text
    assert "Checked 1: 1 healthy, 0 degraded, 0 unhealthy" in text
    with (
        responses.RequestsMock() as rsps,
        pytest.raises(CommandError, match="1 integrations are unhealthy"),
    ):
        github(rsps, hook_status=404)
        call_command("check_integrations", stdout=StringIO())


def test_nothing_to_check(db):
    out = StringIO()
    call_command("check_integrations", stdout=out)
    assert out.getvalue().strip() == "No connected repository to check."


def test_failed_deliveries_are_redelivered_once(repository):
    failed = dict(DELIVERIES[0], id=777, guid="lost-1", status="502", status_code=502)
    stored = dict(DELIVERIES[0], id=778, guid="kept-1", status_code=500)
    DeliveryFactory(
        repository=repository,
        hook=repository.webhooks.get(),
        delivery_id="kept-1",  # it failed for GitHub, but we stored it
    )
    with responses.RequestsMock() as rsps:
        github(rsps, deliveries=[*DELIVERIES, failed, stored])
        rsps.post(f"{HOOK_URL}/deliveries/777/attempts", status=202, json={})
        (health,) = integrations_check()
    assert "asked GitHub to redeliver 1 failed" in health.details
    # GitHub now lists the redelivery: nothing is asked a second time.
    redelivered = dict(failed, id=779, redelivery=True, status_code=200)
    with responses.RequestsMock() as rsps:
        github(rsps, deliveries=[*DELIVERIES, failed, stored, redelivered])
        (health,) = integrations_check()
    assert not any("redeliver" in detail for detail in health.details)


def test_an_unchanged_hook_is_checked_for_free(repository):
    from django.core.cache import cache

    cache.clear()
    etag = 'W/"hook-v1"'
    with responses.RequestsMock() as rsps:
        github(rsps)
        rsps.replace(responses.GET, HOOK_URL, json=HOOK, headers={"ETag": etag})
        integrations_check()
        rsps.replace(responses.GET, HOOK_URL, status=304, body="")
        (health,) = integrations_check()
        conditional = [
            call.request.headers.get("If-None-Match")
            for call in rsps.calls
            if call.request.url == HOOK_URL
        ]
    assert conditional == [None, etag]
    assert "webhook active" in health.details  # answered from the cache


def test_checks_keep_working_when_the_cache_is_down(repository, caplog):
    from unittest import mock

    from django.core.cache import cache

    down = ConnectionError("redis: connection refused")
    with (
        mock.patch.object(cache, "get", side_effect=down),
        mock.patch.object(cache, "set", side_effect=down),
        responses.RequestsMock() as rsps,
    ):
        github(rsps)
        (health,) = integrations_check()
    assert health.status == "healthy" and "webhook active" in health.details
    assert "integrations.cache.unavailable" in [record.msg for record in caplog.records]


def test_a_broken_check_is_one_line_not_a_traceback(repository):
    from unittest import mock

    from django.db import OperationalError

    with (
        mock.patch(
            "integrations.management.commands.check_integrations.integrations_check",
            side_effect=OperationalError("the database went away"),
        ),
        pytest.raises(CommandError, match="^health checks could not run: "),
    ):
        call_command("check_integrations", stdout=StringIO())
