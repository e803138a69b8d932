"""Writes as pull requests: review settings changed on the dashboard of a
repository that keeps them in ``.codequest.yml`` go back into the file, on a
branch, in one commit, through a pull request (README "Writes as pull requests").

- **Batching.** Changes made within ``CODEQUEST_WRITE_BATCH_SECONDS`` of each
  other join one write (a ``RepositoryWrite``), written in one commit when the
  window closes. Later changes while its pull request is open add one commit
  each batch to the same branch.
- **Conflicts.** Before each commit the file on the default branch is read
  again. When it changed since our branch was made: if the keys someone else
  changed are not ours, the branch is made again on the new default branch
  (a rebase, clean by construction); if they are ours too, the write stops as
  ``conflict``, says which keys, and the pull request is left for a person.
- **History.** Each commit and each pull request opened is a sync-history row
  (kind ``commit`` / ``pull_request``, trigger ``manual``).
- **Never written:** paths matching the team's ``write_exclude_paths``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.credentials import repository_client_guarded
from integrations.models import (
    COMMIT_MESSAGE_DEFAULT,
    ConnectedRepository,
    RepositoryWrite,
    SyncRun,
)
from integrations.providers.base import (
    PayloadError,
    ProviderError,
    ProviderTemporaryError,
    RepoClient,
)
from integrations.providers.hosts import safe_link
from reviews.assignment.service import pull_files_record, review_settings_get
from reviews.codeowners import path_matches
from reviews.codeowners_suggest import (
    PullHistory,
    codeowners_drift,
    codeowners_suggest,
)
from reviews.config_file import (
    CONFIG_PATH,
    FIELD_KEYS,
    ConfigFileError,
    settings_parse,
    settings_render,
)
from reviews.models import PullRequest, PullRequestFile, PullState, Review

logger = logging.getLogger(__name__)

OPEN = (
    RepositoryWrite.Status.IDLE,
    RepositoryWrite.Status.SYNCING,
    RepositoryWrite.Status.SUCCESS,
    RepositoryWrite.Status.CONFLICT,
)
BRANCH_PREFIX = "codequest/settings-"
PULL_TITLE = "Update review settings from CodeQuest"
ONBOARDING_PREFIX = "codequest/onboarding-"
ONBOARDING_TITLE = "Configure CodeQuest"
ONBOARDING_HISTORY = 30  # merged pull requests read for the CODEOWNERS suggestion
SUGGESTED_CODEOWNERS = "CODEOWNERS"
DRIFT_PREFIX = "codequest/codeowners-"
DRIFT_TITLE = "CODEOWNERS drift: owners from who reviews there now"
DRIFT_WINDOW = timedelta(days=90)  # history read, and silence after a close


def file_fields() -> tuple[str, ...]:
    """The review settings ``.codequest.yml`` can hold."""
    return tuple(FIELD_KEYS)


def settings_write_request(
    *,
    repository: ConnectedRepository,
    changes: dict[str, Any],
    user: Any = None,
    schedule: Callable[[int, float], None] | None = None,
) -> RepositoryWrite:
    """Queue ``changes`` (review-settings field -> value) for the file; they
    join the repository's open write, and the batching window starts again."""
    unknown = set(changes) - set(FIELD_KEYS)
    if unknown:
        raise ValueError(f"not settings of the file: {', '.join(sorted(unknown))}")
    window = settings.CODEQUEST_WRITE_BATCH_SECONDS
    with transaction.atomic():
        _finish_merged(repository)
        write = (
            RepositoryWrite.objects.select_for_update()
            .filter(repository=repository, status__in=OPEN)
            .first()
        )
        due = timezone.now() + timedelta(seconds=window)
        if write is None:
            write = RepositoryWrite.objects.create(
                repository=repository, changes=changes, due_at=due, requested_by=user
            )
        else:
            write.changes = {**write.changes, **changes}
            write.due_at = due
            if write.status == RepositoryWrite.Status.SUCCESS:
                write.status = RepositoryWrite.Status.IDLE  # one more commit to come
            write.save(update_fields=["changes", "due_at", "status", "updated_at"])
        pk = write.pk
        run_later = schedule or _schedule
        transaction.on_commit(lambda: run_later(pk, window))
    return write


