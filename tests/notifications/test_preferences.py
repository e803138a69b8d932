"""Per-kind choices: a person's review requests gathered into an hourly or
daily summary (one email for several rows, sent once), urgent pull requests
breaking through quiet hours when allowed, bot pull requests muted, and stored
choices that are not choices read as the defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from notifications.models import Notification, NotificationSettings
from notifications.preferences import DEFAULTS, preference
from notifications.services import notifications_send_due, review_requests_notify
from reviews.models import ProviderIdentity, PullRequest, ReviewRequest
from tests.factories import PullRequestFactory
from tests.notifications.test_review_requested import _stored_request, person

pytestmark = pytest.mark.django_db

TUESDAY_1020 = datetime(2026, 12, 8, 10, 20, tzinfo=UTC)  # working hours in UTC
TUESDAY_2200 = datetime(2026, 12, 8, 22, 0, tzinfo=UTC)  # after them


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def second_request(first: ReviewRequest, at: datetime) -> ReviewRequest:
    """Another pull request of the same repository asking the same person."""
    pull = PullRequestFactory(
        repository=first.pull_request.repository,
        number=3,
        title="Second change",
        author_login="Codertocat",
        url="https://github.com/Codertocat/Hello-World/pull/3",
    )
    return ReviewRequest.objects.create(
        pull_request=pull, reviewer_login=first.reviewer_login, requested_at=at
    )


def test_an_hourly_summary_is_one_email_for_several_requests_sent_once():
    person(kinds={"review_requested": {"email": True, "when": "hourly"}})
    first = _stored_request(at=TUESDAY_1020 - timedelta(minutes=5))
    second_request(first, TUESDAY_1020 - timedelta(minutes=2))
    assert review_requests_notify(now=TUESDAY_1020) == 4  # 2 × (dashboard, email)
    emails = Notification.objects.filter(channel="email")
    assert {(row.due_at, row.batched) for row in emails} == {
        (datetime(2026, 12, 8, 11, 0, tzinfo=UTC), True)
    }
    # Both dashboard entries are there at once.
    assert Notification.objects.filter(channel="in_app", status="sent").count() == 2
    assert notifications_send_due(now=TUESDAY_1020 + timedelta(minutes=30)) == {}
    assert mail.outbox == []

    eleven = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)
    assert notifications_send_due(now=eleven) == {"sent": 2}
    assert len(mail.outbox) == 1
    (message,) = mail.outbox
    assert message.subject == "CodeQuest: 2 updates for you"
    assert "- Review requested: Codertocat/Hello-World#2" in message.body
    assert "- Review requested: Codertocat/Hello-World#3 Second change" in message.body
    assert "https://github.com/Codertocat/Hello-World/pull/3" in message.body
    assert set(emails.values_list("status", "sent_at")) == {("sent", eleven)}
    # A second run, the beat job, a replayed notify: nothing more.
    review_requests_notify(now=eleven)
    notifications_send_due(now=eleven + timedelta(hours=1))
    assert len(mail.outbox) == 1


def test_a_daily_summary_waits_for_the_next_working_day_and_fails_together(
    settings,
):
    person(kinds={"review_requested": {"when": "daily"}})
    first = _stored_request(at=TUESDAY_1020 - timedelta(minutes=5))
    second_request(first, TUESDAY_1020 - timedelta(minutes=1))
    review_requests_notify(now=TUESDAY_1020)
    wednesday_nine = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    assert set(
        Notification.objects.filter(channel="email").values_list("due_at", flat=True)
    ) == {wednesday_nine}
    # The mail server is down at nine: both rows are retried together.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        9,  # discard: nothing listens
        2,
    )
    assert notifications_send_due(now=wednesday_nine) == {"retrying": 2}
    rows = Notification.objects.filter(channel="email")
    assert set(rows.values_list("status", "attempts", "due_at")) == {
        ("pending", 1, wednesday_nine + timedelta(minutes=1))
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send_due(now=wednesday_nine + timedelta(minutes=1)) == {
        "sent": 2
    }
    assert [message.subject for message in mail.outbox] == [
        "CodeQuest: 2 updates for you"
    ]


@pytest.mark.parametrize("allowed", [True, False])
def test_an_urgent_request_breaks_through_quiet_hours_only_when_allowed(allowed):
    person(
        urgent_breaks_through=allowed,
        kinds={"review_requested": {"when": "hourly"}},
    )
    _stored_request(at=TUESDAY_2200 - timedelta(minutes=1))
    PullRequest.objects.update(labels=["bug", "Urgent"])
    review_requests_notify(now=TUESDAY_2200)
    email = Notification.objects.get(channel="email")
    if allowed:
        assert (email.due_at, email.batched) == (TUESDAY_2200, False)
        assert notifications_send_due(now=TUESDAY_2200) == {"sent": 1}
        assert mail.outbox[0].subject.startswith("Review requested:")
    else:  # the next working hour, in that hour's summary
        assert (email.due_at, email.batched) == (
            datetime(2026, 12, 9, 9, 0, tzinfo=UTC),
            True,
        )
        assert notifications_send_due(now=TUESDAY_2200) == {}


def test_muted_bots_are_on_the_dashboard_only():
    user, _ = person(quiet_outside_working_hours=False, mute_bots=True)
    first = _stored_request(at=TUESDAY_1020 - timedelta(minutes=5))
    PullRequest.objects.update(author_login="dependabot[bot]")
    # An account an admin marked as a bot, with an ordinary login.
    ProviderIdentity.objects.create(
        provider="github", host="github.com", login="release-robot", is_bot=True
    )
    robot = second_request(first, TUESDAY_1020 - timedelta(minutes=1))
    PullRequest.objects.filter(pk=robot.pull_request_id).update(
        author_login="Release-Robot"
    )
    assert review_requests_notify(now=TUESDAY_1020) == 2
    assert set(Notification.objects.values_list("channel", flat=True)) == {"in_app"}
    # Unmuted, a person's pull request is sent as before.
    NotificationSettings.objects.filter(user=user).update(mute_bots=False)
    ReviewRequest.objects.update(requested_at=TUESDAY_1020)
    PullRequest.objects.update(author_login="Codertocat")
    review_requests_notify(now=TUESDAY_1020 + timedelta(minutes=1))
    assert Notification.objects.filter(channel="email").count() == 2


@pytest.mark.parametrize(
    "saved",
    [
        None,
        "email",
        {"email": "yes", "slack": 1, "when": "weekly"},
        {"when": ["hourly"]},
    ],
)
def test_a_stored_choice_that_is_not_one_reads_as_the_default(saved):
    choice = NotificationSettings(kinds={"review_requested": saved})
    assert preference(choice, "review_requested") == DEFAULTS["review_requested"]
    assert preference(None, "stuck_pull") == DEFAULTS["stuck_pull"]
    # Digests are summaries already: "when" is always right away.
    digest = NotificationSettings(kinds={"daily_digest": {"when": "hourly"}})
    assert preference(digest, "daily_digest").when == "now"
