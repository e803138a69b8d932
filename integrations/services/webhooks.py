"""Our hooks on the providers: register, change, pause and remove them.

The provider is changed first and our row follows only when it agreed, so the
stored configuration is what the provider delivers with; a secret is never
shown to anyone, it lives encrypted on the endpoint.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.credentials import credential_client, credential_guard
from integrations.models import ConnectedRepository, ProviderCredential, WebhookEndpoint
from integrations.providers import get_provider
from integrations.providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFoundError,
    RepoClient,
)
from integrations.services.sync import Progress


class WebhookConflict(Exception):
    """The change does not fit the repository's current state (nothing changed)."""


def webhook_url(endpoint: WebhookEndpoint) -> str:
    """Where the provider delivers this hook's events (its own URL and secret)."""
    return f"{settings.PUBLIC_URL}/webhooks/{endpoint.provider}/{endpoint.public_id}/"


def hook_events_check(provider: str, events: Sequence[str]) -> list[str]:
    """The events a hook subscribes to, in the provider's order; ``[]`` means all
    we act on. Unknown names are a ValueError naming the ones allowed."""
    known = get_provider(provider).hook_events
    unknown = sorted({str(name) for name in events} - set(known))
    if unknown:
        raise ValueError(
            f"unknown {provider} events: {', '.join(unknown)}; "
            f"allowed: {', '.join(known)}"
        )
    chosen = [name for name in known if name in events]
    return [] if len(chosen) == len(known) else chosen


def webhook_register(
    *, client: RepoClient, repository: ConnectedRepository, progress: Progress
) -> str:
    """Our hook with a fresh secret, for the connect path: re-running updates the
    hook already registered (keeping its events and pause), never duplicates."""
    endpoint = repository.webhooks.filter(is_active=True).first() or _claim(
        repository, events=[], active=True
    )
    secret = secrets.token_urlsafe(32)
    hook_id = client.hook_ensure(
        repository.full_name,
        url=webhook_url(endpoint),
        secret=secret,
        events=endpoint.events,
        active=endpoint.is_enabled,
    )
    endpoint.secret = secret  # only once the provider holds it too
    endpoint.provider_hook_id = hook_id
    endpoint.save(update_fields=["secret_encrypted", "provider_hook_id", "updated_at"])
    _registered(client, repository, endpoint, progress)
    return webhook_url(endpoint)


def webhook_reregister(
    *, repository: ConnectedRepository, progress: Progress = lambda line: None
) -> str:
    """Reconnecting: register our hook again with the repository's own token (a
    fresh secret, the one already there updated, never a second one)."""
    credential = _managing_credential(repository)
    with credential_guard(credential):
        return webhook_register(
            client=credential_client(credential),
            repository=repository,
            progress=progress,
        )


def webhook_config_create(
    *,
    repository: ConnectedRepository,
    events: Sequence[str] = (),
    active: bool = True,
    progress: Progress = lambda line: None,
) -> WebhookEndpoint:
    """Register a new hook on the provider with a fresh secret.

    WebhookConflict when the repository already has one or no token of ours can
    manage its hooks; a ProviderError leaves nothing behind.
    """
    credential = _managing_credential(repository)
    endpoint = _claim(
        repository, events=hook_events_check(repository.provider, events), active=active
    )
    try:
        with credential_guard(credential):
            client = credential_client(credential)
            endpoint.provider_hook_id = client.hook_ensure(
                repository.full_name,
                url=webhook_url(endpoint),
                secret=endpoint.secret,
                events=endpoint.events,
                active=active,
            )
    except ProviderError:
        endpoint.delete()
        raise
    endpoint.save(update_fields=["provider_hook_id", "updated_at"])
    _registered(client, repository, endpoint, progress)
    return endpoint