def onboarding_write_request(
    *,
    repository: ConnectedRepository,
    client: RepoClient,
    schedule: Callable[[int, float], None] | None = None,
) -> RepositoryWrite | None:
    """The "Configure CodeQuest" pull request for a repository that has no
    .codequest.yml: the current settings as a file and, when it has no
    CODEOWNERS, one suggested from history. Once per repository (None when it
    had a write before)."""
    current = review_settings_get(repository)
    changes = {name: getattr(current, name) for name in FIELD_KEYS}
    extra: dict[str, str] = {}
    explanation = ""
    if not current.codeowners_path:
        text, reasons = codeowners_suggest(_history(repository, client))
        if text:
            extra[SUGGESTED_CODEOWNERS] = text
            explanation = "\n".join(f"- {reason}" for reason in reasons)
    with transaction.atomic():
        ConnectedRepository.objects.select_for_update().filter(pk=repository.pk).get()
        if repository.writes.exists():
            return None
        write = RepositoryWrite.objects.create(
            repository=repository,
            purpose=RepositoryWrite.Purpose.ONBOARDING,
            changes=changes,
            extra_files=extra,
            explanation=explanation,
            due_at=timezone.now(),
        )
        pk = write.pk
        run_later = schedule or _schedule
        transaction.on_commit(lambda: run_later(pk, 0))
    return write


def codeowners_drift_check(
    *,
    repository: ConnectedRepository,
    client: RepoClient,
    now: datetime | None = None,
    schedule: Callable[[int, float], None] | None = None,
) -> RepositoryWrite | None:
    """A "CODEOWNERS drift" pull request when the last 90 days show a path's
    owners no longer review it: at most one open at a time, and none for 90
    days after a person closed the last one unmerged."""
    now = now or timezone.now()
    team = repository.organization
    if team is None or not team.onboarding_pull_requests:
        return None
    drifts = repository.writes.filter(purpose=RepositoryWrite.Purpose.DRIFT)
    if drifts.filter(status__in=OPEN).exists() or _silenced(repository, drifts, now):
        return None
    path = review_settings_get(repository).codeowners_path
    if not path or _path_excluded(repository, path):
        return None
    text = client.file_read(repository.full_name, path, repository.default_branch)
    if not text:
        return None
    history = _history(repository, client, since=now - DRIFT_WINDOW, limit=200)
    new_text, reasons = codeowners_drift(text, history)
    if not new_text:
        return None
    with transaction.atomic():
        write = RepositoryWrite.objects.create(
            repository=repository,
            purpose=RepositoryWrite.Purpose.DRIFT,
            changes={},
            extra_files={path: new_text},
            base_text=text,
            explanation="\n".join(f"- {reason}" for reason in reasons),
            due_at=now,
        )
        pk = write.pk
        run_later = schedule or _schedule
        transaction.on_commit(lambda: run_later(pk, 0))
    return write


def _silenced(repository: ConnectedRepository, drifts: Any, now: datetime) -> bool:
    """The last drift pull request was closed without merging less than 90
    days ago: a person said no to that suggestion."""
    last = drifts.exclude(pull_number=None).order_by("-created_at").first()
    if last is None:
        return False
    pull = PullRequest.objects.filter(
        repository=repository, number=last.pull_number
    ).first()
    return (
        pull is not None
        and pull.state == PullState.CLOSED
        and (pull.closed_at or last.updated_at) > now - DRIFT_WINDOW
    )


