"""Slack direct messages: the person found by email once, one message per
request, Slack's refusals told apart (final, or worth a retry), and a pull
request's title never able to mention a whole channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import ConnectedRepository
from notifications.models import Notification, NotificationSettings, TeamChannel
from notifications.services import notifications_send_due, review_requests_notify
from reviews.models import ReviewRequest
from tests.notifications.fake_slack import FakeSlack, recorded
from tests.notifications.test_review_requested import (
    _stored_request,
    person,
)
from tests.notifications.test_review_requested import (
    pytestmark as corpus_marks,
)

pytestmark = corpus_marks


@pytest.fixture
def slack(settings):
    fake = FakeSlack()
    settings.SLACK_BOT_TOKEN = "xoxb-test-bot-token"
    settings.SLACK_API_URL = fake.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    yield fake
    fake.close()


def told(minutes_ago: int = 1) -> None:
    now = timezone.now()
    _stored_request(at=now - timedelta(minutes=minutes_ago))
    review_requests_notify(now=now)


def test_one_direct_message_to_the_person_found_by_email(slack):
    user, _ = person(quiet_outside_working_hours=False)
    told()
    assert notifications_send_due() == {"sent": 2}  # email and Slack
    (lookup,) = slack.calls("users.lookupByEmail")
    assert lookup["email"] == "mona@example.com"
    (post,) = slack.calls("chat.postMessage")
    assert post["channel"] == "W012A3CDE"
    assert post["text"].startswith("*Review requested: Codertocat/Hello-World#2")
    assert "Why you: requested on the pull request." in post["text"]
    assert all(
        headers.get("Authorization") == "Bearer xoxb-test-bot-token"
        for _, _, headers in slack.requests
    )
    assert NotificationSettings.objects.get(user=user).slack_user_id == "W012A3CDE"
    # Nothing more, however often the jobs run.
    review_requests_notify()
    assert notifications_send_due() == {}
    assert len(slack.calls("chat.postMessage")) == 1


def test_the_member_id_found_once_is_kept(slack):
    user, _ = person(quiet_outside_working_hours=False)
    NotificationSettings.objects.filter(user=user).update(slack_user_id="U0KEPT1")
    told()
    notifications_send_due()
    assert slack.calls("users.lookupByEmail") == []
    assert slack.calls("chat.postMessage")[0]["channel"] == "U0KEPT1"


def test_no_slack_account_is_final_a_rate_limit_is_retried(slack):
    person(
        quiet_outside_working_hours=False,
        kinds={"review_requested": {"email": False}},
    )
    slack.answers["users.lookupByEmail"] = (200, recorded("users_not_found.json"), {})
    told()
    assert notifications_send_due() == {"failed": 1}
    row = Notification.objects.get(channel="slack")
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error == "Unreachable: Slack answered users_not_found"

    Notification.objects.all().delete()
    slack.answers.pop("users.lookupByEmail")
    slack.answers["chat.postMessage"] = (
        429,
        recorded("ratelimited.json"),
        {"Retry-After": "30"},
    )
    review_requests_notify()
    assert notifications_send_due() == {"retrying": 1}
    row = Notification.objects.get(channel="slack")
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ratelimited" in row.error


def test_a_title_cannot_mention_the_channel(slack):
    person(quiet_outside_working_hours=False)
    told()
    from reviews.models import PullRequest

    PullRequest.objects.update(title="<!channel> please look & merge")
    Notification.objects.all().delete()
    review_requests_notify()
    notifications_send_due()
    text = slack.calls("chat.postMessage")[0]["text"]
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; please look &amp; merge" in text


def test_without_a_bot_token_slack_is_not_offered(settings, client):
    settings.SLACK_BOT_TOKEN = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user, _ = person(quiet_outside_working_hours=False)
    told()
    assert not Notification.objects.filter(channel="slack").exists()
    client.force_login(user)
    assert "Slack" not in client.get("/dashboard/notifications/").content.decode()


def test_a_team_channel_on_slack_gets_each_request_once(slack, client, team_admin):
    """Added on the team's page by its id (a #name can be renamed); the bot
    posts there; a replay posts nothing more; an app not in the channel is a
    final failure the page shows."""
    bad = client.post(
        "/dashboard/teams/core/channels/",
        {"kind": "slack", "name": "Reviews", "slack_channel": "#reviews"},
    )
    assert bad.status_code == 400
    assert "A Slack channel id looks like C0123ABCD" in bad.content.decode()
    answer = client.post(
        "/dashboard/teams/core/channels/",
        {
            "kind": "slack",
            "name": "Reviews",
            "slack_channel": " c1h9resgl ",
            "kinds": ["review_requested"],
        },
    )
    assert answer.status_code == 302
    channel = TeamChannel.objects.get()
    assert (channel.kind, channel.slack_channel, channel.host) == (
        "slack",
        "C1H9RESGL",
        "slack.com",
    )
    assert (
        "channel C1H9RESGL"
        in client.get("/dashboard/teams/core/channels/").content.decode()
    )

    now = timezone.now()
    _stored_request(at=now - timedelta(minutes=1))
    ConnectedRepository.objects.update(organization=team_admin)
    assert review_requests_notify(now=now) == 1  # octocat is not linked: the team
    assert notifications_send_due(now=now) == {"sent": 1}
    (post,) = slack.calls("chat.postMessage")
    assert post["channel"] == "C1H9RESGL"
    assert post["text"].startswith("*Review requested from @octocat:")
    review_requests_notify(now=now)
    notifications_send_due(now=now)
    assert len(slack.calls("chat.postMessage")) == 1

    # Removed from the channel: chat.postMessage documents "not_in_channel",
    # answered in the shape of Slack's error example.
    not_in_channel = {**recorded("users_not_found.json"), "error": "not_in_channel"}
    slack.answers["chat.postMessage"] = (200, not_in_channel, {})
    ReviewRequest.objects.update(requested_at=now)  # asked again: news again
    review_requests_notify(now=now + timedelta(minutes=1))
    assert notifications_send_due(now=now + timedelta(minutes=1)) == {"failed": 1}
    channel.refresh_from_db()
    assert channel.last_error == "Unreachable: Slack answered not_in_channel"


def test_without_slack_set_up_a_team_cannot_choose_it(client, team_admin, settings):
    settings.SLACK_BOT_TOKEN = ""
    page = client.get("/dashboard/teams/core/channels/").content.decode()
    assert 'value="slack"' not in page and "Slack channel id" not in page
    answer = client.post(
        "/dashboard/teams/core/channels/",
        {"kind": "slack", "name": "Reviews", "slack_channel": "C1H9RESGL"},
    )
    assert answer.status_code == 400
    assert TeamChannel.objects.count() == 0
