"""GitLab (gitlab.com and self-managed): everything CodeQuest knows of it."""

from integrations.providers.gitlab.provider import GitLabProvider, verify_signature

__all__ = ["GitLabProvider", "verify_signature"]
