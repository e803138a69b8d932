"""Celery tasks: thin wrappers that re-fetch by id and call a service."""

from __future__ import annotations

from celery import shared_task

from integrations.transient import TRANSIENT_ERRORS


@shared_task(name="integrations.deliveries_process", ignore_result=True)
def deliveries_process_task(delivery_ids: list[int]) -> None:
    """Process a batch handed over by the receiver's dispatcher."""
    from integrations.services import deliveries_process

    deliveries_process(delivery_ids=delivery_ids)


@shared_task(
    bind=True,
    name="integrations.delivery_process",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def delivery_process_task(self, delivery_id: int) -> None:
    """Process one delivery; transient errors retry with backoff, the last one fails."""
    from integrations.services import delivery_process

    delivery_process(
        delivery_id=delivery_id, final_attempt=self.request.retries >= self.max_retries
    )


@shared_task(name="integrations.deliveries_sweep", ignore_result=True)
def deliveries_sweep_task() -> None:
    """Re-queue pending deliveries whose hand-off was lost."""
    from integrations.services import deliveries_sweep

    deliveries_sweep()


@shared_task(
    name="integrations.repository_import",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def repository_import_task(repository_id: int) -> None:
    """The initial import (a sync run of kind ``initial``) of a repository a
    person just followed, through an App install."""
    from integrations.services import repository_import

    repository_import(repository_id=repository_id)


@shared_task(
    bind=True,
    name="integrations.repository_sync",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=10,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def repository_sync_task(
    self, repository_id: int, full: bool = False, trigger: str = "schedule"
) -> None:
    """Reconcile one repository; a budget below the reserve re-queues it."""
    from django.utils import timezone

    from integrations.models import ConnectedRepository
    from integrations.services.sync import SyncDeferred, repository_sync

    repository = ConnectedRepository.objects.filter(pk=repository_id).first()
    if repository is None or not repository.is_active:
        return
    try:
        repository_sync(repository=repository, full=full, trigger=trigger)
    except SyncDeferred as deferred:
        wait = (deferred.reset_at - timezone.now()).total_seconds() + 5
        self.apply_async((repository_id, full, trigger), countdown=max(int(wait), 5))


@shared_task(name="integrations.repository_sync_all", ignore_result=True)
def repository_sync_all_task() -> None:
    """Queue every repository's reconciliation, spread over the interval."""
    from django.conf import settings

    from integrations.services.sync import repository_sync_all

    repository_sync_all(interval=settings.CODEQUEST_SYNC_INTERVAL_SECONDS)


@shared_task(name="integrations.provider_health_check", ignore_result=True)
def provider_health_check_task() -> None:
    """Check every integration; a change of status is announced once."""
    from integrations.services.health import integrations_check

    integrations_check()


@shared_task(name="integrations.history_prune", ignore_result=True)
def history_prune_task() -> None:
    """Delete sync, health and rate-limit history past its retention."""
    from integrations.services.retention import history_prune

    history_prune()


@shared_task(name="integrations.teams_members_refresh", ignore_result=True)
def teams_members_refresh_task() -> None:
    """Daily: teams made from a provider organization or group follow it."""
    from integrations.services.teams import teams_members_refresh_all

    teams_members_refresh_all()


@shared_task(name="integrations.repository_connect_job", ignore_result=True)
def repository_connect_job_task(job_id: int) -> None:
    """Connect one repository chosen in the picker; the job logs each step."""
    from integrations.services.picker import repository_connect_job_run

    repository_connect_job_run(job_id=job_id)


@shared_task(
    name="integrations.repository_settings_read",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def repository_settings_read_task(repository_id: int, commit: str = "") -> None:
    """Read a repository's .codequest.yml and CODEOWNERS again (the priority
    queue: a push changed them, and people expect the change to hold now)."""
    from integrations.services.settings_file import repository_settings_read

    repository_settings_read(repository_id=repository_id, commit=commit)


@shared_task(name="integrations.repository_points_recount", ignore_result=True)
def repository_points_recount_task(repository_id: int) -> None:
    """Recount every pull request of a repository (what earns points changed)."""
    from integrations.services.settings_file import repository_points_recount

    repository_points_recount(repository_id=repository_id)


@shared_task(
    name="integrations.push_rewrite_check",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def push_rewrite_check_task(
    repository_id: int, ref: str, before: str, after: str, pushed_at: str
) -> None:
    """Did a push whose payload does not say (GitLab) rewrite its branch?"""
    from integrations.services.pushes import push_rewrite_check

    push_rewrite_check(
        repository_id=repository_id,
        ref=ref,
        before=before,
        after=after,
        pushed_at=pushed_at,
    )


@shared_task(
    name="integrations.repository_write",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=10,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def repository_write_task(write_id: int) -> None:
    """Write dashboard settings changes into .codequest.yml as a pull request,
    once the batching window has closed."""
    from integrations.services.writes import repository_write_run

    repository_write_run(write_id=write_id)


@shared_task(name="integrations.codeowners_drift_all", ignore_result=True)
def codeowners_drift_all_task() -> None:
    """Daily: look for CODEOWNERS whose owners no longer review their paths."""
    from integrations.services.sync import repositories_syncable

    for pk in (
        repositories_syncable()
        .exclude(review_settings__codeowners_path="")
        .filter(review_settings__isnull=False)
        .values_list("pk", flat=True)
    ):
        codeowners_drift_task.delay(pk)


@shared_task(
    name="integrations.codeowners_drift",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=3,
    ignore_result=True,
)
def codeowners_drift_task(repository_id: int) -> None:
    """One repository's CODEOWNERS drift check (a pull request when it drifted)."""
    from integrations.credentials import repository_client_guarded
    from integrations.models import ConnectedRepository
    from integrations.providers.base import ProviderError, ProviderTemporaryError
    from integrations.services.writes import codeowners_drift_check

    repository = (
        ConnectedRepository.objects.select_related("organization", "credential")
        .filter(pk=repository_id, is_active=True)
        .first()
    )
    if repository is None:
        return
    try:
        with repository_client_guarded(repository) as client:
            codeowners_drift_check(repository=repository, client=client)
    except ProviderTemporaryError:
        raise
    except ProviderError:
        return  # refused: the repository page shows the connection's state


@shared_task(name="integrations.practice_repository", ignore_result=True)
def practice_repository_task(practice_id: int) -> None:
    """Create, fill and connect a team's practice repository (a failure is
    shown on the practice page, where an admin tries again)."""
    from integrations.services.practice import practice_repository_run

    practice_repository_run(practice_id=practice_id)


@shared_task(
    name="integrations.practice_round",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def practice_round_task(round_id: int) -> None:
    """Open one person's practice pull request."""
    from integrations.services.practice import practice_round_open

    practice_round_open(round_id=round_id)