def _history(
    repository: ConnectedRepository,
    client: RepoClient,
    *,
    since: datetime | None = None,
    limit: int = ONBOARDING_HISTORY,
) -> list[PullHistory]:
    """The latest merged pull requests with their authors, reviewers and
    changed paths (read from the provider where we never did, and kept: at
    most ``ONBOARDING_HISTORY`` reads)."""
    merged = PullRequest.objects.filter(repository=repository, state=PullState.MERGED)
    if since is not None:
        merged = merged.filter(merged_at__gte=since)
    pulls = list(merged.order_by("-merged_at", "-number")[:limit])
    files: dict[int, list[str]] = defaultdict(list)
    for pull_id, path in PullRequestFile.objects.filter(
        pull_request__in=pulls
    ).values_list("pull_request_id", "path"):
        files[pull_id].append(path)
    unread = [pull for pull in pulls if pull.pk not in files][:ONBOARDING_HISTORY]
    for pull in unread:
        if pull.pk not in files:
            paths = client.changed_files(repository.full_name, pull.number)
            pull_files_record(pull=pull, paths=paths)
            files[pull.pk] = list(paths)
    reviewers: dict[int, set[str]] = defaultdict(set)
    for pull_id, login in Review.objects.filter(pull_request__in=pulls).values_list(
        "pull_request_id", "reviewer_login"
    ):
        reviewers[pull_id].add(login)
    return [
        PullHistory(
            author=pull.author_login,
            reviewers=tuple(sorted(reviewers[pull.pk])),
            paths=tuple(files[pull.pk]),
        )
        for pull in pulls
    ]


def _schedule(write_id: int, countdown: float) -> None:
    from integrations.tasks import repository_write_task

    repository_write_task.apply_async((write_id,), countdown=max(countdown, 0))


def _finish_merged(repository: ConnectedRepository) -> None:
    """Writes whose pull request was merged or closed are done: the next
    change starts a new one (the merge's push re-reads the file)."""
    for write in RepositoryWrite.objects.filter(
        repository=repository, status__in=OPEN, pull_number__isnull=False
    ):
        state = (
            PullRequest.objects.filter(repository=repository, number=write.pull_number)
            .values_list("state", flat=True)
            .first()
        )
        if state in (PullState.MERGED, PullState.CLOSED):
            write.status = RepositoryWrite.Status.DONE
            write.save(update_fields=["status", "updated_at"])


def repository_write_run(*, write_id: int, now: datetime | None = None) -> str:
    """Write what a write holds, once its window has closed; returns its status
    (or "wait" when the window is still open, "" when nothing is to be done)."""
    now = now or timezone.now()
    write = (
        RepositoryWrite.objects.select_related(
            "repository", "repository__organization", "repository__credential"
        )
        .filter(pk=write_id)
        .first()
    )
    if write is None or write.status != RepositoryWrite.Status.IDLE:
        return ""
    if write.due_at > now:
        _schedule(write.pk, (write.due_at - now).total_seconds())
        return "wait"
    # Take it (a second worker running the same task finds it taken).
    taken = RepositoryWrite.objects.filter(
        pk=write.pk, status=RepositoryWrite.Status.IDLE, due_at=write.due_at
    ).update(status=RepositoryWrite.Status.SYNCING)
    if not taken:
        return ""
    repository = write.repository
    excluded = _excluded(repository)
    if excluded:
        return _fail(write, f"the team never lets CodeQuest write {CONFIG_PATH}")
    try:
        with repository_client_guarded(repository) as client:
            return _write(write, client, now)
    except ProviderTemporaryError:
        RepositoryWrite.objects.filter(pk=write.pk).update(
            status=RepositoryWrite.Status.IDLE
        )
        raise
    except (ProviderError, PayloadError, ConfigFileError) as exc:
        return _fail(write, str(exc))


