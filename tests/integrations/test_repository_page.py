"""The page of one repository for its team: status with reasons, Sync now,
sync history, deliveries (replay), review settings, Disconnect and Reconnect.
GitHub is mocked at the HTTP layer with recorded responses."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from reviews.models import RepositoryReviewSettings
from tests.factories import DeliveryFactory
from tests.integrations.test_connect_repo import (
    HOOK_ID,
    REPO,
    _client_settings,  # noqa: F401 - the Enterprise host and token
    connect,
    mock_github,
    recorded,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def repository(team_admin) -> ConnectedRepository:
    with responses.RequestsMock() as rsps:
        mock_github(rsps)
        connect("--organization", team_admin.slug)
    return ConnectedRepository.objects.get()


def url(repository, action: str = "") -> str:
    return f"/dashboard/repositories/{repository.pk}/{action}"


def person(client, username: str, team: Organization | None, role="member"):
    user = get_user_model().objects.create_user(username)
    if team is not None:
        OrganizationMembership.objects.create(organization=team, user=user, role=role)
    client.force_login(user)
    return user


def test_the_team_sees_status_history_and_deliveries(
    client, repository, django_assert_max_num_queries
):
    DeliveryFactory(
        repository=repository,
        repository_name=repository.full_name,
        status="failed",
        error="KeyError: 'pull_request'",
    )
    with django_assert_max_num_queries(12):
        response = client.get(url(repository))
    assert response.status_code == 200
    page = response.content.decode()
    assert "PyGithub/PyGithub" in page
    assert "Status: <span" in page
    assert "Initial import" in page and "Succeeded" in page  # the connect's run
    assert "KeyError: &#x27;pull_request&#x27;" in page
    assert "Replay</button>" in page  # an admin here
    assert "Save review settings" in page
    assert "Disconnect</button>" in page
    # The Today page links here.
    assert f'href="{url(repository)}"' in client.get("/dashboard/").content.decode()


def test_the_status_names_every_reason(client, repository):
    SyncRun.objects.create(
        repository=repository,
        kind="incremental",
        status="failed",
        trigger="schedule",
        started_at=timezone.now(),
        error="GitHub answered 502",
    )
    WebhookEndpoint.objects.filter(repository=repository).update(is_enabled=False)
    page = client.get(url(repository)).content.decode()
    assert 'Status: <span class="status status-degraded">Degraded</span>' in page
    assert "The webhook is paused" in page
    assert "The last sync failed: GitHub answered 502" in page


def test_another_teams_person_gets_404_and_changes_nothing(client, repository):
    stranger_team = Organization.objects.create(name="Other", slug="other")
    person(client, "eve", stranger_team, role="admin")
    assert client.get(url(repository)).status_code == 404
    for action in ("sync/", "settings/", "disconnect/", "reconnect/"):
        assert client.post(url(repository, action)).status_code == 404, action
    delivery = DeliveryFactory(repository=repository, status="failed")
    replay = url(repository, f"deliveries/{delivery.pk}/replay/")
    assert client.post(replay).status_code == 404
    repository.refresh_from_db()
    assert repository.is_active
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"
    assert not RepositoryReviewSettings.objects.exists()


def test_a_person_in_no_team_gets_404(client, repository):
    person(client, "newcomer", None)
    assert client.get(url(repository)).status_code == 404


def test_a_member_may_sync_but_not_change_it(
    client, repository, django_capture_on_commit_callbacks
):
    person(client, "dev", repository.organization)
    page = client.get(url(repository)).content.decode()
    assert "Sync now" in page
    assert "Save review settings" not in page and "Disconnect</button>" not in page
    assert "Team admins can change these." in page
    delivery = DeliveryFactory(repository=repository, status="failed")
    with responses.RequestsMock():  # nothing reaches GitHub
        for action in (
            "settings/",
            "disconnect/",
            "reconnect/",
            f"deliveries/{delivery.pk}/replay/",
        ):
            assert client.post(url(repository, action)).status_code == 403, action
    repository.refresh_from_db()
    assert repository.is_active
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url(repository, "sync/"), follow=True)
    assert len(callbacks) == 1
    assert "Sync queued" in response.content.decode()


def test_sync_now_queues_the_manual_sync_once(
    client, repository, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "integrations.services.connections.repository_sync_task.delay",
        lambda *args: queued.append(args),
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(repository, "sync/"))
    assert queued == [(repository.pk, False, "manual")]
    SyncRun.objects.create(
        repository=repository,
        kind="incremental",
        status="running",
        trigger="manual",
        started_at=repository.updated_at,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(repository, "sync/"), follow=True)
    assert len(queued) == 1
    assert "A sync is already running" in response.content.decode()


def test_sync_needs_a_post(client, repository):
    assert client.get(url(repository, "sync/")).status_code == 405


def test_admin_saves_review_settings(client, repository):
    response = client.post(
        url(repository, "settings/"),
        {
            "auto_assign": "on",
            "strategy": "round_robin",
            "reviewer_count": "2",
            "pool": "@kim, lee , @acme/web, lee",
            "sla_hours": "12",
            "sla_reminder": "comment",
        },
        follow=True,
    )
    assert "Review settings saved" in response.content.decode()
    saved = RepositoryReviewSettings.objects.get(repository=repository)
    assert (saved.strategy, saved.reviewer_count, saved.sla_hours) == (
        "round_robin",
        2,
        12,
    )
    assert saved.pool == ["@kim", "lee", "@acme/web"]
    assert (saved.auto_assign, saved.sla_reassign) == (True, False)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("reviewer_count", "0", "Between 1 and 10 reviewers."),
        ("sla_hours", "999", "Between 1 and 200 business hours."),
        ("pool", "kim, <script>", "Not a login or team: &lt;script&gt;."),
        ("strategy", "coin_flip", "Select a valid choice."),
    ],
)
def test_bad_review_settings_are_refused_and_nothing_is_saved(
    client, repository, field, value, error
):
    RepositoryReviewSettings.objects.create(repository=repository, reviewer_count=3)
    data = {
        "strategy": "load_balance",
        "reviewer_count": "1",
        "sla_hours": "9",
        "sla_reminder": "comment",
        field: value,
    }
    response = client.post(url(repository, "settings/"), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert RepositoryReviewSettings.objects.get().reviewer_count == 3


def test_admin_replays_a_failed_delivery(client, repository):
    delivery = DeliveryFactory(
        repository=repository,
        repository_name=repository.full_name,
        status="failed",
        event="ping",
        action="",
        body=b'{"zen": "Design for failure.", "hook_id": 1}',
    )
    response = client.post(
        url(repository, f"deliveries/{delivery.pk}/replay/"), follow=True
    )
    delivery.refresh_from_db()
    assert delivery.status in ("processed", "ignored")
    assert f"replayed: {delivery.status}" in response.content.decode()
    processed = DeliveryFactory(repository=repository, status="processed")
    response = client.post(
        url(repository, f"deliveries/{processed.pk}/replay/"), follow=True
    )
    assert "Only a failed delivery can be replayed." in response.content.decode()
    other = DeliveryFactory(status="failed")  # no repository of this page
    assert (
        client.post(url(repository, f"deliveries/{other.pk}/replay/")).status_code
        == 404
    )


def test_disconnect_then_reconnect(
    client, repository, django_capture_on_commit_callbacks
):
    with responses.RequestsMock() as rsps:
        rsps.delete(f"{REPO}/hooks/{HOOK_ID}", status=204)
        response = client.post(url(repository, "disconnect/"), follow=True)
        assert len(rsps.calls) == 1
    page = response.content.decode()
    assert f"webhook {HOOK_ID} removed" in page
    assert 'Status: <span class="status status-disconnected">' in page
    assert "Reconnect</button>" in page and "Sync now" not in page
    repository.refresh_from_db()
    assert not repository.is_active
    old_secret = WebhookEndpoint.objects.get().secret
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("repo.json"))
        rsps.get(f"{REPO}/hooks", json=[])
        rsps.post(f"{REPO}/hooks", status=201, json=recorded("hook_created.json"))
        rsps.get(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
        rsps.post(f"{REPO}/hooks/{HOOK_ID}/pings", status=204)
        with django_capture_on_commit_callbacks() as callbacks:
            response = client.post(url(repository, "reconnect/"), follow=True)
    assert "reconnected; a sync is on its way" in response.content.decode()
    assert len(callbacks) == 1  # the sync
    repository.refresh_from_db()
    assert repository.is_active
    hook = WebhookEndpoint.objects.get(is_active=True)
    assert hook.provider_hook_id == HOOK_ID and hook.secret != old_secret


def test_reconnect_with_a_refused_token_says_so(client, repository):
    with responses.RequestsMock() as rsps:
        rsps.delete(f"{REPO}/hooks/{HOOK_ID}", status=204)
        client.post(url(repository, "disconnect/"))
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=401, json={"message": "Bad credentials"})
        response = client.post(url(repository, "reconnect/"), follow=True)
    assert "Not reconnected:" in response.content.decode()
    repository.refresh_from_db()
    assert not repository.is_active


def test_reconnect_with_the_admins_own_connection_when_the_token_is_refused(
    client, repository, team_admin, settings, django_capture_on_commit_callbacks
):
    from integrations.models import ProviderCredential
    from integrations.services import oauth_credential_store
    from tests.integrations.test_connect_repo import API

    with responses.RequestsMock() as rsps:
        rsps.delete(f"{REPO}/hooks/{HOOK_ID}", status=204)
        client.post(url(repository, "disconnect/"))
    ProviderCredential.objects.filter(pk=repository.credential_id).update(
        status="needs_reconnect"
    )
    settings.GITHUB_API_URL = API  # the admin connected the same GitHub
    lead = get_user_model().objects.get(username="lead")
    own = oauth_credential_store(
        user=lead, provider="github", account_login="lead", token="gho_lead_own"
    )
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("repo.json"))
        rsps.get(f"{REPO}/hooks", json=[])
        rsps.post(f"{REPO}/hooks", status=201, json=recorded("hook_created.json"))
        rsps.get(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
        rsps.post(f"{REPO}/hooks/{HOOK_ID}/pings", status=204)
        with django_capture_on_commit_callbacks():
            response = client.post(url(repository, "reconnect/"), follow=True)
        assert rsps.calls[0].request.headers["Authorization"] == "token gho_lead_own"
    assert "reconnected" in response.content.decode()
    repository.refresh_from_db()
    assert (repository.is_active, repository.credential_id) == (True, own.pk)


def test_a_connection_to_another_github_does_not_take_over(
    client, repository, settings
):
    from integrations.models import ProviderCredential
    from integrations.services import oauth_credential_store

    ProviderCredential.objects.filter(pk=repository.credential_id).update(
        status="needs_reconnect"
    )
    lead = get_user_model().objects.get(username="lead")
    oauth_credential_store(  # github.com, not the Enterprise host it lives on
        user=lead, provider="github", account_login="lead", token="gho_elsewhere"
    )
    with responses.RequestsMock():
        response = client.post(url(repository, "reconnect/"), follow=True)
    assert "Not reconnected:" in response.content.decode()
    repository.refresh_from_db()
    assert repository.credential.kind == "access_token"
