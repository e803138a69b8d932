"""Reading a repository's ``.codequest.yml`` (reviews.settings_file) from the
ingest side: with the repository's own client, on the priority queue, and a
points recount when the file changed what earns."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.credentials import repository_client_guarded
from integrations.models import ConnectedRepository
from integrations.providers.base import ProviderError, ProviderTemporaryError
from integrations.services.writes import onboarding_write_request
from reviews.models import FileStatus, PullRequest
from reviews.settings_file import settings_file_read, settings_file_unreadable
from rewards.services import pulls_reconcile

logger = logging.getLogger(__name__)

# Reconciliation reads the file again when the last reading is this old, so
# a lost push webhook delays a change by an hour at most.
STALE_AFTER = timedelta(hours=1)
RECOUNT_CHUNK = 200


def repository_settings_read(*, repository_id: int, commit: str = "") -> str:
    """Read and apply the file now; returns the file's status ("" when the
    repository is gone or inactive). Transient provider errors propagate."""
    repository = (
        ConnectedRepository.objects.select_related("organization", "credential")
        .filter(pk=repository_id, is_active=True)
        .first()
    )
    if repository is None:
        return ""
    try:
        with repository_client_guarded(repository) as client:
            result = settings_file_read(
                repository=repository, client=client, commit=commit
            )
            if result.status == FileStatus.ABSENT and _onboards(repository):
                onboarding_write_request(repository=repository, client=client)
    except ProviderTemporaryError:
        raise
    except ProviderError as exc:  # no usable credential: say so, keep settings
        return settings_file_unreadable(repository=repository, error=str(exc)).status
    if "points_exclude_paths" in result.changed_fields:
        repository_points_recount(repository_id=repository.pk)
    return result.status


# Onboarding is for newly connected repositories: one connected long before
# (say, before this version was deployed) is not sent a pull request out of
# the blue; "Propose .codequest.yml" on its page does it when asked.
ONBOARD_WITHIN = timedelta(days=7)


def _onboards(repository: ConnectedRepository) -> bool:
    """A repository connected this week, of a team that wants onboarding, and
    never written to before."""
    team = repository.organization
    return (
        team is not None
        and team.onboarding_pull_requests
        and repository.created_at >= timezone.now() - ONBOARD_WITHIN
        and not repository.writes.exists()
    )


def repository_points_recount(*, repository_id: int) -> int:
    """What earns changed: every pull request of the repository is recounted,
    a chunk per transaction. Returns how many."""
    pks = list(
        PullRequest.objects.filter(repository_id=repository_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(pks), RECOUNT_CHUNK):
        with transaction.atomic():
            pulls_reconcile(
                pulls=PullRequest.objects.filter(
                    pk__in=pks[start : start + RECOUNT_CHUNK]
                ),
                recount=True,
            )
    logger.info(
        "integrations.settings_file.recounted",
        extra={"repository": repository_id, "pulls": len(pks)},
    )
    return len(pks)


def repositories_settings_stale(queryset) -> list[int]:
    """Of ``queryset``, the repositories whose file was not read for an hour."""
    cutoff = timezone.now() - STALE_AFTER
    return list(
        queryset.filter(
            Q(review_settings__isnull=True)
            | Q(review_settings__file_checked_at__isnull=True)
            | Q(review_settings__file_checked_at__lt=cutoff)
        ).values_list("pk", flat=True)
    )