def _write(write: RepositoryWrite, client: RepoClient, now: datetime) -> str:
    repository = write.repository
    name, base_branch = repository.full_name, repository.default_branch
    current = client.file_read(name, CONFIG_PATH, base_branch)
    base_head = client.branch_head(name, base_branch)
    if base_head is None:
        raise ProviderError(f"the default branch {base_branch!r} does not exist")
    if write.purpose == RepositoryWrite.Purpose.DRIFT:
        return _write_drift(write, client, now, base_head)
    if write.branch and current != write.base_text:
        theirs = _changed_keys(write.base_text, current)
        ours = set(write.changes)
        if theirs & ours:
            keys = ", ".join(".".join(FIELD_KEYS[key]) for key in sorted(theirs & ours))
            return _conflict(
                write,
                f"{CONFIG_PATH} changed on {base_branch} since this pull request "
                f"was made, in what it changes too ({keys}): left for a person "
                "to resolve",
                now,
            )
        # Clean: make our branch again on the new default branch (a rebase).
        parent = base_head
    elif write.branch:
        parent = client.branch_head(name, write.branch) or base_head
    else:
        parent = base_head
    files = {CONFIG_PATH: settings_render(current, write.changes)}
    skipped = [path for path in write.extra_files if _path_excluded(repository, path)]
    files.update(
        (path, content)
        for path, content in write.extra_files.items()
        if path not in skipped
    )
    write.base_text = current or ""
    if write.purpose == RepositoryWrite.Purpose.ONBOARDING:
        return _commit_and_propose(
            write,
            client,
            now,
            parent=parent,
            files=files,
            existing={CONFIG_PATH} if current is not None else set(),
            prefix=ONBOARDING_PREFIX,
            message=ONBOARDING_TITLE,
            title=ONBOARDING_TITLE,
            body=_onboarding_body(write, skipped),
        )
    return _commit_and_propose(
        write,
        client,
        now,
        parent=parent,
        files=files,
        existing={CONFIG_PATH} if current is not None else set(),
        prefix=BRANCH_PREFIX,
        message=_message(repository, now),
        title=PULL_TITLE,
        body=_pull_body(write),
    )


def _write_drift(
    write: RepositoryWrite, client: RepoClient, now: datetime, base_head: str
) -> str:
    """The CODEOWNERS suggestion, written only onto the file it was made from
    (someone changed it since: a conflict, left for a person)."""
    repository = write.repository
    [(path, text)] = write.extra_files.items()
    current = client.file_read(repository.full_name, path, repository.default_branch)
    if current != write.base_text:
        return _conflict(
            write,
            f"{path} changed since this suggestion was made: left for a person",
            now,
        )
    return _commit_and_propose(
        write,
        client,
        now,
        parent=base_head,
        files={path: text},
        existing={path},
        prefix=DRIFT_PREFIX,
        message=DRIFT_TITLE,
        title=DRIFT_TITLE,
        body=(
            f"Recent history says these paths' owners in `{path}` no longer "
            "review them (the merged pull requests of the last 90 days):\n\n"
            f"{write.explanation}\n\nReview it like any change: it decides who "
            "is asked to review. Closing it unmerged silences this suggestion "
            "for 90 days."
        ),
    )


def _commit_and_propose(
    write: RepositoryWrite,
    client: RepoClient,
    now: datetime,
    *,
    parent: str,
    files: dict[str, str],
    existing: set[str],
    prefix: str,
    message: str,
    title: str,
    body: str,
) -> str:
    """One commit on the write's branch (made on the first), then its pull
    request (opened once); each a sync-history row."""
    repository = write.repository
    branch = write.branch or f"{prefix}{write.pk}"
    run = _run(repository, SyncRun.Kind.COMMIT, now)
    try:
        sha = client.commit_files(
            repository.full_name,
            branch=branch,
            parent=parent,
            message=message,
            files=files,
            existing=existing,
            create_branch=not write.branch,
        )
    except ProviderError as exc:
        _finish(run, SyncRun.Status.FAILED, str(exc))
        raise
    _finish(run, SyncRun.Status.SUCCEEDED, "")
    write.branch, write.head_sha = branch, sha
    if write.pull_number is None:
        pull_run = _run(repository, SyncRun.Kind.PULL_REQUEST, now)
        try:
            number, url = client.pull_create(
                repository.full_name,
                head=branch,
                base=repository.default_branch,
                title=title,
                body=body,
            )
        except ProviderError as exc:
            _finish(pull_run, SyncRun.Status.FAILED, str(exc))
            write.save(update_fields=["branch", "head_sha", "base_text"])
            raise
        _finish(pull_run, SyncRun.Status.SUCCEEDED, "")
        write.pull_number = number
        write.pull_url = safe_link(url, repository.provider)[:500]
    write.status, write.error = RepositoryWrite.Status.SUCCESS, ""
    write.save()
    logger.info(
        "integrations.write.committed",
        extra={
            "repository": repository.pk,
            "write": write.pk,
            "pull": write.pull_number,
        },
    )
    return str(write.status)


