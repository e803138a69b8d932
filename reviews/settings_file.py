"""Bring a repository's review settings in line with its ``.codequest.yml``.

Read on the default branch at connect, on a push that touches the file or a
CODEOWNERS location (on the priority queue), and by reconciliation when the
last reading is older than an hour, so a lost push webhook is caught too.
A valid file sets the fields it names; an invalid one leaves the last valid
settings in force and says why (repository page, one comment on the pull
request that brought it, when we know it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integrations.models import ConnectedRepository
from integrations.providers import get_provider
from integrations.providers.base import (
    PayloadError,
    ProviderError,
    ProviderTemporaryError,
    RepoClient,
)
from reviews.codeowners import find_file, locations
from reviews.config_file import (
    CONFIG_PATH,
    ConfigFileError,
    settings_parse,
    text_digest,
)
from reviews.models import FileStatus, PullRequest, RepositoryReviewSettings

logger = logging.getLogger(__name__)

COMMENT_MARKER = "<!-- codequest:settings-file -->"


@dataclass(frozen=True)
class SettingsFileResult:
    status: str
    error: str = ""
    changed_fields: tuple[str, ...] = ()  # fields the file changed now


def settings_file_paths(provider: str) -> tuple[str, ...]:
    """The paths whose change means the settings must be read again."""
    return (CONFIG_PATH, *locations(get_provider(provider).codeowners_dialect))


def settings_file_read(
    *, repository: ConnectedRepository, client: RepoClient, commit: str = ""
) -> SettingsFileResult:
    """Read ``.codequest.yml`` (and find CODEOWNERS) on the default branch and
    apply it. ``commit``: the pushed commit that changed it, for the comment.

    A provider failure leaves the settings as they were (status "unreadable"
    for a refusal; a transient failure propagates so the task retries)."""
    ref = repository.default_branch or "HEAD"
    dialect = get_provider(repository.provider).codeowners_dialect
    try:
        text = client.file_read(repository.full_name, CONFIG_PATH, ref)
        found = find_file(
            lambda path: client.file_read(repository.full_name, path, ref), dialect
        )
    except ProviderError as exc:
        if isinstance(exc, ProviderTemporaryError):
            raise
        return settings_file_unreadable(repository=repository, error=str(exc))
    return _apply(repository, text, found[0] if found else "", commit, client)


@transaction.atomic
def _apply(
    repository: ConnectedRepository,
    text: str | None,
    codeowners_path: str,
    commit: str,
    client: RepoClient,
) -> SettingsFileResult:
    row = _locked(repository)
    row.file_checked_at = timezone.now()
    row.codeowners_path = codeowners_path
    changed: list[str] = []
    if text is None:
        row.file_status, row.file_error, row.file_digest = FileStatus.ABSENT, "", ""
        row.file_values = {}
    else:
        try:
            parsed = settings_parse(text)
            _team_check(repository, parsed.team)
        except ConfigFileError as exc:
            found = exc.problems
            problems = "; ".join(found)[:2000]
            digest = text_digest(text)
            is_new_problem = row.file_digest != digest or row.file_status != "invalid"
            row.file_status, row.file_error, row.file_digest = (
                FileStatus.INVALID,
                problems,
                digest,
            )
            row.save()
            if is_new_problem and commit:
                transaction.on_commit(
                    lambda: _comment_once(repository, commit, found, client)
                )
            return SettingsFileResult(FileStatus.INVALID, problems)
        for name, value in parsed.values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed.append(name)
        row.file_values = parsed.values
        row.file_status, row.file_error = FileStatus.VALID, ""
        row.file_digest = parsed.digest
    row.save()
    logger.info(
        "reviews.settings_file.read",
        extra={
            "repository": repository.pk,
            "status": row.file_status,
            "changed": ",".join(changed),
        },
    )
    return SettingsFileResult(str(row.file_status), "", tuple(changed))


def _locked(repository: ConnectedRepository) -> RepositoryReviewSettings:
    RepositoryReviewSettings.objects.get_or_create(repository=repository)
    return RepositoryReviewSettings.objects.select_for_update().get(
        repository=repository
    )


def _team_check(repository: ConnectedRepository, team: str) -> None:
    """``team`` is a check that the file sits in the right team's repository,
    never a way to move it (anyone who can push could otherwise hand the
    repository to another team)."""
    owner = repository.organization.slug if repository.organization_id else ""
    if team and team != owner:
        raise ConfigFileError(
            [f"team: {team!r} does not own this repository (its team is {owner!r})"]
        )


@transaction.atomic
def settings_file_unreadable(
    *, repository: ConnectedRepository, error: str
) -> SettingsFileResult:
    """The file could not be read (a refused token, say): the settings stay."""
    row = _locked(repository)
    row.file_checked_at = timezone.now()
    row.file_status, row.file_error = FileStatus.UNREADABLE, error[:2000]
    row.save(update_fields=["file_checked_at", "file_status", "file_error"])
    return SettingsFileResult(FileStatus.UNREADABLE, error)


def _comment_once(
    repository: ConnectedRepository,
    commit: str,
    problems: list[str],
    client: RepoClient,
) -> None:
    """One comment on the merged pull request whose merge is ``commit``."""
    pull = (
        PullRequest.objects.filter(repository=repository, merge_commit_sha=commit)
        .only("number")
        .first()
    )
    if pull is None:
        return
    lines = "\n".join(f"- {problem}" for problem in problems[:20])
    body = (
        f"{COMMENT_MARKER}\n**CodeQuest could not use `.codequest.yml`** from this "
        f"merge:\n\n{lines}\n\nThe last valid review settings stay in force until "
        "the file is fixed on the default branch."
    )
    try:
        client.comment_create(repository.full_name, pull.number, body)
    except (ProviderError, PayloadError) as exc:
        logger.warning(
            "reviews.settings_file.comment_failed",
            extra={"repository": repository.pk, "error": str(exc)[:200]},
        )
