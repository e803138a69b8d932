"""GitHub (github.com and Enterprise Server): everything CodeQuest knows of it."""

from integrations.providers.github.provider import GitHubProvider

__all__ = ["GitHubProvider"]
