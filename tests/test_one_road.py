"""One provider history, four roads, one result.

The same GitHub history (two pull requests worked on before the repository was
followed, more work after) reaches CodeQuest by webhooks, by the initial
import alone, by reconciliation after every webhook was lost, and by webhooks
replayed out of order with duplicates. Each road must end in the same pull
requests, reviews and ledger; work done before the repository was followed
earns nothing on every road.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import responses
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    ProviderCredential,
    SyncRun,
    WebhookDelivery,
)
from integrations.providers.base import RepositorySnapshot
from integrations.services import (
    deliveries_process,
    deliveries_replay,
    repository_upsert,
)
from integrations.services.sync import repository_sync
from reviews.models import PullRequest, RepositoryReviewSettings, Review
from rewards.models import PointsEntry
from rewards.services import base_key
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.integrations.fake_github import FakeGitHub

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

NOW = timezone.now().replace(microsecond=0)
FOLLOWED = NOW - timedelta(days=5)
Deliver = Callable[[str, dict], None]


def at(hours: int) -> Any:
    """A moment relative to when the repository was followed."""
    return FOLLOWED + timedelta(hours=hours)


def work_before(github: FakeGitHub) -> None:
    """Two pull requests worked on before CodeQuest followed the repository."""
    github.open(1, "author0", at(-60))
    github.request_review(1, "kim", at(-59))
    github.review(1, "kim", "approved", at(-50))
    github.merge(1, at(-48))
    github.open(2, "author1", at(-30))
    github.review(2, "kim", "changes_requested", at(-20))


def work_after(github: FakeGitHub, deliver: Deliver) -> None:
    """More work once it is followed; ``deliver`` sends (or loses) its webhooks."""
    github.push(2, f"{2:039x}f", at(2))
    deliver("pull_request", github.pull_payload(2, "synchronize"))
    review = github.review(2, "lee", "approved", at(3))
    deliver("pull_request_review", github.review_payload(2, review))
    github.open(3, "author0", at(4))
    deliver("pull_request", github.pull_payload(3, "opened"))
    review = github.review(3, "kim", "approved", at(6))
    deliver("pull_request_review", github.review_payload(3, review))
    github.merge(3, at(7))
    deliver("pull_request", github.pull_payload(3, "closed"))
    github.merge(2, at(8))
    deliver("pull_request", github.pull_payload(2, "closed"))


def followed_repository() -> ConnectedRepository:
    """Connected with a token at FOLLOWED (the import runs separately)."""
    template = load_payload("github", "pull_request.opened.1.json")["repository"]
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_one_road"
    credential.save()
    repository = repository_upsert(
        snapshot=RepositorySnapshot(
            provider="github",
            host="github.com",
            external_id=template["id"],
            full_name=template["full_name"],
        ),
        followed_since=FOLLOWED,
    )
    repository.credential = credential
    repository.save(update_fields=["credential"])
    # Assignment writes to the provider; it has its own tests.
    RepositoryReviewSettings.objects.create(repository=repository, auto_assign=False)
    return repository


def initial_import(repository: ConnectedRepository) -> None:
    run = repository_sync(
        repository=repository, initial=True, trigger=SyncRun.Trigger.MANUAL
    ).run
    assert (run.kind, run.status, run.trigger) == ("initial", "succeeded", "manual")


def outcome(repository: ConnectedRepository) -> dict[str, Any]:
    """The pull requests, reviews and ledger, without our own row ids."""
    pulls = sorted(
        PullRequest.objects.filter(repository=repository).values_list(
            "number", "state", "head_sha", "title", "merged_at", "provider_updated_at"
        )
    )
    reviews = sorted(
        Review.objects.filter(pull_request__repository=repository).values_list(
            "pull_request__number", "external_id", "reviewer_login", "state"
        )
    )
    ledger: Counter = Counter()
    for login, rule, source, earned_at, points in PointsEntry.objects.filter(
        repository=repository
    ).values_list("identity__login", "rule__key", "source", "earned_at", "points"):
        kind, _pull_id, *rest = base_key(source).split(":")
        ledger[(login, rule, ":".join([kind, *rest]), earned_at)] += points
    return {"pulls": pulls, "reviews": reviews, "ledger": +ledger}


class Rollback(Exception):
    pass


def road(play: Callable[[FakeGitHub, ConnectedRepository], None]) -> dict[str, Any]:
    """Play one road against a fresh provider and database; keep its outcome."""
    result: dict[str, Any] = {}
    try:
        with (
            transaction.atomic(),
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
        ):
            repository = followed_repository()
            github = FakeGitHub(repository.full_name)
            github.install(rsps)
            play(github, repository)
            result = outcome(repository)
            raise Rollback
    except Rollback:
        pass
    return result


@pytest.fixture
def webhooks(client, eager_celery, django_capture_on_commit_callbacks) -> Deliver:
    def deliver(event: str, payload: dict) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(client, "github", payload, event).status_code == 202

    return deliver


def test_every_road_ends_in_the_same_state_and_ledger(
    settings, client, webhooks, django_capture_on_commit_callbacks
):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None

    def batched(seconds: float, seed: int):
        """Webhooks stored, then applied by the worker's batch path: out of
        order, with duplicates, in transactions of ``seconds`` each."""

        def play(github, repository):
            stored: list[tuple[str, dict]] = []
            work_before(github)
            initial_import(repository)
            work_after(github, lambda event, payload: stored.append((event, payload)))
            shuffled = stored * 2
            random.Random(seed).shuffle(shuffled)
            with mock.patch("integrations.dispatch.DeliveryDispatcher.send"):
                for event, payload in shuffled:
                    with django_capture_on_commit_callbacks(execute=True):
                        response = post_webhook(client, "github", payload, event)
                    assert response.status_code == 202
            pks = list(
                WebhookDelivery.objects.order_by("id").values_list("pk", flat=True)
            )
            with (
                override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=seconds),
                django_capture_on_commit_callbacks(execute=True),
            ):
                done = deliveries_process(delivery_ids=pks)
            assert list(done.values()) == ["processed"] * 12

        return play

    def by_webhook(github, repository):
        work_before(github)
        initial_import(repository)
        work_after(github, webhooks)

    def by_import(github, repository):
        # An App installed at FOLLOWED whose import ran only now.
        work_before(github)
        work_after(github, lambda event, payload: None)
        initial_import(repository)

    def by_sync(github, repository):
        work_before(github)
        initial_import(repository)
        work_after(github, lambda event, payload: None)  # every webhook lost
        run = repository_sync(repository=repository).run
        assert (run.kind, run.status, run.changes) == ("incremental", "succeeded", 4)

    def by_replay(github, repository):
        stored: list[tuple[str, dict]] = []
        work_before(github)
        initial_import(repository)
        work_after(github, lambda event, payload: stored.append((event, payload)))
        # Out of order, each delivered twice under different delivery ids.
        shuffled = stored * 2
        random.Random(7).shuffle(shuffled)
        for event, payload in shuffled:
            webhooks(event, payload)
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = [outcome for _, outcome in deliveries_replay()]
        assert len(outcomes) == WebhookDelivery.objects.count() == 12
        assert set(outcomes) == {"processed"}

    outcomes = {
        name: road(play)
        for name, play in [
            ("webhook", by_webhook),
            ("import", by_import),
            ("sync", by_sync),
            ("replay", by_replay),
            ("one batch", batched(seconds=60, seed=11)),
            ("a transaction each", batched(seconds=0, seed=12)),
        ]
    }
    expected = outcomes["webhook"]
    for name, found in outcomes.items():
        assert found == expected, name

    assert [pull[:2] for pull in expected["pulls"]] == [
        (1, "merged"),
        (2, "merged"),
        (3, "merged"),
    ]
    assert len(expected["reviews"]) == 4
    earned = Counter()
    for (login, rule, _key, moment), points in expected["ledger"].items():
        assert moment >= FOLLOWED, (login, rule)  # nothing from before
        earned[login] += points
    # lee's approval of #2 and kim's of #3 earn; kim's two earlier reviews and
    # the merge of #1 do not. author0 merged #3 after FOLLOWED, author1 #2.
    assert set(earned) == {"lee", "kim", "author0", "author1"}
    assert all(points > 0 for points in earned.values())


def test_only_work_after_following_asks_for_reviewers(
    settings, webhooks, django_capture_on_commit_callbacks
):
    """A pull request opened before the repository was followed is history: the
    import assigns nobody. One opened after is assigned, whether its webhook
    arrives or reconciliation finds it."""
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
        mock.patch("integrations.services.events.reviewer_assign_task") as task,
    ):
        repository = followed_repository()
        github = FakeGitHub(repository.full_name)
        github.install(rsps)
        github.open(1, "author0", at(-30))
        with django_capture_on_commit_callbacks(execute=True):
            initial_import(repository)
        assert PullRequest.objects.filter(repository=repository).count() == 1
        assert task.delay.call_args_list == []

        github.open(2, "author1", at(2))  # its webhook is lost
        github.open(3, "author0", at(3))
        webhooks("pull_request", github.pull_payload(3, "opened"))
        with django_capture_on_commit_callbacks(execute=True):
            repository_sync(repository=repository)

    numbers = dict(
        PullRequest.objects.filter(repository=repository).values_list("pk", "number")
    )
    asked = sorted(
        (numbers[pull_id], trigger)
        for (pull_id, trigger), _ in task.delay.call_args_list
    )
    assert asked == [(2, "opened"), (3, "opened")]
