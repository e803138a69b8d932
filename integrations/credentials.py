"""Stored credentials in use: the token to call with now (refreshed when it is
about to expire), App installation tokens, and the client a repository is read
and written with. A token the provider refuses marks its connection "needs
reconnect" at once.

Below ingest and the domain alike: ``reviews`` asks here for the client that
requests reviewers; nothing here knows about deliveries or pull requests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from integrations import crypto
from integrations.models import ConnectedRepository, ProviderCredential
from integrations.providers import get_provider
from integrations.providers.base import (
    AppAuth,
    Capability,
    ProviderAuthError,
    ProviderError,
    ProviderUnsupportedError,
    RepoClient,
)

logger = logging.getLogger(__name__)

# Refresh an expiring OAuth token this long before it runs out.
REFRESH_MARGIN = timedelta(minutes=5)
# Re-mint an App installation token this long before the provider's expiry.
TOKEN_MARGIN = timedelta(minutes=5)


class NeedsReconnect(ProviderAuthError):
    """The stored token was refused before; nobody should try it again."""


def oauth_connection(*, user: Any, provider: str) -> ProviderCredential | None:
    """The person's working "Connect GitHub/GitLab" grant."""
    return ProviderCredential.objects.filter(
        user=user,
        provider=provider,
        kind=ProviderCredential.Kind.OAUTH,
        status=ProviderCredential.Status.ACTIVE,
    ).first()


def credential_client(credential: ProviderCredential) -> RepoClient:
    """An API client for a stored token; refuses one already marked refused."""
    if credential.status == ProviderCredential.Status.NEEDS_RECONNECT:
        raise NeedsReconnect(
            f"the {credential.provider} token ({credential.label or credential.pk}) "
            "was refused; reconnect it"
        )
    token = credential_token(credential)
    return get_provider(credential.provider).client(token, credential.api_url)


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
    """Trade the refresh token for a new access token, through the provider."""
    client_id, secret = _oauth_app(credential.provider)
    grant = get_provider(credential.provider).token_refresh(
        refresh_token=credential.refresh_token,
        client_id=client_id,
        client_secret=secret,
    )
    credential.token = grant.access_token
    credential.refresh_token = grant.refresh_token or credential.refresh_token
    credential.expires_at = (
        timezone.now() + timedelta(seconds=grant.expires_in)
        if grant.expires_in
        else None
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
    """The OAuth app's id and secret, as allauth is configured with them."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get(provider, {}).get("APPS") or []
    if not apps:
        raise ProviderAuthError(
            f"no {provider} OAuth app is configured to refresh with"
        )
    return apps[0]["client_id"], apps[0]["secret"]


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
    api_url = get_provider(provider).api_url()
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


@dataclass(frozen=True, slots=True)
class Disconnected:
    found: bool  # the person had a connection to forget
    revoked: bool  # the provider confirmed the grant is gone
    reason: str = ""  # why it did not, in words without secrets


def oauth_credential_disconnect(*, user: Any, provider: str) -> Disconnected:
    """Forget a person's OAuth token for one provider, revoking the grant there
    first. The token is forgotten even when the provider does not confirm; their
    identities, points and sign-in with the provider stay."""
    credentials = list(
        ProviderCredential.objects.filter(
            user=user, provider=provider, kind=ProviderCredential.Kind.OAUTH
        )
    )
    if not credentials:
        return Disconnected(found=False, revoked=False)
    reasons = []
    for credential in credentials:
        try:
            client_id, client_secret = _oauth_app(provider)
            get_provider(provider).grant_revoke(
                token=credential.token, client_id=client_id, client_secret=client_secret
            )
        except ProviderError as exc:
            reasons.append(str(exc))
        except crypto.DecryptionError:
            reasons.append("the stored token could not be read")
    ProviderCredential.objects.filter(pk__in=[item.pk for item in credentials]).delete()
    logger.info(
        "integrations.credential.disconnected",
        extra={"user": user.pk, "provider": provider, "revoked": not reasons},
    )
    return Disconnected(found=True, revoked=not reasons, reason="; ".join(reasons))


def repository_client(repository: ConnectedRepository) -> RepoClient:
    """The client to read a repository with: its App installation, else its token."""
    adapter = get_provider(repository.provider)
    if repository.installation_id and adapter.can(Capability.INSTALLATIONS):
        token = installation_token(repository.provider, repository.installation_id)
        return adapter.client(token, None)
    if repository.credential is None:
        raise ProviderAuthError(f"{repository} has no credential to read it with")
    return credential_client(repository.credential)


@contextmanager
def repository_client_guarded(repository: ConnectedRepository) -> Iterator[RepoClient]:
    """``repository_client`` for a block of calls: a refusal of the repository's
    own token marks that connection "needs reconnect" (an App's token is the
    App's business)."""
    credential = repository.credential
    guard = (
        credential_guard(credential)
        if credential is not None and not repository.installation_id
        else nullcontext()
    )
    with guard:
        yield repository_client(repository)


def app_of(provider: str) -> AppAuth:
    """The provider's App; ProviderUnsupportedError for a provider without one."""
    app = get_provider(provider).app
    if app is None:
        raise ProviderUnsupportedError(f"{provider} has no App installations")
    return app


def _cache_key(provider: str, installation_id: int) -> str:
    api_url = get_provider(provider).api_url()
    return f"codequest:{provider}-app-token:{api_url}:{installation_id}"


def installation_token(provider: str, installation_id: int) -> str:
    """An installation access token, from the cache while it has > 5 minutes left.

    The cached value is encrypted: a cache server is not a place for secrets.
    """
    key = _cache_key(provider, installation_id)
    purpose = f"{provider}-app-token:{installation_id}"
    sealed = cache.get(key)
    if sealed:
        try:
            return crypto.decrypt(sealed, purpose=purpose)
        except crypto.DecryptionError:
            cache.delete(key)
    minted = app_of(provider).token_mint(installation_id)
    lifetime = (minted.expires_at - timezone.now() - TOKEN_MARGIN).total_seconds()
    if lifetime > 0:
        cache.set(key, crypto.encrypt(minted.token, purpose=purpose), int(lifetime))
    logger.info(
        "integrations.app.token_minted",
        extra={
            "provider": provider,
            "installation": installation_id,
            "cached_seconds": max(0, int(lifetime)),
        },
    )
    return minted.token


def installation_token_forget(provider: str, installation_id: int) -> None:
    cache.delete(_cache_key(provider, installation_id))
