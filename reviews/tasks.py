"""Celery tasks for reviews: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from integrations.services import TRANSIENT_ERRORS


@shared_task(
    name="reviews.reviewer_assign",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def reviewer_assign_task(pull_request_id: int, trigger: str) -> None:
    """Choose and request reviewers for one pull request."""
    from reviews.assignment.service import reviewer_assign

    reviewer_assign(pull_request_id=pull_request_id, trigger=trigger)


@shared_task(name="reviews.review_sla_check", ignore_result=True)
def review_sla_check_task() -> None:
    """Remind once, then (when enabled) reassign review requests past their SLA."""
    from reviews.assignment.sla import review_sla_check

    review_sla_check()