def webhook_config_update(
    *,
    endpoint: WebhookEndpoint,
    events: Sequence[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change which events the hook sends, or pause/resume it, on the provider
    first; the row follows. Concurrent changes of one hook take turns."""
    with transaction.atomic():
        endpoint, repository = _locked(endpoint)
        wanted = (
            endpoint.events
            if events is None
            else hook_events_check(repository.provider, events)
        )
        enabled = endpoint.is_enabled if active is None else active
        if (wanted, enabled) == (endpoint.events, endpoint.is_enabled):
            return endpoint
        credential = _managing_credential(repository)
        with credential_guard(credential):
            credential_client(credential).hook_update(
                repository.full_name,
                _hook_id(endpoint),
                url=webhook_url(endpoint),
                secret=endpoint.secret,
                events=wanted,
                active=enabled,
            )
        endpoint.events, endpoint.is_enabled = wanted, enabled
        endpoint.save(update_fields=["events", "is_enabled", "updated_at"])
    return endpoint


def webhook_config_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove the hook on the provider (already gone there is fine), then retire
    it here: its URL stops accepting deliveries; received ones are kept."""
    with transaction.atomic():
        endpoint, repository = _locked(endpoint)
        if endpoint.provider_hook_id is not None:
            credential = _managing_credential(repository)
            # A hook already gone on the provider is what we wanted.
            with (
                credential_guard(credential),
                contextlib.suppress(ProviderNotFoundError),
            ):
                credential_client(credential).hook_delete(
                    repository.full_name, endpoint.provider_hook_id
                )
        _retire(endpoint)


def webhooks_remove(
    *, repository: ConnectedRepository, progress: Progress = lambda line: None
) -> None:
    """Disconnecting: remove our hooks where the token still can, retire them
    here in any case (a hook left on the provider is only reported)."""
    credential = repository.credential
    for endpoint in repository.webhooks.filter(is_active=True):
        if endpoint.provider_hook_id and credential is not None:
            try:
                with credential_guard(credential):
                    credential_client(credential).hook_delete(
                        repository.full_name, endpoint.provider_hook_id
                    )
                progress(f"webhook {endpoint.provider_hook_id} removed")
            except ProviderNotFoundError:
                progress(f"webhook {endpoint.provider_hook_id} was already gone")
            except ProviderError as exc:
                progress(f"webhook {endpoint.provider_hook_id} left in place: {exc}")
        _retire(endpoint)


def _claim(
    repository: ConnectedRepository, *, events: list[str], active: bool
) -> WebhookEndpoint:
    """The repository's one active endpoint, with a fresh secret, or a conflict."""
    endpoint = WebhookEndpoint(
        provider=repository.provider,
        repository=repository,
        events=events,
        is_enabled=active,
    )
    endpoint.secret = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError:
        raise WebhookConflict(
            f"{repository.full_name} already has a webhook; change or delete that one"
        ) from None
    return endpoint


def _registered(
    client: RepoClient,
    repository: ConnectedRepository,
    endpoint: WebhookEndpoint,
    progress: Progress,
) -> None:
    """The hook exists on the provider: await its first delivery, ask for a ping."""
    repository.webhook_status = ConnectedRepository.WebhookStatus.PENDING
    repository.save(update_fields=["webhook_status", "updated_at"])
    progress(f"webhook {endpoint.provider_hook_id} delivers to {webhook_url(endpoint)}")
    if not endpoint.is_enabled:
        progress("webhook paused: changes arrive with reconciliation until resumed")
        return
    try:
        client.hook_ping(repository.full_name, _hook_id(endpoint))
        progress("ping sent: the webhook shows as verified once it arrives")
    except ProviderAuthError:
        raise
    except ProviderError as exc:
        progress(f"ping not sent ({exc}); the first real delivery verifies the hook")


def _retire(endpoint: WebhookEndpoint) -> None:
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active", "updated_at"])
    ConnectedRepository.objects.filter(pk=endpoint.repository_id).update(
        webhook_status=ConnectedRepository.WebhookStatus.NONE,
        updated_at=timezone.now(),
    )


def _locked(
    endpoint: WebhookEndpoint,
) -> tuple[WebhookEndpoint, ConnectedRepository]:
    """The endpoint re-read under a row lock, or a conflict if it was removed."""
    found = (
        WebhookEndpoint.objects.select_for_update(of=("self",))
        .select_related("repository__credential")
        .filter(pk=endpoint.pk, is_active=True, repository__isnull=False)
        .first()
    )
    if found is None or found.repository is None:
        raise WebhookConflict("this webhook was removed meanwhile")
    return found, found.repository


def _managing_credential(repository: ConnectedRepository) -> ProviderCredential:
    if repository.credential is None:
        name = get_provider(repository.provider).name
        raise WebhookConflict(
            f"{repository.full_name} has no access token of ours to manage its "
            f"webhooks with (events of an App installation come through the "
            f"{name} App); connect it with a token first"
        )
    return repository.credential


def _hook_id(endpoint: WebhookEndpoint) -> int:
    if endpoint.provider_hook_id is None:
        raise WebhookConflict(
            "this webhook was never registered on the provider; delete it and "
            "create it again"
        )
    return endpoint.provider_hook_id
