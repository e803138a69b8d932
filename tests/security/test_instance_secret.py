"""A repository with its own registered hook takes changes only through it."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint
from reviews.models import PullRequest
from tests.conftest import load_payload, post_webhook
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_dispatch():
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send:
        yield send


def hooked_repository():
    payload = load_payload("github", "pull_request.opened.1.json")
    repository = RepositoryFactory(
        external_id=payload["repository"]["id"],
        full_name=payload["repository"]["full_name"],
    )
    hook = WebhookEndpoint(provider="github", repository=repository)
    hook.secret = "own-hook-secret"
    hook.save()
    return payload, repository, hook


def process_last() -> WebhookDelivery:
    delivery = WebhookDelivery.objects.latest("id")
    services.delivery_process(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_an_instance_secret_delivery_cannot_write_into_a_hooked_repository(client):
    payload, repository, _ = hooked_repository()
    payload["repository"]["full_name"] = "forged/rename"

    response = post_webhook(client, "github", payload, "pull_request")

    assert response.status_code == 202
    delivery = process_last()
    assert delivery.status == "ignored"
    assert "has its own webhook" in delivery.error
    assert PullRequest.objects.count() == 0
    repository.refresh_from_db()
    assert repository.full_name == "Codertocat/Hello-World"


def test_the_same_delivery_through_the_hook_is_applied(client):
    payload, repository, hook = hooked_repository()

    response = post_webhook(
        client,
        "github",
        payload,
        "pull_request",
        hook=hook.public_id,
        secret="own-hook-secret",
    )

    assert response.status_code == 202
    delivery = process_last()
    assert (delivery.status, delivery.error) == ("processed", "")
    assert PullRequest.objects.get().repository == repository


def test_another_hook_cannot_adopt_a_hooked_repository(client):
    payload, repository, _ = hooked_repository()
    unbound = WebhookEndpoint(provider="github")
    unbound.secret = "other-team-secret"
    unbound.save()

    post_webhook(
        client,
        "github",
        payload,
        "pull_request",
        hook=unbound.public_id,
        secret="other-team-secret",
    )

    delivery = process_last()
    assert delivery.status == "ignored"
    unbound.refresh_from_db()
    assert unbound.repository is None
    assert PullRequest.objects.count() == 0


def test_a_disabled_hook_no_longer_shields_its_repository(client):
    payload, repository, hook = hooked_repository()
    WebhookEndpoint.objects.filter(pk=hook.pk).update(is_active=False)

    post_webhook(client, "github", payload, "pull_request")

    assert process_last().status == "processed"
    assert PullRequest.objects.get().repository == repository


def test_a_hook_bound_to_one_repository_never_writes_into_another(client):
    payload, repository, hook = hooked_repository()
    other = RepositoryFactory()
    forged = json.loads(json.dumps(payload))
    forged["repository"]["id"] = other.external_id
    forged["repository"]["full_name"] = other.full_name

    post_webhook(
        client,
        "github",
        forged,
        "pull_request",
        hook=hook.public_id,
        secret="own-hook-secret",
    )

    assert process_last().status == "processed"
    assert list(PullRequest.objects.values_list("repository", flat=True)) == [
        repository.pk
    ]
    assert not other.pull_requests.exists()


def test_any_delivery_verified_by_a_hooks_own_secret_marks_it_verified(client):
    """GitLab sends no ping (its "Test" button sends a push): any event that
    verifies through the per-hook URL proves the hook works."""
    repository = RepositoryFactory(provider="gitlab", host="gitlab.com")
    hook = WebhookEndpoint(provider="gitlab", repository=repository)
    hook.secret = "gl-hook-secret"
    hook.save()
    push = load_payload("gitlab", "push.default.1.json")

    response = post_webhook(
        client,
        "gitlab",
        push,
        "Push Hook",
        hook=hook.public_id,
        secret="gl-hook-secret",
    )

    assert response.status_code == 202
    hook.refresh_from_db()
    repository.refresh_from_db()
    assert hook.verified_at is not None
    assert repository.webhook_status == "verified"


def test_a_wrong_secret_on_a_hook_url_verifies_nothing(client):
    repository = RepositoryFactory(provider="gitlab", host="gitlab.com")
    hook = WebhookEndpoint(provider="gitlab", repository=repository)
    hook.secret = "gl-hook-secret"
    hook.save()

    response = post_webhook(
        client,
        "gitlab",
        {"object_kind": "push"},
        "Push Hook",
        hook=hook.public_id,
        secret="wrong",
    )

    assert response.status_code == 401
    hook.refresh_from_db()
    assert hook.verified_at is None
