"""Celery tasks: find who to tell, and send what is due (beat runs both every
minute; ingest asks for the first one when requests change)."""

from celery import shared_task


@shared_task(name="notifications.review_requests_notify", ignore_result=True)
def review_requests_notify_task() -> None:
    from notifications.services import review_requests_notify

    review_requests_notify()


@shared_task(name="notifications.send_due", ignore_result=True)
def notifications_send_due_task() -> None:
    from notifications.services import notifications_send_due

    notifications_send_due()


@shared_task(name="notifications.daily_digests", ignore_result=True)
def daily_digests_task() -> None:
    """Everyone whose working day starts this hour gets their digest, once."""
    from notifications.digests import daily_digests_prepare
    from notifications.services import notifications_send_due

    if daily_digests_prepare():
        notifications_send_due()


@shared_task(name="notifications.stuck_pulls", ignore_result=True)
def stuck_pulls_task() -> None:
    """Nudge about pull requests that are stuck, once per episode."""
    from notifications.services import notifications_send_due
    from notifications.stuck import stuck_pulls_notify

    if stuck_pulls_notify():
        notifications_send_due()


@shared_task(name="notifications.weekly_team_digests", ignore_result=True)
def weekly_team_digests_task() -> None:
    """Monday morning: each team's week, to its channels and members."""
    from notifications.services import notifications_send_due
    from notifications.weekly import weekly_team_digests

    if weekly_team_digests():
        notifications_send_due()


@shared_task(name="notifications.operations", ignore_result=True)
def operations_task() -> None:
    """Connections to renew and integrations that turned unhealthy."""
    from notifications.operations import operations_notify
    from notifications.services import notifications_send_due

    if operations_notify():
        notifications_send_due()


@shared_task(name="notifications.your_turn", ignore_result=True)
def your_turn_task() -> None:
    """Tell authors whose pull request came back to them."""
    from notifications.services import notifications_send_due
    from notifications.turns import your_turn_notify

    if your_turn_notify():
        notifications_send_due()


@shared_task(name="notifications.review_nudges", ignore_result=True)
def review_nudges_task() -> None:
    """Tell reviewers whose review is overdue or was passed on."""
    from notifications.nudges import review_nudges_notify
    from notifications.services import notifications_send_due

    if review_nudges_notify():
        notifications_send_due()
