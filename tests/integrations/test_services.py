"""Processing stored deliveries: outcomes, failures, retries, replay, sweeping."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone

from integrations import services
from integrations.models import WebhookDelivery
from reviews.models import PullRequest
from tests.conftest import SHARED_FIXTURES, load_payload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]


def store(payload, event="pull_request", delivery_id="d-1", provider="github"):
    action = payload.get("action", "") if isinstance(payload, dict) else ""
    return services.delivery_record(
        provider=provider,
        hook=None,
        delivery_id=delivery_id,
        event=event,
        action=action,
        repository_name="",
        headers={},
        body=json.dumps(payload).encode(),
    )


@pytest.fixture(autouse=True)
def no_dispatch():
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send:
        yield send


def test_processing_applies_and_marks_processed():
    result = store(load_payload("github", "pull_request.opened.1.json"))
    assert services.delivery_process(delivery_id=result.delivery_pk) == "processed"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.error) == ("processed", 1, "")
    assert delivery.repository.full_name == "Codertocat/Hello-World"
    assert delivery.processed_at is not None
    assert PullRequest.objects.get().title == "Update the README with new information."


def test_processing_twice_is_a_no_op():
    result = store(load_payload("github", "pull_request.opened.1.json"))
    services.delivery_process(delivery_id=result.delivery_pk)
    assert services.delivery_process(delivery_id=result.delivery_pk) == "processed"
    assert WebhookDelivery.objects.get().attempts == 1
    assert PullRequest.objects.count() == 1


def test_malformed_payload_fails_with_its_error_and_keeps_the_body():
    payload = copy.deepcopy(load_payload("github", "pull_request.opened.1.json"))
    del payload["pull_request"]["number"]
    result = store(payload)
    assert services.delivery_process(delivery_id=result.delivery_pk) == "failed"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.error == "PayloadError: payload has no pull_request.number"
    assert json.loads(bytes(delivery.body)) == payload
    assert PullRequest.objects.count() == 0


def test_failed_domain_write_rolls_back_but_records_the_failure():
    result = store(
        load_payload("github", "pull_request_review.submitted.1.json"),
        "pull_request_review",
    )
    with mock.patch("reviews.services.review_upsert", side_effect=RuntimeError("boom")):
        assert services.delivery_process(delivery_id=result.delivery_pk) == "failed"
    assert PullRequest.objects.count() == 0  # the PR write rolled back with it
    assert WebhookDelivery.objects.get().error == "RuntimeError: boom"


def test_transient_error_propagates_for_retry_until_the_final_attempt():
    result = store(load_payload("github", "pull_request.opened.1.json"))
    with mock.patch(
        "reviews.services.pull_request_upsert", side_effect=OperationalError("db gone")
    ):
        with pytest.raises(OperationalError):
            services.delivery_process(
                delivery_id=result.delivery_pk, final_attempt=False
            )
        assert WebhookDelivery.objects.get().status == "pending"
        outcome = services.delivery_process(
            delivery_id=result.delivery_pk, final_attempt=True
        )
    assert outcome == "failed"
    assert WebhookDelivery.objects.get().error == "OperationalError: db gone"


def test_replay_command_reprocesses_failed_deliveries(capsys):
    payload = copy.deepcopy(load_payload("github", "pull_request.opened.1.json"))
    broken = copy.deepcopy(payload)
    broken["pull_request"]["updated_at"] = "not a time"
    result = store(broken)
    services.delivery_process(delivery_id=result.delivery_pk)
    # The operator fixes the stored body (e.g. after a parser fix, same effect).
    WebhookDelivery.objects.filter(pk=result.delivery_pk).update(
        body=json.dumps(payload).encode()
    )
    out = StringIO()
    call_command("replay_deliveries", "--status", "failed", stdout=out)
    assert "github d-1 pull_request.opened -> processed" in out.getvalue()
    assert "Replayed 1: 1 processed" in out.getvalue()
    assert WebhookDelivery.objects.get().status == "processed"
    assert PullRequest.objects.count() == 1
    call_command("replay_deliveries", "--delivery", "d-1", stdout=StringIO())
    assert PullRequest.objects.count() == 1


def test_replay_command_errors_are_one_line():
    with pytest.raises(CommandError, match="no stored delivery has id 'missing'"):
        call_command("replay_deliveries", "--delivery", "missing", stdout=StringIO())
    with pytest.raises(CommandError, match="not an ISO 8601 time"):
        call_command("replay_deliveries", "--since", "last tuesday", stdout=StringIO())
    payload = copy.deepcopy(load_payload("github", "pull_request.opened.1.json"))
    del payload["repository"]
    store(payload)
    with pytest.raises(CommandError, match="1 deliveries failed"):
        call_command("replay_deliveries", stdout=StringIO())


def test_sweeper_requeues_only_old_pending_deliveries(no_dispatch, settings):
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 60
    old = store(load_payload("github", "pull_request.opened.1.json"), delivery_id="old")
    fresh = store(
        load_payload("github", "pull_request.opened.1.json"), delivery_id="new"
    )
    WebhookDelivery.objects.filter(pk=old.delivery_pk).update(
        received_at=timezone.now() - timedelta(minutes=5)
    )
    no_dispatch.reset_mock()
    assert services.deliveries_sweep() == 1
    no_dispatch.assert_called_once_with([old.delivery_pk])
    assert fresh.delivery_pk is not None
    # Still pending a minute later (workers behind): not queued a second time yet.
    assert services.deliveries_sweep() == 0
    WebhookDelivery.objects.filter(pk=old.delivery_pk).update(
        requeued_at=timezone.now() - timedelta(minutes=11)
    )
    assert services.deliveries_sweep() == 1


def test_ping_on_a_registered_hook_marks_the_webhook_verified():
    from integrations.models import ConnectedRepository, WebhookEndpoint

    payload = load_payload("github", "ping.default.2.json")
    hook = WebhookEndpoint(provider="github")
    hook.secret = "s"
    hook.save()
    result = services.delivery_record(
        provider="github",
        hook=hook,
        delivery_id="p",
        event="ping",
        action="",
        repository_name="",
        headers={},
        body=json.dumps(payload).encode(),
    )
    services.delivery_process(delivery_id=result.delivery_pk)
    hook.refresh_from_db()
    repository = ConnectedRepository.objects.get()
    assert hook.verified_at is not None
    assert hook.repository == repository
    assert repository.webhook_status == "verified"


def test_installation_lifecycle_keeps_the_repository_list_current():
    from integrations.models import AppInstallation, ConnectedRepository

    created = load_payload("github", "installation.created.1.json")
    result = store(created, event="installation", delivery_id="created")
    services.delivery_process(delivery_id=result.delivery_pk)
    assert set(ConnectedRepository.objects.values_list("full_name", "is_active")) == {
        (repo["full_name"], True) for repo in created["repositories"]
    }
    # The same installation later loses its repository.
    removed = copy.deepcopy(
        load_payload("github", "installation_repositories.removed.1.json")
    )
    removed["installation"] = created["installation"]
    removed["repositories_removed"] = created["repositories"]
    for index, (event, payload) in enumerate([("installation_repositories", removed)]):
        result = store(payload, event=event, delivery_id=f"i{index}")
        assert services.delivery_process(delivery_id=result.delivery_pk) == "processed"
    assert AppInstallation.objects.get().is_active
    assert not ConnectedRepository.objects.filter(is_active=True).exists()
    deleted = copy.deepcopy(created)
    deleted["action"] = "deleted"
    result = store(deleted, event="installation", delivery_id="gone")
    services.delivery_process(delivery_id=result.delivery_pk)
    assert not AppInstallation.objects.get().is_active
    assert not ConnectedRepository.objects.filter(is_active=True).exists()
    assert ConnectedRepository.objects.count() == len(created["repositories"])
