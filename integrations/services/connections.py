"""Connecting a repository with an access token: validate, store, hook, scan."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    Organization,
    ProviderCredential,
    WebhookEndpoint,
)
from integrations.providers import get_provider
from integrations.providers.base import (
    EventKind,
    NormalizedEvent,
    ProviderAuthError,
    ProviderError,
    ProviderTemporaryError,
    RepoClient,
    RepositoryAccess,
)
from integrations.providers.hosts import api_url_check
from integrations.services.repositories import repository_upsert

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

# What a token needs to register our webhook, per provider (the error names it).
HOOK_PERMISSION = {
    "github": "admin access to the repository (classic token scope admin:repo_hook, "
    "or fine-grained 'Webhooks: read and write')",
    "gitlab": "the Maintainer role on the project (token scope api)",
}


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
    token: str,
    api_url: str | None = None,
    register_webhook: bool = True,
    organization: Organization | None = None,
    label: str = "",
    progress: Progress = lambda line: None,
) -> ConnectResult:
    """Connect one repository: check access, store the token encrypted, register
    (or update) our webhook and ping it, then import its pull requests through
    the same apply path as webhooks. Safe to run again."""
    adapter = get_provider(provider)
    if api_url:  # only hosts an operator configured are ever called
        api_url = api_url_check(api_url, provider)
    client = adapter.client(token, api_url)
    access = client.repository(full_name)
    progress(f"{provider}:{access.repository.full_name}: token can read the repository")
    if register_webhook and not access.can_manage_hooks:
        raise ProviderError(
            f"the token can read {full_name} but cannot manage its webhooks: it needs "
            f"{HOOK_PERMISSION[provider]}; or connect with --no-webhook"
        )
    repository = _store(provider, access, token, api_url, organization, label)
    webhook_url = None
    if register_webhook:
        webhook_url = _register_webhook(client, repository, progress)
    counts = pull_requests_import(
        client=client, repository=repository, progress=progress
    )
    return ConnectResult(repository, webhook_url, *counts)


@transaction.atomic
def _store(provider, access: RepositoryAccess, token, api_url, organization, label):
    base_url = api_url or (
        settings.GITHUB_API_URL if provider == "github" else settings.GITLAB_URL
    )
    repository = repository_upsert(snapshot=access.repository)
    credential = repository.credential or ProviderCredential(
        provider=provider, kind=ProviderCredential.Kind.ACCESS_TOKEN
    )
    credential.api_url = base_url
    credential.label = label[:200]
    credential.organization = organization or repository.organization
    credential.status = ProviderCredential.Status.ACTIVE
    credential.last_error = ""
    credential.token = token
    credential.save()
    repository.credential = credential
    repository.organization = organization or repository.organization
    repository.is_active = True
    repository.save(
        update_fields=["credential", "organization", "is_active", "updated_at"]
    )
    return repository


def _register_webhook(
    client: RepoClient, repository: ConnectedRepository, progress: Progress
) -> str:
    """Our hook with its own fresh secret; re-running updates, never duplicates."""
    endpoint = repository.webhooks.filter(is_active=True).first()
    if endpoint is None:
        endpoint = WebhookEndpoint(provider=repository.provider, repository=repository)
    endpoint.secret = secrets.token_urlsafe(32)
    endpoint.save()
    url = f"{settings.PUBLIC_URL}/webhooks/{repository.provider}/{endpoint.public_id}/"
    hook_id = client.hook_ensure(repository.full_name, url=url, secret=endpoint.secret)
    endpoint.provider_hook_id = hook_id
    endpoint.save(update_fields=["provider_hook_id", "updated_at"])
    repository.webhook_status = ConnectedRepository.WebhookStatus.PENDING
    repository.save(update_fields=["webhook_status", "updated_at"])
    progress(f"webhook {hook_id} delivers to {url}")
    try:
        client.hook_ping(repository.full_name, hook_id)
        progress("ping sent: the webhook shows as verified once it arrives")
    except ProviderAuthError:
        raise
    except ProviderError as exc:
        progress(f"ping not sent ({exc}); the first real delivery verifies the hook")
    return url


def pull_requests_import(
    *, client: RepoClient, repository: ConnectedRepository, progress: Progress
) -> tuple[int, int]:
    """Apply open pull requests and those updated in the scan window, with reviews."""
    from reviews.services import event_apply

    days = settings.CODEQUEST_INITIAL_SCAN_DAYS
    since = timezone.now() - timedelta(days=days)
    pulls = reviews = 0
    for pull, pull_reviews in client.pull_requests(
        repository.full_name, updated_since=since
    ):
        event = NormalizedEvent(
            kind=EventKind.PR_UPDATED,
            provider=repository.provider,
            occurred_at=pull.updated_at or timezone.now(),
            pull_request=pull,
        )
        event_apply(event=event, repository=repository)
        for review in pull_reviews:
            reviewed = replace(event, kind=EventKind.REVIEW_SUBMITTED, review=review)
            event_apply(event=reviewed, repository=repository)
        pulls += 1
        reviews += len(pull_reviews)
        progress(f"#{pull.number} {pull.state}: {len(pull_reviews)} reviews")
    repository.last_synced_at = timezone.now()
    repository.save(update_fields=["last_synced_at", "updated_at"])
    progress(f"imported {pulls} pull requests and {reviews} reviews (last {days} days)")
    return pulls, reviews


class NeedsReconnect(ProviderAuthError):
    """The stored token was refused before; nobody should try it again."""


def credential_client(credential: ProviderCredential) -> RepoClient:
    """An API client for a stored token; refuses one already marked refused."""
    if credential.status == ProviderCredential.Status.NEEDS_RECONNECT:
        raise NeedsReconnect(
            f"the {credential.provider} token ({credential.label or credential.pk}) "
            "was refused; reconnect it"
        )
    token = credential_token(credential)
    return get_provider(credential.provider).client(token, credential.api_url)


# Refresh an expiring OAuth token this long before it runs out.
REFRESH_MARGIN = timedelta(minutes=5)


def credential_token(credential: ProviderCredential) -> str:
    """The token to use now, refreshed first when it is about to expire."""
    if _expiring(credential):
        # The mark is made after the transaction, so a rollback cannot undo it.
        with credential_guard(credential), transaction.atomic():
            locked = ProviderCredential.objects.select_for_update().get(
                pk=credential.pk
            )
            # Another worker may have refreshed it while we waited for the
            # lock; refresh tokens are single-use, never spend one twice.
            if _expiring(locked):
                _refresh(locked)
        credential.refresh_from_db()
    return credential.token


def _expiring(credential: ProviderCredential) -> bool:
    return bool(
        credential.expires_at
        and credential.refresh_token_encrypted
        and credential.expires_at - timezone.now() < REFRESH_MARGIN
    )


def _refresh(credential: ProviderCredential) -> None:
    """Trade the refresh token for a new access token (GitHub and GitLab OAuth)."""
    if credential.provider == "github":
        url = f"{settings.GITHUB_WEB_URL}/login/oauth/access_token"
        extra = {}
    else:
        url = f"{settings.GITLAB_URL}/oauth/token"
        extra = {
            "redirect_uri": f"{settings.PUBLIC_URL}/accounts/gitlab/login/callback/"
        }
    client_id, secret = _oauth_app(credential.provider)
    form = {
        "client_id": client_id,
        "client_secret": secret,
        "grant_type": "refresh_token",
        "refresh_token": credential.refresh_token,
        **extra,
    }
    try:
        response = requests.post(
            url, data=form, headers={"Accept": "application/json"}, timeout=10
        )
    except requests.RequestException as exc:
        raise ProviderTemporaryError(
            f"refreshing the {credential.provider} token: {exc.__class__.__name__}"
        ) from None
    data = _json_or_empty(response)
    if response.status_code >= 500:
        raise ProviderTemporaryError(
            f"refreshing the {credential.provider} token: HTTP {response.status_code}"
        )
    if response.status_code != 200 or "access_token" not in data:
        reason = data.get("error") or f"HTTP {response.status_code}"
        raise ProviderAuthError(
            f"{credential.provider} refused to refresh the token ({reason})"
        )
    credential.token = data["access_token"]
    credential.refresh_token = data.get("refresh_token") or credential.refresh_token
    expires_in = data.get("expires_in")
    credential.expires_at = (
        timezone.now() + timedelta(seconds=int(expires_in)) if expires_in else None
    )
    credential.save(
        update_fields=[
            "token_encrypted",
            "refresh_token_encrypted",
            "expires_at",
            "updated_at",
        ]
    )
    logger.info(
        "integrations.credential.refreshed",
        extra={"credential": credential.pk, "provider": credential.provider},
    )


def _oauth_app(provider: str) -> tuple[str, str]:
    apps = settings.SOCIALACCOUNT_PROVIDERS[provider].get("APPS") or []
    if not apps:
        raise ProviderAuthError(
            f"no {provider} OAuth app is configured to refresh with"
        )
    return apps[0]["client_id"], apps[0]["secret"]


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def credential_guard(credential: ProviderCredential) -> Iterator[None]:
    """Mark a credential "needs reconnect" the moment the provider refuses it."""
    try:
        yield
    except NeedsReconnect:
        raise
    except ProviderAuthError as exc:
        ProviderCredential.objects.filter(pk=credential.pk).update(
            status=ProviderCredential.Status.NEEDS_RECONNECT,
            last_error=str(exc)[:2000],
            updated_at=timezone.now(),
        )
        credential.status = ProviderCredential.Status.NEEDS_RECONNECT
        logger.warning(
            "integrations.credential.refused",
            extra={"credential": credential.pk, "provider": credential.provider},
        )
        raise


def repository_disconnect(
    *, repository: ConnectedRepository, progress: Progress = lambda line: None
) -> None:
    """Remove our webhook from the provider (when the token still works) and stop
    following the repository. Stored pull requests and reviews are kept."""
    endpoints = list(repository.webhooks.filter(is_active=True))
    credential = repository.credential
    for endpoint in endpoints:
        if endpoint.provider_hook_id and credential is not None:
            try:
                with credential_guard(credential):
                    credential_client(credential).hook_delete(
                        repository.full_name, endpoint.provider_hook_id
                    )
                progress(f"webhook {endpoint.provider_hook_id} removed")
            except ProviderError as exc:
                progress(f"webhook {endpoint.provider_hook_id} left in place: {exc}")
        endpoint.is_active = False
        endpoint.save(update_fields=["is_active", "updated_at"])
    repository.is_active = False
    repository.webhook_status = ConnectedRepository.WebhookStatus.NONE
    repository.save(update_fields=["is_active", "webhook_status", "updated_at"])


def oauth_credential_store(
    *,
    user: Any,
    provider: str,
    account_login: str,
    token: str,
    refresh_token: str = "",
    expires_at: datetime | None = None,
) -> ProviderCredential:
    """Keep (or replace) a person's OAuth grant for one provider, encrypted."""
    api_url = settings.GITHUB_API_URL if provider == "github" else settings.GITLAB_URL
    credential = ProviderCredential.objects.filter(
        user=user,
        provider=provider,
        api_url=api_url,
        kind=ProviderCredential.Kind.OAUTH,
    ).first() or ProviderCredential(
        user=user,
        provider=provider,
        api_url=api_url,
        kind=ProviderCredential.Kind.OAUTH,
    )
    credential.account_login = account_login[:255]
    credential.label = f"OAuth @{account_login}"[:200]
    credential.token = token
    credential.refresh_token = refresh_token
    credential.expires_at = expires_at
    credential.status = ProviderCredential.Status.ACTIVE
    credential.last_error = ""
    credential.save()
    return credential


def repository_client(repository: ConnectedRepository) -> RepoClient:
    """The client to read a repository with: its App installation, else its token."""
    if repository.provider == "github" and repository.installation_id:
        from integrations.services.github_app import installation_token

        token = installation_token(repository.installation_id)
        return get_provider("github").client(token, None)
    if repository.credential is None:
        raise ProviderAuthError(f"{repository} has no credential to read it with")
    return credential_client(repository.credential)


def repository_import(*, repository_id: int) -> tuple[int, int]:
    """Import a followed repository's pull requests (used after an App install)."""
    repository = ConnectedRepository.objects.select_related("credential").get(
        pk=repository_id
    )
    credential = repository.credential
    with credential_guard(credential) if credential else nullcontext():
        return pull_requests_import(
            client=repository_client(repository),
            repository=repository,
            progress=lambda line: None,
        )
