"""Provider operations for a team's repository, read through the Django cache
(each answer says whether it came from there) and written straight through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from integrations.credentials import repository_client_guarded
from integrations.models import ConnectedRepository
from integrations.providers.base import (
    LabelInfo,
    RepoClient,
    RepositoryInfo,
    RepositorySettings,
)

KINDS = ("info", "pulls", "issues", "workflows")


@dataclass(frozen=True, slots=True)
class Answer:
    value: Any
    cached: bool
    fetched_at: datetime


def repository_info_get(
    *, repository: ConnectedRepository, use_cache: bool = True
) -> Answer:
    """The repository as the provider describes it (cached ``info`` seconds)."""
    return _through_cache(
        repository,
        "info",
        use_cache,
        lambda client: client.repository_info(repository.full_name),
    )


def repository_pulls_live(
    *, repository: ConnectedRepository, use_cache: bool = True
) -> Answer:
    """Its open pull requests on the provider now (cached ``pulls`` seconds)."""
    return _through_cache(
        repository,
        "pulls",
        use_cache,
        lambda client: client.pulls_open(repository.full_name),
    )


def repository_issues_live(
    *, repository: ConnectedRepository, use_cache: bool = True
) -> Answer:
    """Its open issues on the provider now (cached ``issues`` seconds)."""
    return _through_cache(
        repository,
        "issues",
        use_cache,
        lambda client: client.issues_open(repository.full_name),
    )


def repository_workflows(
    *, repository: ConnectedRepository, use_cache: bool = True
) -> Answer:
    """GitHub Actions workflows or GitLab's latest pipelines (cached
    ``workflows`` seconds)."""
    return _through_cache(
        repository,
        "workflows",
        use_cache,
        lambda client: client.workflows(repository.full_name),
    )


def repository_settings_change(
    *, repository: ConnectedRepository, changes: RepositorySettings
) -> RepositoryInfo:
    """Change the settings on the provider; the cached answers are dropped and
    the provider's new description is kept as the fresh ``info``."""
    with repository_client_guarded(repository) as client:
        info = client.repository_settings_update(repository.full_name, changes)
    repository_cache_invalidate(repository=repository)
    _store(repository, "info", info)
    return info


def label_create(
    *, repository: ConnectedRepository, name: str, color: str, description: str = ""
) -> LabelInfo:
    """A new label on the provider."""
    with repository_client_guarded(repository) as client:
        return client.label_create(
            repository.full_name, name=name, color=color, description=description
        )


def label_update(
    *, repository: ConnectedRepository, name: str, changes: dict[str, str]
) -> LabelInfo:
    """Rename, recolour or redescribe a label on the provider."""
    with repository_client_guarded(repository) as client:
        return client.label_update(repository.full_name, name, **changes)


def label_delete(*, repository: ConnectedRepository, name: str) -> None:
    """Remove a label on the provider."""
    with repository_client_guarded(repository) as client:
        client.label_delete(repository.full_name, name)


def repository_cache_invalidate(*, repository: ConnectedRepository) -> list[str]:
    """Forget every cached answer about the repository; the kinds dropped."""
    cache.delete_many([_key(repository, kind) for kind in KINDS])
    return list(KINDS)


def _through_cache(
    repository: ConnectedRepository,
    kind: str,
    use_cache: bool,
    read: Callable[[RepoClient], Any],
) -> Answer:
    if use_cache:
        hit = cache.get(_key(repository, kind))  # a cache that is down: a miss
        if isinstance(hit, dict) and "value" in hit:
            return Answer(hit["value"], True, hit["fetched_at"])
    with repository_client_guarded(repository) as client:
        value = read(client)
    return _store(repository, kind, value)


def _store(repository: ConnectedRepository, kind: str, value: Any) -> Answer:
    now = timezone.now()
    seconds = settings.CODEQUEST_PROVIDER_CACHE_SECONDS[kind]
    cache.set(_key(repository, kind), {"value": value, "fetched_at": now}, seconds)
    return Answer(value, False, now)


def _key(repository: ConnectedRepository, kind: str) -> str:
    return f"provider-ops:{repository.pk}:{kind}"
