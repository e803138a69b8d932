"""Celery tasks for reviews: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from integrations.transient import TRANSIENT_ERRORS


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
