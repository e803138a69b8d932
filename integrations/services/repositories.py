"""Repositories: find or create them from events, keep App installations current."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.credentials import installation_token_forget
from integrations.models import AppInstallation, ConnectedRepository, WebhookEndpoint
from integrations.providers import get_provider
from integrations.providers.base import (
    InstallationSnapshot,
    NormalizedEvent,
    PayloadError,
    RepositorySnapshot,
    host_of,
)


class NotThroughItsHook(Exception):
    """The payload names a repository that takes changes only through its own hook.

    Raised before anything is written: an instance-secret delivery (or one from
    another hook) is stored for the audit log and ignored, so whoever holds a
    shared secret cannot write into a repository that registered its own hook.
    """


def repository_for_event(
    event: NormalizedEvent,
    hook: WebhookEndpoint | None,
    known: dict[tuple[Any, ...], ConnectedRepository] | None = None,
) -> ConnectedRepository | None:
    """The repository an event belongs to: the hook's, else found or created.

    ``known`` keeps what earlier events of the same transaction found (a batch
    of deliveries for a few repositories looks each one up once).
    """
    if hook is not None and hook.repository_id is not None:
        repository = hook.repository
        if repository is not None and event.repository is not None:
            _refresh(repository, event.repository)
        return repository
    if event.repository is None:
        return None
    keys = _repository_keys(event.repository)
    cache_key = (*sorted(keys.items()), hook.pk if hook is not None else None)
    if known is not None and (found := known.get(cache_key)) is not None:
        _refresh(found, event.repository, is_active=True)
        return found
    repository = _repository_resolve(event.repository, event.occurred_at, hook, keys)
    if known is not None:
        known[cache_key] = repository
    return repository


def _repository_resolve(
    snapshot: RepositorySnapshot,
    occurred_at: datetime,
    hook: WebhookEndpoint | None,
    keys: dict[str, object],
) -> ConnectedRepository:
    existing = ConnectedRepository.objects.filter(**keys).first()
    if existing is not None and _has_own_hook(existing, besides=hook):
        raise NotThroughItsHook(
            f"{existing.full_name} has its own webhook; "
            "deliveries for it are applied only through that hook"
        )
    if existing is not None:
        _refresh(existing, snapshot, is_active=True)
        repository = existing
    else:
        # Created by a live delivery: the work it carries is the first we
        # follow (a moment from the provider's clock, like the work's own).
        repository = repository_upsert(
            snapshot=snapshot, followed_since=min(occurred_at, timezone.now())
        )
    if hook is not None:
        hook.repository = repository
        hook.save(update_fields=["repository", "updated_at"])
    return repository


def repository_upsert(
    *,
    snapshot: RepositorySnapshot,
    installation_id: int | None = None,
    followed_since: datetime | None = None,
) -> ConnectedRepository:
    """Find a repository by the provider's id (renames keep it), else create it,
    followed from ``followed_since`` (default now). A repository connected again
    keeps the moment it was first followed."""
    keys = _repository_keys(snapshot)
    repository = ConnectedRepository.objects.filter(**keys).first()
    if repository is None:
        if snapshot.external_id is None:
            raise PayloadError("payload names an unknown repository without its id")
        try:
            with transaction.atomic():
                repository = ConnectedRepository.objects.create(
                    **keys,
                    full_name=snapshot.full_name,
                    default_branch=snapshot.default_branch or "",
                    web_url=snapshot.web_url[:1000],
                    is_private=snapshot.is_private,
                    installation_id=installation_id,
                    followed_since=followed_since or timezone.now(),
                )
            return repository
        except IntegrityError:
            repository = ConnectedRepository.objects.get(**keys)
    _refresh(repository, snapshot, installation_id=installation_id, is_active=True)
    return repository


def _repository_keys(snapshot: RepositorySnapshot) -> dict[str, object]:
    keys: dict[str, object] = {"provider": snapshot.provider, "host": snapshot.host}
    if snapshot.external_id is not None:
        keys["external_id"] = snapshot.external_id
    else:
        keys["full_name"] = snapshot.full_name
    return keys


def _has_own_hook(
    repository: ConnectedRepository, *, besides: WebhookEndpoint | None
) -> bool:
    hooks = WebhookEndpoint.objects.filter(repository=repository, is_active=True)
    if besides is not None:
        hooks = hooks.exclude(pk=besides.pk)
    return hooks.exists()


def _refresh(
    repository: ConnectedRepository,
    snapshot: RepositorySnapshot,
    *,
    installation_id: int | None = None,
    is_active: bool | None = None,
) -> None:
    """Follow renames and default-branch changes; write only when something moved."""
    if snapshot.external_id not in (None, repository.external_id):
        return  # the hook's repository was replaced; do not rename it after another
    wanted = {
        "full_name": snapshot.full_name,
        "default_branch": snapshot.default_branch,
        "web_url": snapshot.web_url[:1000] or None,
        "is_private": snapshot.is_private,
        "installation_id": installation_id,
        "is_active": is_active,
    }
    changed = [
        field
        for field, value in wanted.items()
        if value is not None and getattr(repository, field) != value
    ]
    for field in changed:
        setattr(repository, field, wanted[field])
    if changed:
        repository.save(update_fields=[*changed, "updated_at"])


def repository_touch(repository: ConnectedRepository) -> None:
    """Record activity at most once a minute per repository (a hot row otherwise);
    no query at all when the row just read says it was recorded this minute."""
    now = timezone.now()
    recent = now - timedelta(minutes=1)
    if repository.last_event_at is not None and repository.last_event_at > recent:
        return
    ConnectedRepository.objects.filter(pk=repository.pk).exclude(
        last_event_at__gt=recent
    ).update(last_event_at=now)
    repository.last_event_at = now


def installation_apply(
    *,
    provider: str,
    snapshot: InstallationSnapshot,
    occurred_at: datetime | None = None,
) -> None:
    """Keep an App installation and its repository list current; repositories
    it adds are followed from the moment they were granted."""
    host = next(
        (repo.host for repo in (*snapshot.added, *snapshot.removed)), None
    ) or _default_host(provider)
    installation, _ = AppInstallation.objects.update_or_create(
        provider=provider,
        host=host,
        installation_id=snapshot.installation_id,
        defaults={
            "account_login": snapshot.account_login,
            "is_active": snapshot.action != "deleted",
            "is_suspended": snapshot.action == "suspend",
        },
    )
    kept = [
        repository_upsert(
            snapshot=repo,
            installation_id=snapshot.installation_id,
            followed_since=min(occurred_at or timezone.now(), timezone.now()),
        ).pk
        for repo in snapshot.added
    ]
    mine = ConnectedRepository.objects.filter(
        installation_id=snapshot.installation_id, provider=provider
    )
    if snapshot.action == "deleted":
        mine.update(is_active=False)
        installation_token_forget(provider, snapshot.installation_id)
    elif snapshot.replaces_all:
        mine.exclude(pk__in=kept).update(is_active=False)
    removed_ids = [repo.external_id for repo in snapshot.removed]
    if removed_ids:
        mine.filter(external_id__in=removed_ids).update(is_active=False)


def _default_host(provider: str) -> str:
    return host_of(get_provider(provider).web_url())


def repositories_assign(*, repository_ids: list[int], organization: Any) -> int:
    """Give repositories to a team; their pull requests, reviews, hooks and ledger
    lines hang off the repository, so they move with it. How many moved."""
    return ConnectedRepository.objects.filter(pk__in=repository_ids).update(
        organization=organization, updated_at=timezone.now()
    )
