"""Review requested → the person is told once: on the dashboard and by email
(a real SMTP conversation with a local server), at their next working hour
when they asked for quiet; replays, reconciliation and a second run send
nothing more; a failing mail server is retried and never blocks ingest."""

from __future__ import annotations

import copy
import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from notifications.models import Notification, NotificationSettings
from notifications.services import (
    MAX_ATTEMPTS,
    notifications_send_due,
    review_requests_notify,
)
from reviews.models import Member, ProviderIdentity, ReviewerProfile, ReviewRequest
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
    ),
]

SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
MONDAY_NINE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Inbox:
    """An SMTP server's handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode())
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    """A local SMTP server, and Django's SMTP backend pointed at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "CodeQuest <codequest@example.com>"
    yield inbox
    controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def person(login="octocat", email="mona@example.com", **choices):
    user = get_user_model().objects.create_user("mona", email=email, password="pw")
    member = Member.objects.create(display_name="Mona", user=user)
    identity = ProviderIdentity.objects.create(
        provider="github", host="github.com", login=login, member=member
    )
    if choices:
        NotificationSettings.objects.create(user=user, **choices)
    return user, identity


def requested(minutes_ago: int = 1, at: datetime | None = None) -> dict:
    """The recorded ``review_requested`` delivery (octocat asked), made now."""
    payload = load_payload("github", "pull_request.review_requested.1.json")
    moment = at or timezone.now() - timedelta(minutes=minutes_ago)
    payload["pull_request"]["updated_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return payload


def deliver(client, payload, capture, event: str = "pull_request") -> None:
    with capture(execute=True):
        answer = post_webhook(client, "github", copy.deepcopy(payload), event)
    assert answer.status_code == 202


def test_a_review_request_is_one_email_and_one_dashboard_entry_whatever_replays(
    client, smtp, eager_celery, django_capture_on_commit_callbacks
):
    user, _ = person(quiet_outside_working_hours=False)
    payload = requested()
    deliver(client, payload, django_capture_on_commit_callbacks)

    assert len(smtp.messages) == 1
    sender, recipients, text = smtp.messages[0]
    assert (sender, recipients) == ("codequest@example.com", ["mona@example.com"])
    assert "Subject: Review requested: Codertocat/Hello-World#2" in text
    assert "Why you: requested on the pull request." in text
    assert "Due: " in text and "working hours after the request" in text
    assert "https://github.com/Codertocat/Hello-World/pull/2" in text
    inbox = Notification.objects.filter(recipient=user, channel="in_app")
    assert inbox.count() == 1

    # The same delivery again (a redelivery), reconciliation, the beat job.
    deliver(client, payload, django_capture_on_commit_callbacks)
    review_requests_notify()
    notifications_send_due()
    assert len(smtp.messages) == 1
    assert Notification.objects.count() == 2  # one per channel, ever

    client.force_login(user)
    page = client.get("/dashboard/notifications/").content.decode()
    assert "Review requested: Codertocat/Hello-World#2" in page
    assert "1 new" in page


def test_quiet_hours_hold_the_email_until_the_next_working_hour(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user, identity = person()
    ReviewerProfile.objects.create(identity=identity, timezone="Europe/Paris")
    _stored_request(at=SATURDAY - timedelta(minutes=5))
    assert review_requests_notify(now=SATURDAY) == 2
    email = Notification.objects.get(channel="email")
    assert email.due_at == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 Paris
    assert notifications_send_due(now=SATURDAY) == {}
    assert mail.outbox == []
    assert Notification.objects.get(channel="in_app").status == "sent"  # at once
    assert notifications_send_due(now=MONDAY_NINE) == {"sent": 1}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mona@example.com"]
    assert "Due: Mon 07 Dec" in mail.outbox[0].body


def test_a_mail_server_that_is_down_is_retried_then_given_up(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # closed
    settings.EMAIL_TIMEOUT = 2
    person(quiet_outside_working_hours=False)
    now = timezone.now()
    _stored_request(at=now - timedelta(minutes=1))
    review_requests_notify(now=now)
    assert notifications_send_due(now=now) == {"retrying": 1}
    row = Notification.objects.get(channel="email")
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in row.error
    assert row.due_at == now + timedelta(minutes=1)
    for attempt in range(2, MAX_ATTEMPTS + 1):
        notifications_send_due(now=now + timedelta(hours=attempt))
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)


def test_who_is_not_told(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = timezone.now()
    # Nobody here has the login linked.
    _stored_request(at=now - timedelta(minutes=1))
    assert review_requests_notify(now=now) == 0
    # Linked, but the request is old news (an import, an outage).
    ReviewRequest.objects.update(requested_at=now - timedelta(days=2))
    user, _ = person(kinds={"review_requested": {"email": False}})
    assert review_requests_notify(now=now) == 0
    # Recent: told on the dashboard only, as they chose.
    ReviewRequest.objects.update(requested_at=now - timedelta(minutes=1))
    assert review_requests_notify(now=now) == 1
    assert list(Notification.objects.values_list("channel", flat=True)) == ["in_app"]
    # Answered, or no longer asked: nothing new either.
    Notification.objects.all().delete()
    ReviewRequest.objects.update(responded_at=now)
    assert review_requests_notify(now=now) == 0


def test_a_request_made_again_is_news_again(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    person(quiet_outside_working_hours=False)
    now = timezone.now()
    _stored_request(at=now - timedelta(hours=2))
    review_requests_notify(now=now)
    ReviewRequest.objects.update(requested_at=now - timedelta(minutes=1))
    review_requests_notify(now=now)
    assert Notification.objects.filter(channel="email").count() == 2


def test_the_api_lists_only_ones_own(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user, _ = person()
    _stored_request(at=timezone.now() - timedelta(minutes=1))
    review_requests_notify()
    assert client.get("/api/v1/notifications/").status_code in (401, 403)
    other = get_user_model().objects.create_user("kim", password="pw")
    client.force_login(other)
    assert client.get("/api/v1/notifications/").json()["results"] == []
    client.force_login(user)
    (item,) = client.get("/api/v1/notifications/").json()["results"]
    assert item["kind"] == "review_requested" and item["read_at"] is None
    assert item["url"] == "https://github.com/Codertocat/Hello-World/pull/2"
    client.post("/dashboard/notifications/read/")
    (item,) = client.get("/api/v1/notifications/").json()["results"]
    assert item["read_at"] is not None


def test_choices_are_saved_and_admin_is_for_superusers(client, admin_client):
    user, _ = person()
    client.force_login(user)
    answer = client.post(
        "/dashboard/notifications/",
        {
            "quiet_outside_working_hours": "on",
            "review_requested__when": "hourly",
            "stuck_pull__email": "on",
            "stuck_pull__when": "now",
        },
    )
    assert answer.status_code == 302
    choice = NotificationSettings.objects.get(user=user)
    assert choice.quiet_outside_working_hours is True
    assert choice.kinds["review_requested"] == {
        "email": False,
        "slack": True,  # Slack is not set up here: what was chosen stays
        "when": "hourly",
    }
    assert choice.kinds["stuck_pull"] == {"email": True, "slack": False, "when": "now"}
    assert choice.kinds["daily_digest"]["email"] is False
    # A choice that is not one is refused, and nothing is changed.
    answer = client.post(
        "/dashboard/notifications/",
        {"review_requested__when": "weekly", "stuck_pull__when": "now"},
    )
    assert answer.status_code == 400
    assert "Select a valid choice" in answer.content.decode()
    choice.refresh_from_db()
    assert choice.kinds["review_requested"]["when"] == "hourly"
    user.is_staff = True
    user.save()
    assert client.get("/admin/notifications/notification/").status_code == 403
    assert admin_client.get("/admin/notifications/notification/").status_code == 200


def _stored_request(*, at: datetime) -> ReviewRequest:
    """octocat asked on Codertocat/Hello-World#2, applied as ingest does."""
    from integrations.providers import get_provider
    from integrations.services import repository_upsert
    from integrations.services.events import event_handle

    event = get_provider("github").parse("pull_request", requested(at=at))
    repository = repository_upsert(snapshot=event.repository)
    repository.followed_since = at - timedelta(days=1)
    repository.save(update_fields=["followed_since"])
    event_handle(event=event, repository=repository)
    return ReviewRequest.objects.get()


def test_a_late_snapshot_that_moves_the_start_back_is_not_news(settings):
    """Found by bench/notifications/alerts.py: an older snapshot arriving late
    extends the request back; that is the same request, not a new one."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    person(quiet_outside_working_hours=False)
    now = timezone.now()
    _stored_request(at=now - timedelta(minutes=1))
    review_requests_notify(now=now)
    ReviewRequest.objects.update(requested_at=now - timedelta(hours=3))  # moved back
    assert review_requests_notify(now=now) == 0
    assert Notification.objects.filter(channel="email").count() == 1
