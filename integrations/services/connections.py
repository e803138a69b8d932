"""Connecting a repository with an access token: validate, store, hook, scan."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.credentials import credential_client, oauth_connection
from integrations.models import (
    ConnectedRepository,
    Organization,
    ProviderCredential,
    SyncRun,
)
from integrations.providers import get_provider
from integrations.providers.base import (
    ProviderError,
    RepositoryAccess,
)
from integrations.providers.hosts import api_url_check
from integrations.services.repositories import repository_upsert
from integrations.services.sync import Progress, repository_sync
from integrations.services.webhooks import (
    webhook_register,
    webhook_reregister,
    webhooks_remove,
)
from integrations.tasks import repository_sync_task

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectResult:
    repository: ConnectedRepository
    webhook_url: str | None
    pull_requests: int
    reviews: int


def repository_connect(
    *,
    provider: str,
    full_name: str,
    token: str = "",
    credential: ProviderCredential | None = None,
    api_url: str | None = None,
    register_webhook: bool = True,
    organization: Organization | None = None,
    label: str = "",
    trigger: str = SyncRun.Trigger.COMMAND,
    progress: Progress = lambda line: None,
) -> ConnectResult:
    """Connect one repository: check access, store the token encrypted (or use
    the person's own connection, ``credential``, refreshed when it expires),
    register (or update) our webhook and ping it, then import its pull requests
    (a sync run of kind ``initial``, the road every change takes). Safe to run
    again; the repository is followed from the first time it was connected."""
    adapter = get_provider(provider)
    if credential is not None:
        client = credential_client(credential)
    else:
        if api_url:  # only hosts an operator configured are ever called
            api_url = api_url_check(api_url, provider)
        client = adapter.client(token, api_url)
    access = client.repository(full_name)
    progress(f"{provider}:{access.repository.full_name}: token can read the repository")
    if register_webhook and not access.can_manage_hooks:
        raise ProviderError(
            f"the token can read {full_name} but cannot manage its webhooks: it needs "
            f"{adapter.hook_permission}; or connect with --no-webhook"
        )
    if credential is not None:
        repository = _follow(access, credential, organization)
    else:
        repository = _store(provider, access, token, api_url, organization, label)
    webhook_url = None
    if register_webhook:
        webhook_url = webhook_register(
            client=client, repository=repository, progress=progress
        )
    imported = repository_sync(
        repository=repository,
        initial=True,
        trigger=trigger,
        progress=progress,
        client=client,
    )
    return ConnectResult(
        repository, webhook_url, imported.pull_requests, imported.reviews
    )


@transaction.atomic
def _store(provider, access: RepositoryAccess, token, api_url, organization, label):
    """Follow the repository with an access token, stored encrypted (the one it
    had is updated; a person's own connection is never overwritten)."""
    repository = repository_upsert(
        snapshot=access.repository, followed_since=timezone.now()
    )
    credential = repository.credential
    if credential is None or credential.kind != ProviderCredential.Kind.ACCESS_TOKEN:
        credential = ProviderCredential(
            provider=provider, kind=ProviderCredential.Kind.ACCESS_TOKEN
        )
    credential.api_url = api_url or get_provider(provider).api_url()
    credential.label = label[:200]
    credential.organization = organization or repository.organization
    credential.status = ProviderCredential.Status.ACTIVE
    credential.last_error = ""
    credential.token = token
    credential.save()
    return _attach(repository, credential, organization)


@transaction.atomic
def _follow(
    access: RepositoryAccess,
    credential: ProviderCredential,
    organization: Organization | None,
) -> ConnectedRepository:
    """Follow the repository with a person's own connection (no token copied)."""
    repository = repository_upsert(
        snapshot=access.repository, followed_since=timezone.now()
    )
    return _attach(repository, credential, organization)


def _attach(
    repository: ConnectedRepository,
    credential: ProviderCredential,
    organization: Organization | None,
) -> ConnectedRepository:
    repository.credential = credential
    repository.organization = organization or repository.organization
    repository.is_active = True
    repository.save(
        update_fields=["credential", "organization", "is_active", "updated_at"]
    )
    return repository


def repository_disconnect(
    *, repository: ConnectedRepository, progress: Progress = lambda line: None
) -> None:
    """Remove our webhook from the provider (when the token still works) and stop
    following the repository. Stored pull requests and reviews are kept."""
    webhooks_remove(repository=repository, progress=progress)
    repository.is_active = False
    repository.webhook_status = ConnectedRepository.WebhookStatus.NONE
    repository.save(update_fields=["is_active", "webhook_status", "updated_at"])


def repository_reconnect(
    *,
    repository: ConnectedRepository,
    user: Any = None,
    progress: Progress = lambda line: None,
) -> None:
    """Follow a repository again: its hook is registered anew with its own token
    (an App installation needs none) and a sync closes the gap since. When its
    token is gone or refused, the reconnecting person's own connection to the
    provider takes over."""
    credential = repository.credential
    if credential is None or credential.status != ProviderCredential.Status.ACTIVE:
        own = (
            oauth_connection(user=user, provider=repository.provider) if user else None
        )
        if own is not None and own.api_url == credential_api_url(repository):
            repository.credential = own
            repository.save(update_fields=["credential", "updated_at"])
    if repository.credential is not None or repository.installation_id is None:
        webhook_reregister(repository=repository, progress=progress)
    repository.is_active = True
    repository.save(update_fields=["is_active", "updated_at"])
    repository_sync_request(repository=repository)


def credential_api_url(repository: ConnectedRepository) -> str:
    """The API its token must be for: the stored one's, else the provider's."""
    if repository.credential is not None:
        return repository.credential.api_url
    return get_provider(repository.provider).api_url()


def repository_sync_request(*, repository: ConnectedRepository) -> bool:
    """*Sync now*: queue a reconciliation once the caller's transaction commits.
    False (nothing queued) while one is already running."""
    running = repository.sync_runs.filter(
        kind__in=SyncRun.READ_KINDS,
        status=SyncRun.Status.RUNNING,
        started_at__gte=timezone.now() - timedelta(minutes=15),
    )
    if running.exists():
        return False
    pk = repository.pk
    transaction.on_commit(
        lambda: repository_sync_task.delay(pk, False, SyncRun.Trigger.MANUAL)
    )
    return True


def repository_import(
    *, repository_id: int, trigger: str = SyncRun.Trigger.MANUAL
) -> tuple[int, int]:
    """The initial import of a followed repository (after an App install):
    (pull requests, reviews) read."""
    repository = ConnectedRepository.objects.select_related("credential").get(
        pk=repository_id
    )
    result = repository_sync(repository=repository, initial=True, trigger=trigger)
    return result.pull_requests, result.reviews
