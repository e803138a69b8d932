"""GitHub App authentication: installation tokens minted from the App's JWT,
the installations a person can access, and an installation's repositories.

https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app
Caching minted tokens is the caller's business (``services/installations.py``).
"""

from __future__ import annotations

from typing import Any

import github
from django.conf import settings

from integrations.providers.base import (
    InstallationInfo,
    MintedToken,
    ProviderError,
    RepositorySnapshot,
    host_of,
)
from integrations.providers.github.client import translated
from integrations.providers.github.shapes import repository_from

PAGE_SIZE = 100


class AppNotConfiguredError(ProviderError):
    """GITHUB_APP_ID / GITHUB_APP_PRIVATE_KEY are not set."""


class GitHubApp:
    """The App configured by ``GITHUB_APP_ID`` and ``GITHUB_APP_PRIVATE_KEY``."""

    def is_configured(self) -> bool:
        return bool(settings.GITHUB_APP_ID and settings.GITHUB_APP_PRIVATE_KEY)

    def install_url(self) -> str:
        """Where a person installs the App ("" when its slug is not configured)."""
        slug = settings.GITHUB_APP_SLUG
        return (
            f"{settings.GITHUB_WEB_URL}/apps/{slug}/installations/new" if slug else ""
        )

    def token_mint(self, installation_id: int) -> MintedToken:
        """A fresh installation access token (GitHub makes them live one hour)."""
        with translated("app_token", f"token for installation {installation_id}"):
            minted = self._integration().get_access_token(installation_id)
        return MintedToken(token=minted.token, expires_at=minted.expires_at)

    def user_installations(self, user_token: str) -> list[InstallationInfo]:
        """The App's installations the person behind ``user_token`` can access."""
        with translated("user_installations", "your GitHub App installations"):
            items = [
                item.raw_data
                for item in _client(user_token).get_user().get_installations()
            ]
        return [info for item in items if (info := _installation(item)) is not None]

    def installation_repositories(
        self, installation_token: str
    ) -> list[RepositorySnapshot]:
        """Every repository the installation behind the token was granted."""
        requester = _client(installation_token).requester
        host = host_of(settings.GITHUB_WEB_URL) or "github.com"
        snapshots: list[RepositorySnapshot] = []
        with translated("installation_repositories", "the installation's repositories"):
            page = 1
            while True:
                _, data = requester.requestJsonAndCheck(
                    "GET",
                    "/installation/repositories",
                    {"per_page": PAGE_SIZE, "page": page},
                )
                items = data.get("repositories") if isinstance(data, dict) else None
                items = items if isinstance(items, list) else []
                snapshots.extend(repository_from(item, host) for item in items)
                if len(items) < PAGE_SIZE:
                    return snapshots
                page += 1

    def _integration(self) -> github.GithubIntegration:
        if not self.is_configured():
            raise AppNotConfiguredError(
                "the GitHub App is not configured (GITHUB_APP_ID)"
            )
        auth = github.Auth.AppAuth(
            int(settings.GITHUB_APP_ID), settings.GITHUB_APP_PRIVATE_KEY
        )
        return github.GithubIntegration(auth=auth, base_url=settings.GITHUB_API_URL)


def _client(token: str) -> github.Github:
    return github.Github(
        auth=github.Auth.Token(token),
        base_url=settings.GITHUB_API_URL,
        timeout=10,
        retry=github.GithubRetry(total=3),
        seconds_between_requests=settings.GITHUB_SECONDS_BETWEEN_REQUESTS,
    )


def _installation(item: Any) -> InstallationInfo | None:
    """An installation from GET /user/installations, or None if malformed."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        return None
    account = item.get("account") if isinstance(item.get("account"), dict) else {}
    login = account.get("login") if isinstance(account, dict) else None
    return InstallationInfo(
        installation_id=item["id"],
        account_login=login if isinstance(login, str) else "",
        is_suspended=bool(item.get("suspended_at")),
    )
