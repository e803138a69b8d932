"""Declare the beat schedules in code (idempotent; run on every release)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

SCHEDULES = [
    # (name, task, every N seconds, or the name of the setting that says)
    ("Re-queue lost webhook deliveries", "integrations.deliveries_sweep", 60),
    ("Remind and reassign overdue review requests", "reviews.review_sla_check", 900),
    (
        "Replace reviewers who took themselves off",
        "reviews.removed_reviewers_replace",
        120,
    ),
    # Reconcile every repository; each keeps its own offset inside the interval.
    (
        "Reconcile repositories with providers",
        "integrations.repository_sync_all",
        "CODEQUEST_SYNC_INTERVAL_SECONDS",
    ),
    ("Check integration health", "integrations.provider_health_check", 300),
    (
        "Keep status comments on pull requests up to date",
        "reviews.status_comments_follow",
        60,
    ),
    (
        "Prune old sync, health and rate-limit history",
        "integrations.history_prune",
        86400,
    ),
    (
        "Follow provider members of teams made from an organization or group",
        "integrations.teams_members_refresh",
        86400,
    ),
    ("Take yesterday's trend snapshots", "rewards.snapshots_take", 86400),
    ("Award badges", "rewards.badges_award", 900),
    ("Measure quests, pay the ones met", "rewards.quests_settle", 300),
    (
        "Tell people whose review was requested",
        "notifications.review_requests_notify",
        60,
    ),
    ("Send notifications that are due", "notifications.send_due", 60),
    ("Tell authors when it is their turn", "notifications.your_turn", 60),
    (
        "Tell reviewers whose review is overdue or was passed on",
        "notifications.review_nudges",
        300,
    ),
    ("Nudge about stuck pull requests", "notifications.stuck_pulls", 3600),
    (
        "Tell about connections to renew and unhealthy integrations",
        "notifications.operations",
        300,
    ),
    (
        "Weekly team digests (Mondays, 08:00 UTC)",
        "notifications.weekly_team_digests",
        900,
    ),
    (
        "Daily digests at the start of each person's working day",
        "notifications.daily_digests",
        900,
    ),
    (
        "Suggest CODEOWNERS where owners no longer review their paths",
        "integrations.codeowners_drift_all",
        86400,
    ),
]


class Command(BaseCommand):
    help = "Create or update the periodic tasks that beat runs."

    def handle(self, *args, **options):
        for name, task, every in SCHEDULES:
            seconds = getattr(settings, every) if isinstance(every, str) else every
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.update_or_create(
                name=name,
                defaults={"task": task, "interval": interval, "enabled": True},
            )
            self.stdout.write(f"{name}: {task} every {seconds}s")
