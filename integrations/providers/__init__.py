"""Provider registry: an explicit dict, no import-time discovery.

Adding a provider: its package under ``integrations/providers/<slug>/``, one
line here, and the choices migration ``makemigrations`` then writes.
"""

from __future__ import annotations

from integrations.providers.base import Capability, Provider
from integrations.providers.github import GitHubProvider
from integrations.providers.gitlab import GitLabProvider

PROVIDERS: dict[str, Provider] = {
    "github": GitHubProvider(),
    "gitlab": GitLabProvider(),
}


def get_provider(slug: str) -> Provider:
    """The adapter for ``slug``; KeyError for a provider we do not support."""
    return PROVIDERS[slug]


def provider_choices() -> list[tuple[str, str]]:
    """(slug, name) of every provider, for model and form choices."""
    return [(slug, provider.name) for slug, provider in PROVIDERS.items()]


def provider_slugs() -> tuple[str, ...]:
    return tuple(PROVIDERS)


def slugs_that_can(capability: Capability) -> tuple[str, ...]:
    """Providers with a capability (for a query over many repositories)."""
    return tuple(slug for slug, p in PROVIDERS.items() if p.can(capability))
