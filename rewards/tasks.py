"""Celery tasks of the rewards app."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="rewards.snapshots_take", ignore_result=True)
def snapshots_take_task() -> None:
    """Daily: yesterday's trend snapshot of every repository and team."""
    from rewards.snapshots import snapshots_take

    snapshots_take()


@shared_task(name="rewards.badges_award", ignore_result=True)
def badges_award_task() -> None:
    """Award the badges the ledger shows people qualify for (once each)."""
    from rewards.badges import badges_award

    badges_award()


@shared_task(name="rewards.quests_settle", ignore_result=True)
def quests_settle_task() -> None:
    """Measure running quests; complete and pay what was met (once each)."""
    from rewards.quests import quests_settle

    quests_settle()
