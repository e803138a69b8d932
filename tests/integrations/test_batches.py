"""The worker's batch path: several deliveries per transaction, each in its own
savepoint, the ledger of each touched pull request recomputed once."""

from __future__ import annotations

import copy
import json
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from integrations import services
from integrations.models import ConnectedRepository, WebhookDelivery
from integrations.providers import get_provider
from integrations.services import deliveries as deliveries_module
from integrations.services.events import EventBatch
from reviews.models import Comment, PullRequest, Review
from rewards.models import PointsEntry
from rewards.services import points_reconcile, pulls_reconcile, rules_all
from tests.conftest import SHARED_FIXTURES, load_payload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]


@pytest.fixture(autouse=True)
def no_dispatch():
    with mock.patch("integrations.dispatch.DeliveryDispatcher.send") as send:
        yield send


def store(payload, event, delivery_id) -> int:
    """As the receiver stores it (with the summary it reads from the payload)."""
    action, repository_name = get_provider("github").summarize(event, payload)
    return services.delivery_record(
        provider="github",
        hook=None,
        delivery_id=delivery_id,
        event=event,
        action=action,
        repository_name=repository_name,
        headers={},
        body=json.dumps(payload).encode(),
    ).delivery_pk


def reviewed_pull() -> list[int]:
    """Codertocat's pull request #2 opened, reviewed by hubot, commented on
    inline by hubot: three deliveries of one pull request."""
    opened = load_payload("github", "pull_request.opened.1.json")
    review = load_payload("github", "pull_request_review.submitted.1.json")
    inline = load_payload("github", "pull_request_review_comment.created.1.json")
    for payload, part in ((review, "review"), (inline, "comment")):
        payload[part]["user"] = {**payload[part]["user"], "login": "hubot", "id": 7}
    review["review"]["body"] = "Checked the README change against the docs."
    inline["comment"]["body"] = "This line would read better as a list, I think."
    return [
        store(opened, "pull_request", "opened"),
        store(review, "pull_request_review", "review"),
        store(inline, "pull_request_review_comment", "inline"),
    ]


def process_failing_after_writes(pks: list[int], failing: int) -> dict[int, str]:
    """Process ``pks`` in one transaction; ``failing`` raises after its writes."""
    real = deliveries_module._apply

    def fails_after_writing(delivery, batch):
        result = real(delivery, batch)
        if delivery.pk == failing:
            raise ValueError("fails after its writes")
        return result

    with (
        mock.patch.object(deliveries_module, "_apply", fails_after_writing),
        override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=60),
    ):
        return services.deliveries_process(delivery_ids=pks)


def statuses() -> dict[str, str]:
    return dict(WebhookDelivery.objects.values_list("delivery_id", "status"))


@pytest.fixture
def reconcile(django_capture_on_commit_callbacks):
    """Counts ledger recounts; one transaction per call; on-commit work runs."""
    with (
        mock.patch(
            "integrations.services.events.pulls_reconcile", wraps=pulls_reconcile
        ) as counted,
        override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=60),
        django_capture_on_commit_callbacks(execute=True),
    ):
        yield counted


def test_a_batch_recomputes_each_pull_requests_ledger_once(reconcile):
    pks = reviewed_pull()
    outcome = services.deliveries_process(delivery_ids=pks)
    assert list(outcome.values()) == ["processed"] * 3
    pull = PullRequest.objects.get()
    assert [
        [row.pk for row in call.kwargs["pulls"]] for call in reconcile.call_args_list
    ] == [[pull.pk]]
    earned = dict(
        PointsEntry.objects.values_list("rule__key", "points").filter(
            identity__login="hubot"
        )
    )
    assert earned == {"review_session": 10, "review_comment": 2}
    # The ledger is in line with the state: recomputing writes nothing.
    assert points_reconcile(pull_request=pull) == []


def test_a_failing_delivery_fails_alone_and_the_rest_of_its_batch_commits():
    pks = reviewed_pull()
    malformed = {**load_payload("github", "pull_request.opened.1.json")}
    malformed["pull_request"] = "not an object"
    broken = store(malformed, "pull_request", "broken")
    with override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=60):
        outcome = services.deliveries_process(delivery_ids=[pks[0], broken, *pks[1:]])
    assert outcome[broken] == "failed"
    assert statuses() == {
        "opened": "processed",
        "broken": "failed",
        "review": "processed",
        "inline": "processed",
    }
    failed = WebhookDelivery.objects.get(pk=broken)
    assert failed.attempts == 1
    assert failed.error.startswith("PayloadError: "), failed.error
    assert Review.objects.get().reviewer_login == "hubot"


