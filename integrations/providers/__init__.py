"""Provider registry: an explicit dict, no import-time discovery."""

from __future__ import annotations

from integrations.providers.base import Provider
from integrations.providers.github import GitHubProvider
from integrations.providers.gitlab import GitLabProvider

PROVIDERS: dict[str, Provider] = {
    "github": GitHubProvider(),
    "gitlab": GitLabProvider(),
}


def get_provider(slug: str) -> Provider:
    """The adapter for ``slug``; KeyError for a provider we do not support."""
    return PROVIDERS[slug]
