"""App installations: tokens (minted by the provider's App, cached encrypted)
and linking an installation a person just made to their team.

Providers with ``Capability.INSTALLATIONS`` (GitHub Apps) have ``provider.app``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.credentials import (
    app_of,
    credential_guard,
    credential_token,
    installation_token,
)
from integrations.models import AppInstallation, ConnectedRepository, ProviderCredential
from integrations.providers import get_provider
from integrations.providers.base import (
    ProviderAuthError,
    ProviderError,
    host_of,
)
from integrations.services.repositories import repository_upsert
from integrations.tasks import repository_import_task

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LinkedInstallation:
    installation: AppInstallation
    repositories: list[ConnectedRepository]


def installation_link(
    *, user: Any, provider: str, installation_id: int
) -> LinkedInstallation:
    """After "Install": check the installation is the person's, then follow its
    repositories. Nothing is stored for an installation they cannot access.

    The person's own token is used (refreshed first when it is about to expire,
    like every other use of it); a token the provider refuses marks the
    connection "needs reconnect"."""
    adapter = get_provider(provider)
    app = app_of(provider)
    credential = ProviderCredential.objects.filter(
        user=user, provider=provider, kind=ProviderCredential.Kind.OAUTH
    ).first()
    if credential is None:
        raise ProviderAuthError(
            f"connect {adapter.name} first, then install the app again"
        )
    with credential_guard(credential):
        mine = {
            item.installation_id: item
            for item in app.user_installations(credential_token(credential))
        }
    if installation_id not in mine:
        raise ProviderError(
            f"that installation does not belong to your {adapter.name} account"
        )
    found = mine[installation_id]
    snapshots = app.installation_repositories(
        installation_token(provider, installation_id)
    )
    organization = user.organizations.first()
    with transaction.atomic():
        installation, _ = AppInstallation.objects.update_or_create(
            provider=provider,
            host=host_of(adapter.web_url()),
            installation_id=installation_id,
            defaults={
                "account_login": found.account_login,
                "organization": organization,
                "linked_by": user,
                "is_active": True,
                "is_suspended": found.is_suspended,
            },
        )
        repositories = [
            repository_upsert(
                snapshot=snapshot,
                installation_id=installation_id,
                followed_since=timezone.now(),
            )
            for snapshot in snapshots
        ]
        ConnectedRepository.objects.filter(
            pk__in=[repo.pk for repo in repositories], organization__isnull=True
        ).update(organization=organization)
        for repo in repositories:
            transaction.on_commit(lambda pk=repo.pk: repository_import_task.delay(pk))
    return LinkedInstallation(installation, repositories)
