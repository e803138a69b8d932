"""The repository picker: the repositories a person may connect (their own
connection says which), and connecting the ones they choose in the background."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.credentials import credential_client, credential_guard
from integrations.models import (
    AppInstallation,
    ConnectedRepository,
    Organization,
    ProviderCredential,
    RepositoryConnectJob,
    SyncRun,
)
from integrations.providers import get_provider
from integrations.providers.base import Capability, ProviderError, RepositorySnapshot
from integrations.selectors import (
    installation_repositories_visible_to,
    organizations_administered,
)
from integrations.services.connections import repository_connect
from integrations.services.repositories import repositories_assign
from integrations.services.webhooks import WebhookConflict
from integrations.tasks import repository_connect_job_task

logger = logging.getLogger(__name__)

Status = RepositoryConnectJob.Status
LIST_SECONDS = 300  # a fresh list on demand; otherwise five minutes old at most
STALE_AFTER = timedelta(minutes=30)  # a job this quiet lost its worker


class PickerError(Exception):
    """Why a choice was refused, for the person who made it."""


@dataclass(frozen=True, slots=True)
class Choice:
    repository: RepositorySnapshot
    followed: ConnectedRepository | None  # already connected here
    team: str  # the name of the team that owns it here, "" when none


def repositories_connectable(
    *, credential: ProviderCredential, fresh: bool = False
) -> list[RepositorySnapshot]:
    """What the person administers on the provider (cached five minutes per
    grant; a new grant has a new list)."""
    key = f"picker:{credential.pk}:{credential.updated_at.timestamp()}"
    snapshots = None if fresh else cache.get(key)
    if snapshots is None:
        with credential_guard(credential):
            client = credential_client(credential)
            snapshots = client.repositories_administered()
        cache.set(key, snapshots, LIST_SECONDS)
    return list(snapshots)


def choices_list(
    *, credential: ProviderCredential, query: str = "", fresh: bool = False
) -> list[Choice]:
    """The picker's rows, filtered by ``query``, each with whether (and by which
    team) it is followed here already. Two queries at most."""
    needle = query.strip().lower()
    snapshots = [
        item
        for item in repositories_connectable(credential=credential, fresh=fresh)
        if needle in item.full_name.lower()
    ]
    followed = {
        (item.host, item.external_id): item
        for item in ConnectedRepository.objects.filter(
            provider=credential.provider,
            external_id__in=[item.external_id for item in snapshots],
        ).select_related("organization")
    }
    rows = []
    for item in snapshots:
        repository = followed.get((item.host, item.external_id))
        team = (
            repository.organization.name
            if repository and repository.organization
            else ""
        )
        rows.append(Choice(item, repository, team))
    return rows


def app_choices(*, user: Any, provider: str) -> list[ConnectedRepository]:
    """Repositories followed through the person's App installations (those they
    linked, or their teams'), with the team that owns each."""
    if not get_provider(provider).can(Capability.INSTALLATIONS):
        return []
    installations = AppInstallation.objects.filter(
        Q(linked_by=user) | Q(organization__memberships__user=user),
        provider=provider,
        is_active=True,
    ).distinct()
    return list(
        installation_repositories_visible_to(user, installations)
        .select_related("organization")
        .order_by("full_name", "pk")[:500]
    )


def app_repositories_assign(
    *, user: Any, provider: str, repository_ids: list[int], organization: Organization
) -> int:
    """Give App repositories to one of the person's teams: only ones no team
    owns yet or that a team they administer owns."""
    administered = set(organizations_administered(user).values_list("pk", flat=True))
    allowed = {
        item.pk
        for item in app_choices(user=user, provider=provider)
        if item.organization_id is None or item.organization_id in administered
    }
    if not set(repository_ids) <= allowed:
        raise PickerError("some of those App repositories are not yours to assign")
    return repositories_assign(repository_ids=repository_ids, organization=organization)


def repository_connect_jobs_start(
    *,
    user: Any,
    credential: ProviderCredential,
    full_names: list[str],
    organization: Organization,
) -> tuple[list[RepositoryConnectJob], list[str]]:
    """One background job per chosen repository (only ones the person
    administers); returns the jobs and the names already being connected."""
    allowed = {
        item.full_name for item in repositories_connectable(credential=credential)
    }
    unknown = sorted(set(full_names) - allowed)
    if unknown:
        raise PickerError(
            f"not among the repositories you administer: {', '.join(unknown[:3])}"
        )
    _forget_stale_jobs()
    jobs, busy = [], []
    for full_name in dict.fromkeys(full_names):
        try:
            with transaction.atomic():
                job = RepositoryConnectJob.objects.create(
                    user=user,
                    organization=organization,
                    credential=credential,
                    provider=credential.provider,
                    full_name=full_name,
                )
        except IntegrityError:
            busy.append(full_name)
            continue
        transaction.on_commit(lambda pk=job.pk: repository_connect_job_task.delay(pk))
        jobs.append(job)
    return jobs, busy


def repository_connect_job_run(*, job_id: int) -> str:
    """Connect one chosen repository, logging each step on the job. Runs once:
    a second delivery of the task finds the job taken and does nothing."""
    if not RepositoryConnectJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, updated_at=timezone.now()
    ):
        return "taken"
    job = RepositoryConnectJob.objects.select_related("credential", "organization").get(
        pk=job_id
    )
    if job.credential is None or job.credential.status != job.credential.Status.ACTIVE:
        return _finish(
            job,
            Status.FAILED,
            error="the connection used to connect it is gone; reconnect and "
            "choose it again",
        )
    try:
        with credential_guard(job.credential):
            result = repository_connect(
                provider=job.provider,
                full_name=job.full_name,
                credential=job.credential,
                organization=job.organization,
                trigger=SyncRun.Trigger.MANUAL,
                progress=lambda line: _note(job, line),
            )
    except (ProviderError, WebhookConflict) as exc:
        return _finish(job, Status.FAILED, error=str(exc))
    except Exception:
        logger.exception("integrations.picker.connect_failed", extra={"job": job.pk})
        return _finish(
            job, Status.FAILED, error="an unexpected error; the worker log has it"
        )
    job.repository = result.repository  # the import logged what it read
    return _finish(job, Status.SUCCEEDED)


def connect_jobs_recent(*, user: Any, hours: int = 24) -> list[RepositoryConnectJob]:
    return list(
        RepositoryConnectJob.objects.filter(
            user=user, created_at__gte=timezone.now() - timedelta(hours=hours)
        )
        .select_related("organization", "repository")
        .order_by("-created_at", "-pk")[:50]
    )


def _note(job: RepositoryConnectJob, line: str) -> None:
    job.log = [*job.log, {"at": timezone.now().isoformat(), "line": line[:500]}]
    RepositoryConnectJob.objects.filter(pk=job.pk).update(
        log=job.log, updated_at=timezone.now()
    )


def _finish(job: RepositoryConnectJob, status: str, *, error: str = "") -> str:
    now = timezone.now()
    job.status, job.error, job.finished_at = status, error[:2000], now
    job.save(
        update_fields=["status", "error", "finished_at", "repository", "updated_at"]
    )
    return status


def _forget_stale_jobs() -> None:
    RepositoryConnectJob.objects.filter(
        Q(status=Status.QUEUED) | Q(status=Status.RUNNING),
        updated_at__lt=timezone.now() - STALE_AFTER,
    ).update(
        status=Status.FAILED,
        error="interrupted (the worker stopped); choose it again",
        finished_at=timezone.now(),
    )
