"""What every normalized event goes through, whichever road brought it.

A webhook delivery, a reconciliation pass and a replay all end here
(ARCHITECTURE "The one path"): apply the snapshots, award or reverse points,
and schedule reviewer assignment for newly opened work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from integrations.models import ConnectedRepository
from integrations.providers.base import (
    CommentSnapshot,
    EventKind,
    NormalizedEvent,
    PullState,
    PushSnapshot,
)
from integrations.tasks import push_rewrite_check_task, repository_settings_read_task
from notifications.tasks import review_requests_notify_task
from reviews.assignment.service import ASSIGN_ON, UNQUIETED
from reviews.commands import pull_command_record
from reviews.models import PullRequest, RepositoryReviewSettings
from reviews.practice import practice_round_score
from reviews.services import LockedPulls, Pending, event_apply
from reviews.settings_file import settings_file_paths
from reviews.tasks import pull_command_task, pull_size_label_task, reviewer_assign_task
from rewards.services import points_award, pulls_reconcile


@dataclass
class EventBatch:
    """Several events applied in one transaction (a batch of deliveries, one
    pull request of a sync): each pull request they touch has its ledger
    recomputed once, by ``finish()`` before the transaction commits, instead of
    after every event. The ledger is a function of the stored state, so the
    result is the one per-event recomputing gives, and it commits with the state.
    """

    pulls: dict[int, PullRequest] = field(default_factory=dict)
    # Pull request rows the current transaction holds locked (see event_apply).
    locked: LockedPulls = field(default_factory=dict)
    # What the events wrote together by finish(); what the delivery under way
    # since ``checkpoint()`` added is dropped by ``forget()``.
    pending: Pending = field(default_factory=Pending)
    kept: Pending = field(default_factory=Pending)
    # Identities recorded (committed or in this transaction): not written again.
    people: set[tuple[Any, ...]] = field(default_factory=set)
    # Repositories found for the batch's events (see repository_for_event).
    repositories: dict[tuple[Any, ...], ConnectedRepository] = field(
        default_factory=dict
    )
    # Repositories whose cached provider reads go stale when this transaction
    # commits (invalidated once each).
    stale_repositories: set[tuple[str, str]] = field(default_factory=set)
    # Per repository: (labels sizes?, quiet labels), read once per batch.
    writes_settings: dict[int, tuple[bool, tuple[str, ...]]] = field(
        default_factory=dict
    )

    def checkpoint(self) -> None:
        """A delivery starts: what the batch noted so far stays if it fails."""
        self.kept = self.pending.copy()

    def forget(self) -> None:
        """A savepoint was rolled back: what it wrote may be gone, and rows held
        may carry values it set."""
        self.pending = self.kept.copy()
        self.stale_repositories.clear()  # its on-commit invalidations are gone
        self.people.clear()
        self.repositories.clear()
        self.locked.clear()
        self.writes_settings.clear()

    def finish(self) -> None:
        """Bring the ledger of every touched pull request in line, all together
        (a fixed number of queries for the lot), before the commit that ends
        the transaction and releases its locks."""
        pulls, self.pulls = self.pulls, {}
        self.locked = {}
        self.stale_repositories = set()
        pending, self.pending, self.kept = self.pending, Pending(), Pending()
        if pending.write(self.people):
            transaction.on_commit(review_requests_notify_task.delay)
        if pulls:
            pulls_reconcile(pulls=pulls.values())


def event_handle(
    *,
    event: NormalizedEvent,
    repository: ConnectedRepository | None,
    batch: EventBatch | None = None,
) -> Any:
    """Apply one event and its consequences; returns the apply result.

    Within a ``batch`` the ledger follows at ``batch.finish()``; alone, now.
    """
    if repository is not None:
        _followed_since_learn(event, repository)
    result = event_apply(
        event=event,
        repository=repository,
        recorded_people=batch.people if batch is not None else None,
        locked_pulls=batch.locked if batch is not None else None,
        pending=batch.pending if batch is not None else None,
    )
    if batch is None:
        points_award(event=event, pull_request=result.pull_request)
        if event.pull_request is not None and event.pull_request.requested_reviewers:
            transaction.on_commit(review_requests_notify_task.delay)
    elif result.pull_request is not None:
        batch.pulls[result.pull_request.pk] = result.pull_request
    if (
        repository is not None
        and event.kind is EventKind.COMMENT_CREATED
        and event.comment is not None
        and result.pull_request is not None
    ):
        _schedule_command(event.comment, result.pull_request, repository)
    if repository is not None and repository.is_practice:
        # Practice: the round is scored; no points (rewards), no assignment.
        if result.pull_request is not None and (event.review or event.comment):
            practice_round_score(pull_request=result.pull_request)
    elif repository is not None:
        known = batch.writes_settings if batch is not None else {}
        _schedule_assignment(event, result, repository.followed_since, known)
        _schedule_size_label(event, result, repository.followed_since, known)
    if repository is not None and event.push is not None:
        _schedule_settings_read(event.push, repository)
        _schedule_rewrite_check(event, repository)
    return result


# New work whose size may have changed.
SIZE_ON = {EventKind.PR_OPENED, EventKind.PR_REOPENED, EventKind.PR_SYNCHRONIZED}


def _repository_switches(
    repository_id: int, known: dict[int, tuple[bool, tuple[str, ...]]]
) -> tuple[bool, tuple[str, ...]]:
    """Whether the repository labels sizes, and its quiet labels (lowercased):
    one query per repository per batch of deliveries."""
    if repository_id not in known:
        row = (
            RepositoryReviewSettings.objects.filter(repository_id=repository_id)
            .values_list("size_labels", "quiet_labels")
            .first()
        )
        size, quiet = row if row else (False, [])
        known[repository_id] = (size, tuple(label.lower() for label in quiet or ()))
    return known[repository_id]


def _schedule_size_label(
    event: NormalizedEvent,
    result: Any,
    followed_since: datetime | None,
    known: dict[int, tuple[bool, tuple[str, ...]]],
) -> None:
    """Label the size of new work once committed, where the repository asks
    for it (history from before we followed the repository is left alone)."""
    pull = result.pull_request
    if event.kind not in SIZE_ON or pull is None or pull.state != PullState.OPEN:
        return
    if followed_since is not None and event.occurred_at < followed_since:
        return
    if not _repository_switches(pull.repository_id, known)[0]:
        return
    transaction.on_commit(lambda: pull_size_label_task.delay(pull.pk))


def _unquieted(
    pull: PullRequest, known: dict[int, tuple[bool, tuple[str, ...]]]
) -> str:
    """An open pull request with no quiet label left, in a repository that has
    quiet labels: its reviewers are chosen now (once: an earlier automatic
    choice stands)."""
    if pull.state != PullState.OPEN:
        return ""
    quiet = _repository_switches(pull.repository_id, known)[1]
    if not quiet or set(quiet) & {label.lower() for label in pull.labels or ()}:
        return ""
    return UNQUIETED


def _schedule_command(
    comment: CommentSnapshot, pull: PullRequest, repository: ConnectedRepository
) -> None:
    """A new comment with a /codequest command: recorded once (a replay finds
    it), run once committed."""
    command = pull_command_record(
        pull_request=pull, comment=comment, followed_since=repository.followed_since
    )
    if command is not None:
        transaction.on_commit(lambda: pull_command_task.delay(command.pk))


def _schedule_rewrite_check(
    event: NormalizedEvent, repository: ConnectedRepository
) -> None:
    """A push whose payload does not say whether it rewrote the branch (GitLab),
    to the head branch of an open pull request: ask the provider, once
    committed, whether the old head is still in the new history."""
    push = event.push
    if push is None or push.is_forced is not None:
        return
    if not push.ref.startswith("refs/heads/"):
        return
    if not push.before.strip("0") or not push.after.strip("0"):
        return  # a new or deleted branch rewrites nothing
    branch = push.ref.removeprefix("refs/heads/")
    if not PullRequest.objects.filter(
        repository=repository, head_ref=branch, state=PullState.OPEN
    ).exists():
        return
    pushed_at = event.occurred_at.isoformat()
    transaction.on_commit(
        lambda: push_rewrite_check_task.delay(
            repository.pk, push.ref, push.before, push.after, pushed_at
        )
    )


def _schedule_settings_read(
    push: PushSnapshot, repository: ConnectedRepository
) -> None:
    """A push to the default branch that touches ``.codequest.yml`` or a
    CODEOWNERS location (or may have: the payload does not list every path)
    has the settings read again at once, on the priority queue. Other pushes
    cost nothing more."""
    if not repository.default_branch:
        return
    if push.ref != f"refs/heads/{repository.default_branch}":
        return
    if push.paths is not None and not set(push.paths) & set(
        settings_file_paths(repository.provider)
    ):
        return
    transaction.on_commit(
        lambda: repository_settings_read_task.delay(repository.pk, push.after)
    )


def _followed_since_learn(
    event: NormalizedEvent, repository: ConnectedRepository
) -> None:
    """A repository known only from deliveries (no token, no App installation)
    has been followed at least since the earliest work a delivery brought.

    Deliveries arrive in any order, so the moment is the minimum over all of
    them, and the pull requests whose work it now admits are recounted: the
    ledger ends the same whichever delivery came first.
    """
    since = repository.followed_since
    if (
        repository.credential_id
        or repository.installation_id
        or since is None
        or event.occurred_at >= since
    ):
        return
    moved = ConnectedRepository.objects.filter(
        pk=repository.pk, followed_since__gt=event.occurred_at
    ).update(followed_since=event.occurred_at)
    repository.followed_since = event.occurred_at
    if not moved:
        return
    admitted = PullRequest.objects.filter(
        repository=repository, provider_updated_at__gte=event.occurred_at
    )
    pulls_reconcile(pulls=admitted)


def _schedule_assignment(
    event: NormalizedEvent,
    result: Any,
    followed_since: datetime | None,
    known: dict[int, tuple[bool, tuple[str, ...]]],
) -> None:
    """Opened or ready for review since we followed the repository: choose
    reviewers once it is committed. A pull request opened before (an import,
    a first reconciliation) is history, not new work."""
    trigger = ASSIGN_ON.get(event.kind)
    pull = result.pull_request
    if event.kind is EventKind.PR_UPDATED and pull is not None and result.changed:
        trigger = _unquieted(pull, known)
    if not trigger or pull is None or pull.draft:
        return
    opened = event.kind is EventKind.PR_OPENED and pull.provider_created_at
    when = opened or event.occurred_at
    if followed_since is not None and when < followed_since:
        return
    transaction.on_commit(lambda: reviewer_assign_task.delay(pull.pk, trigger))
