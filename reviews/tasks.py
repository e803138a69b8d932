"""Celery tasks for reviews: thin wrappers around services."""

from __future__ import annotations

import logging

from celery import shared_task

from integrations.transient import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="reviews.reviewer_assign",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def reviewer_assign_task(self, pull_request_id: int, trigger: str) -> None:
    """Choose and request reviewers; waits for the reset if the budget is low."""
    from django.utils import timezone

    from integrations.budgets import SyncDeferred, budget_check
    from reviews.assignment.service import reviewer_assign
    from reviews.models import PullRequest

    pull = PullRequest.objects.select_related("repository").filter(pk=pull_request_id)
    if not pull.exists():
        return
    try:
        budget_check(pull.first().repository)
    except SyncDeferred as deferred:
        wait = (deferred.reset_at - timezone.now()).total_seconds() + 5
        self.apply_async((pull_request_id, trigger), countdown=max(int(wait), 5))
        return
    reviewer_assign(pull_request_id=pull_request_id, trigger=trigger)


@shared_task(name="reviews.review_sla_check", ignore_result=True)
def review_sla_check_task() -> None:
    """Remind once, then (when enabled) reassign review requests past their SLA."""
    from reviews.assignment.sla import review_sla_check

    review_sla_check()


@shared_task(
    name="reviews.pull_size_label",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def pull_size_label_task(pull_request_id: int) -> None:
    """Put the size label on a pull request (opened, reopened, new commits).
    A refusal (no permission to label) is logged, not retried."""
    from integrations.providers.base import ProviderError, ProviderTemporaryError
    from reviews.size_labels import pull_size_label

    try:
        pull_size_label(pull_request_id=pull_request_id)
    except ProviderTemporaryError:
        raise
    except ProviderError as exc:
        logger.warning(
            "reviews.size_label.refused",
            extra={"pull": pull_request_id, "error": str(exc)[:200]},
        )


@shared_task(name="reviews.removed_reviewers_replace", ignore_result=True)
def removed_reviewers_replace_task() -> None:
    """Replace, once, a reviewer CodeQuest asked who was taken off unreviewed."""
    from reviews.assignment.sla import removed_reviewers_replace

    removed_reviewers_replace()


@shared_task(
    name="reviews.pull_command",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def pull_command_task(command_id: int) -> None:
    """Run a /codequest command from a pull request comment, once."""
    from reviews.commands import pull_command_run

    pull_command_run(command_id=command_id)


@shared_task(name="reviews.status_comments_follow", ignore_result=True)
def status_comments_follow_task() -> None:
    """Edit each status comment whose pull request changed (where asked for)."""
    from reviews.status_comment import status_comments_follow

    status_comments_follow()