def _changed_keys(before: str, after: str | None) -> set[str]:
    """The settings fields whose value differs between two texts of the file
    (an unreadable text counts as changing everything)."""
    try:
        old = settings_parse(before).values if before else {}
        new = settings_parse(after).values if after else {}
    except ConfigFileError:
        return set(FIELD_KEYS)
    return {name for name in FIELD_KEYS if old.get(name) != new.get(name)}


def _conflict(write: RepositoryWrite, error: str, now: datetime) -> str:
    """Nothing written: the write says why and its pull request stays for a person."""
    run = _run(write.repository, SyncRun.Kind.COMMIT, now)
    _finish(run, SyncRun.Status.CONFLICT, error)
    write.status, write.error = RepositoryWrite.Status.CONFLICT, error[:2000]
    write.save(update_fields=["status", "error", "updated_at"])
    return str(write.status)


def _fail(write: RepositoryWrite, error: str) -> str:
    write.status, write.error = RepositoryWrite.Status.ERROR, error[:2000]
    write.save(update_fields=["status", "error", "updated_at"])
    logger.warning(
        "integrations.write.failed",
        extra={"repository": write.repository_id, "error": error[:200]},
    )
    return str(write.status)


def _excluded(repository: ConnectedRepository) -> bool:
    return _path_excluded(repository, CONFIG_PATH)


def _path_excluded(repository: ConnectedRepository, path: str) -> bool:
    patterns = (
        repository.organization.write_exclude_paths if repository.organization else []
    )
    return any(path_matches(pattern, path) for pattern in patterns or [])


def _onboarding_body(write: RepositoryWrite, skipped: list[str]) -> str:
    parts = [
        f"This adds `{CONFIG_PATH}`, CodeQuest's review settings for this "
        "repository, as they stand now: once merged, the file is their source "
        "of truth (changes on the dashboard come back as pull requests like "
        "this one). Every key is documented in CodeQuest's README.",
    ]
    if (
        SUGGESTED_CODEOWNERS in write.extra_files
        and SUGGESTED_CODEOWNERS not in skipped
    ):
        parts.append(
            "The repository has no CODEOWNERS, so this suggests one from the "
            "history CodeQuest read: who reviewed (counted twice) and who wrote "
            "the recent merged pull requests touching each directory.\n\n"
            + write.explanation
        )
    if skipped:
        parts.append(
            "Not written, as the team asks: " + ", ".join(f"`{p}`" for p in skipped)
        )
    parts.append("Close it to keep the settings on the dashboard only.")
    return "\n\n".join(parts)


def _message(repository: ConnectedRepository, now: datetime) -> str:
    template = (
        repository.organization.commit_message_template
        if repository.organization
        else ""
    ) or COMMIT_MESSAGE_DEFAULT
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return template.replace("{timestamp}", stamp)[:500]


def _pull_body(write: RepositoryWrite) -> str:
    lines = "\n".join(
        f"- `{'.'.join(FIELD_KEYS[name])}`: `{value}`"
        for name, value in sorted(write.changes.items())
    )
    who = write.requested_by.get_username() if write.requested_by else "a team admin"
    return (
        f"Review settings changed on the CodeQuest dashboard by {who}:\n\n{lines}\n\n"
        f"They take effect when this pull request is merged into "
        f"`{write.repository.default_branch}`: `{CONFIG_PATH}` there is the source "
        "of truth for the settings it names."
    )


def _run(repository: ConnectedRepository, kind: str, now: datetime) -> SyncRun:
    return SyncRun.objects.create(
        repository=repository,
        kind=kind,
        status=SyncRun.Status.RUNNING,
        trigger=SyncRun.Trigger.MANUAL,
        started_at=now,
    )


def _finish(run: SyncRun, status: str, error: str) -> None:
    run.status, run.error, run.finished_at = status, error[:2000], timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