def test_a_transient_failure_goes_to_the_retrying_task_and_stays_pending(
    django_capture_on_commit_callbacks,
):
    pks = reviewed_pull()
    real = deliveries_module._apply

    def flaky(delivery, batch):
        if delivery.pk == pks[1]:
            real(delivery, batch)  # its writes are rolled back with the savepoint
            raise OperationalError("deadlock detected")
        return real(delivery, batch)

    with (
        mock.patch.object(deliveries_module, "_apply", flaky),
        override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=60),
        mock.patch("integrations.tasks.delivery_process_task.apply_async") as retry,
        django_capture_on_commit_callbacks(execute=True),
    ):
        outcome = services.deliveries_process(delivery_ids=pks)
    assert outcome == {pks[0]: "processed", pks[1]: "retrying", pks[2]: "processed"}
    retry.assert_called_once_with((pks[1],), countdown=2)
    waiting = WebhookDelivery.objects.get(pk=pks[1])
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert not Review.objects.exists()  # rolled back; the retry applies it


def test_a_savepoint_rolled_back_takes_what_the_batch_remembered_with_it():
    """The first delivery creates the repository, then fails: the next one of
    the same repository must not use the repository row that was rolled back."""
    pks = reviewed_pull()
    outcome = process_failing_after_writes(pks, failing=pks[0])
    assert outcome == {pks[0]: "failed", pks[1]: "processed", pks[2]: "processed"}
    repository = ConnectedRepository.objects.get()
    assert PullRequest.objects.get().repository == repository
    assert WebhookDelivery.objects.get(pk=pks[1]).repository == repository


def test_a_batch_where_nothing_fails_takes_no_savepoint_per_delivery():
    pks = reviewed_pull()
    rules_all()  # created the first time they are asked for, each in a savepoint
    with (
        CaptureQueriesContext(connection) as queries,
        override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=60),
    ):
        outcome = services.deliveries_process(delivery_ids=pks)
    assert list(outcome.values()) == ["processed"] * 3
    savepoints = [q["sql"] for q in queries if q["sql"].startswith("SAVEPOINT")]
    # The transaction itself (a savepoint inside the test's) and the creation
    # of the repository: none per delivery.
    assert len(savepoints) == 2


def test_a_delivery_failing_after_writes_has_its_transaction_redone_isolated(
    caplog,
):
    """Without savepoints a failure after writes cannot be undone alone: the
    transaction rolls back and is redone with a savepoint per delivery."""
    caplog.set_level("INFO", logger="integrations.services.deliveries")
    pks = reviewed_pull()
    outcome = process_failing_after_writes(pks, failing=pks[1])
    assert outcome == {pks[0]: "processed", pks[1]: "failed", pks[2]: "processed"}
    redone = [
        r for r in caplog.records if r.msg == "integrations.delivery.batch_isolated"
    ]
    assert [(r.delivery, r.error) for r in redone] == [
        (pks[1], "ValueError: fails after its writes")
    ]
    assert not Review.objects.exists()  # the failed delivery's writes are gone
    assert Comment.objects.count() == 1
    assert WebhookDelivery.objects.filter(attempts=1).count() == 3


def test_a_batch_that_fails_as_a_whole_is_redone_one_delivery_at_a_time(caplog):
    pks = reviewed_pull()
    real = EventBatch.finish
    calls = []

    def finish_fails_once(self):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return real(self)

    with (
        mock.patch.object(EventBatch, "finish", finish_fails_once),
        override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=60),
    ):
        outcome = services.deliveries_process(delivery_ids=pks)
    assert list(outcome.values()) == ["processed"] * 3
    assert [r.msg for r in caplog.records if r.levelname == "WARNING"] == [
        "integrations.delivery.batch_redone_singly"
    ]
    assert WebhookDelivery.objects.filter(attempts=1).count() == 3
    assert PointsEntry.objects.filter(identity__login="hubot").count() == 2


