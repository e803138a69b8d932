"""What every normalized event goes through, whichever road brought it.

A webhook delivery, a reconciliation pass and a replay all end here
(ARCHITECTURE "The one path"): apply the snapshots, award or reverse points,
and schedule reviewer assignment for newly opened work.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from integrations.models import ConnectedRepository
from integrations.providers.base import NormalizedEvent


def event_handle(
    *, event: NormalizedEvent, repository: ConnectedRepository | None
) -> Any:
    """Apply one event and its consequences; returns the apply result."""
    from reviews.services import event_apply
    from rewards.services import points_award

    result = event_apply(event=event, repository=repository)
    points_award(event=event, pull_request=result.pull_request)
    _schedule_assignment(event, result)
    return result


def _schedule_assignment(event: NormalizedEvent, result: Any) -> None:
    """Opened or ready for review: choose reviewers once it is committed."""
    from reviews.assignment.service import ASSIGN_ON
    from reviews.tasks import reviewer_assign_task

    trigger = ASSIGN_ON.get(event.kind)
    pull = result.pull_request
    if trigger and pull is not None and not pull.draft:
        transaction.on_commit(lambda: reviewer_assign_task.delay(pull.pk, trigger))
