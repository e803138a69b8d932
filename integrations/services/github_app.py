"""GitHub App: installation tokens (minted from a JWT, cached) and installs.

https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import github
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from integrations import crypto
from integrations.models import AppInstallation, ConnectedRepository, ProviderCredential
from integrations.providers.base import ProviderAuthError, ProviderError
from integrations.providers.github import _repository_from
from integrations.providers.github_client import _translated
from integrations.services.repositories import repository_upsert

logger = logging.getLogger(__name__)

# Re-mint this long before GitHub's expiry (tokens live one hour).
TOKEN_MARGIN = timedelta(minutes=5)


class AppNotConfigured(ProviderError):
    """GITHUB_APP_ID / GITHUB_APP_PRIVATE_KEY are not set."""


@dataclass(frozen=True, slots=True)
class LinkedInstallation:
    installation: AppInstallation
    repositories: list[ConnectedRepository]


def _integration() -> github.GithubIntegration:
    if not settings.GITHUB_APP_ID or not settings.GITHUB_APP_PRIVATE_KEY:
        raise AppNotConfigured("the GitHub App is not configured (GITHUB_APP_ID)")
    auth = github.Auth.AppAuth(
        int(settings.GITHUB_APP_ID), settings.GITHUB_APP_PRIVATE_KEY
    )
    return github.GithubIntegration(auth=auth, base_url=settings.GITHUB_API_URL)


def _cache_key(installation_id: int) -> str:
    return f"codequest:github-app-token:{settings.GITHUB_API_URL}:{installation_id}"


def installation_token(installation_id: int) -> str:
    """An installation access token, from the cache while it has > 5 minutes left.

    The cached value is encrypted: a cache server is not a place for secrets.
    """
    purpose = f"github-app-token:{installation_id}"
    sealed = cache.get(_cache_key(installation_id))
    if sealed:
        try:
            return crypto.decrypt(sealed, purpose=purpose)
        except crypto.DecryptionError:
            cache.delete(_cache_key(installation_id))
    with _translated("app_token", f"token for installation {installation_id}"):
        minted = _integration().get_access_token(installation_id)
    lifetime = (minted.expires_at - timezone.now() - TOKEN_MARGIN).total_seconds()
    if lifetime > 0:
        sealed = crypto.encrypt(minted.token, purpose=purpose)
        cache.set(_cache_key(installation_id), sealed, timeout=int(lifetime))
    logger.info(
        "integrations.github_app.token_minted",
        extra={
            "installation": installation_id,
            "cached_seconds": max(0, int(lifetime)),
        },
    )
    return minted.token


def installation_token_forget(installation_id: int) -> None:
    cache.delete(_cache_key(installation_id))


def user_installations(credential: ProviderCredential) -> list[dict[str, Any]]:
    """The App's installations this person can access (needs their user token,
    refreshed first when it is about to expire, like every other use of it; a
    token GitHub refuses marks the connection "needs reconnect")."""
    from integrations.services.connections import credential_guard, credential_token

    with credential_guard(credential):
        token = credential_token(credential)
        return _installations_with(token)


def _installations_with(token: str) -> list[dict[str, Any]]:
    client = github.Github(
        auth=github.Auth.Token(token),
        base_url=settings.GITHUB_API_URL,
        timeout=10,
        retry=github.GithubRetry(total=3),
        seconds_between_requests=settings.GITHUB_SECONDS_BETWEEN_REQUESTS,
    )
    with _translated("user_installations", "your GitHub App installations"):
        return [item.raw_data for item in client.get_user().get_installations()]


def installation_link(*, user: Any, installation_id: int) -> LinkedInstallation:
    """After "Install": check the installation is the person's, then follow its
    repositories. Nothing is stored for an installation they cannot access."""
    credential = ProviderCredential.objects.filter(
        user=user, provider="github", kind=ProviderCredential.Kind.OAUTH
    ).first()
    if credential is None:
        raise ProviderAuthError("connect GitHub first, then install the app again")
    mine = {item["id"]: item for item in user_installations(credential)}
    if installation_id not in mine:
        raise ProviderError("that installation does not belong to your GitHub account")
    account = mine[installation_id].get("account") or {}
    organization = user.organizations.first()
    installation, _ = AppInstallation.objects.update_or_create(
        provider="github",
        host=_host(),
        installation_id=installation_id,
        defaults={
            "account_login": account.get("login", ""),
            "organization": organization,
            "linked_by": user,
            "is_active": True,
            "is_suspended": bool(mine[installation_id].get("suspended_at")),
        },
    )
    repositories = [
        repository_upsert(snapshot=snapshot, installation_id=installation_id)
        for snapshot in _installation_repositories(installation_id)
    ]
    ConnectedRepository.objects.filter(
        pk__in=[repo.pk for repo in repositories], organization__isnull=True
    ).update(organization=organization)
    _schedule_imports([repo.pk for repo in repositories])
    return LinkedInstallation(installation, repositories)


def _schedule_imports(repository_ids: list[int]) -> None:
    """Import each repository's pull requests in the background, after commit."""
    from django.db import transaction

    from integrations.tasks import repository_import_task

    for pk in repository_ids:
        transaction.on_commit(lambda pk=pk: repository_import_task.delay(pk))


def _installation_repositories(installation_id: int):
    token = installation_token(installation_id)
    client = github.Github(
        auth=github.Auth.Token(token),
        base_url=settings.GITHUB_API_URL,
        timeout=10,
        seconds_between_requests=settings.GITHUB_SECONDS_BETWEEN_REQUESTS,
    )
    host = _host()
    snapshots = []
    with _translated(
        "installation_repositories", f"repositories of installation {installation_id}"
    ):
        page = 1
        while True:
            _, data = client.requester.requestJsonAndCheck(
                "GET", "/installation/repositories", {"per_page": 100, "page": page}
            )
            items = data.get("repositories") or []
            snapshots.extend(_repository_from(item, host) for item in items)
            if len(items) < 100:
                return snapshots
            page += 1


def _host() -> str:
    from urllib.parse import urlsplit

    return urlsplit(settings.GITHUB_WEB_URL).hostname or "github.com"