def test_the_time_budget_commits_a_long_batch_in_several_transactions():
    pks = reviewed_pull()
    commits = []
    real = deliveries_module._deliveries_chunk

    def counted(chunk, batch, settled, **kwargs):
        done, taken = real(chunk, batch, settled, **kwargs)
        commits.append(list(done))
        return done, taken

    with (
        mock.patch.object(deliveries_module, "_deliveries_chunk", counted),
        override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=0),
    ):
        outcome = services.deliveries_process(delivery_ids=[*pks, pks[0]])
    assert commits == [[pks[0]], [pks[1]], [pks[2]]]
    assert list(outcome.values()) == ["processed"] * 3
    assert PointsEntry.objects.filter(identity__login="hubot").count() == 2


def test_deliveries_another_worker_holds_are_left_to_it():
    pks = reviewed_pull()
    held = copy.copy(pks[1])
    real = WebhookDelivery.objects.select_for_update

    def skip_one(**kwargs):
        return real(**kwargs).exclude(pk=held)

    with mock.patch.object(WebhookDelivery.objects, "select_for_update", skip_one):
        outcome = services.deliveries_process(delivery_ids=pks)
    assert outcome[held] == "busy"
    assert WebhookDelivery.objects.get(pk=held).status == "pending"


def test_a_rolled_back_write_to_a_pull_request_is_not_taken_for_applied():
    """The batch holds the pull request rows it locked; a savepoint rolled back
    may have changed one in memory, so the next delivery reads it again."""
    opened = load_payload("github", "pull_request.opened.1.json")
    pushed = copy.deepcopy(opened)
    pushed["action"] = "synchronize"
    pushed["pull_request"]["head"]["sha"] = "f" * 40
    pushed["pull_request"]["updated_at"] = "2019-05-15T15:30:00Z"
    pks = [
        store(opened, "pull_request", "opened"),
        store(pushed, "pull_request", "pushed"),
        store(pushed, "pull_request", "pushed-again"),
    ]
    outcome = process_failing_after_writes(pks, failing=pks[1])
    assert list(outcome.values()) == ["processed", "failed", "processed"]
    pull = PullRequest.objects.get()
    assert pull.head_sha == "f" * 40
    assert list(pull.heads.values_list("sha", flat=True)) == [
        opened["pull_request"]["head"]["sha"],
        "f" * 40,
    ]


def test_a_worker_takes_along_the_pending_deliveries_of_the_same_repository(
    reconcile,
):
    """A review and its comment arrive through different web processes and are
    handed to different tasks; the first worker applies both, in one
    transaction, and the second finds its delivery done."""
    pks = reviewed_pull()
    first = services.deliveries_process(delivery_ids=[pks[0]])
    second = services.deliveries_process(delivery_ids=[pks[2]])
    assert first == dict.fromkeys(pks, "processed")
    assert second == {pks[2]: "processed"}
    assert reconcile.call_count == 1
    assert WebhookDelivery.objects.filter(attempts=1).count() == 3


def test_deliveries_taken_along_but_not_reached_are_applied_by_the_same_call():
    pks = reviewed_pull()
    other = load_payload("github", "pull_request.closed.3.json")  # another repository
    elsewhere = store(other, "pull_request", "elsewhere")
    with override_settings(WEBHOOK_BATCH_COMMIT_SECONDS=0):
        outcome = services.deliveries_process(delivery_ids=[pks[0]])
    assert outcome == dict.fromkeys(pks, "processed")
    assert WebhookDelivery.objects.get(pk=elsewhere).status == "pending"


def test_cached_provider_reads_go_stale_once_per_repository_when_committed(
    django_capture_on_commit_callbacks,
):
    """Three deliveries of one repository in one transaction: its cached reads
    are invalidated once, and only when the transaction commits."""
    pks = reviewed_pull()
    with mock.patch.object(deliveries_module, "repository_cache_invalidate") as stale:
        with django_capture_on_commit_callbacks() as committed:
            outcome = services.deliveries_process(delivery_ids=pks)
            assert stale.call_count == 0  # nothing before the commit
        for callback in committed:
            callback()
    assert set(outcome.values()) == {"processed"}
    stale.assert_called_once_with("github", "Codertocat/Hello-World")
