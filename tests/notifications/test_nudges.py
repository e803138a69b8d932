"""Overdue and passed-on reviews reach the reviewer where they get messages,
once per mark; the pull request comment is left out by default once a chat
channel reaches people, and "dashboard nudge only" keeps it on the dashboard."""

from __future__ import annotations

import json

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core import mail

from integrations.models import ConnectedRepository, Organization
from notifications.models import Notification, NotificationSettings
from notifications.nudges import review_nudges_notify
from notifications.services import notifications_send_due, team_channel_add
from reviews.assignment.sla import review_sla_check
from reviews.models import Member, ProviderIdentity, RepositoryReviewSettings
from tests.reviews.test_assignment_flow import API, mock_provider, repo_body
from tests.reviews.test_assignment_flow import (
    repository as repository,  # noqa: F401 (fixture)
)
from tests.reviews.test_review_sla import COMMENTS, at
from tests.reviews.test_review_sla import (
    waiting as waiting,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = get_user_model().objects.create_user("alice", email="alice@example.com")
    member = Member.objects.create(display_name="Alice", user=user)
    ProviderIdentity.objects.create(
        provider="github", host="github.com", login="alice", member=member
    )
    NotificationSettings.objects.create(user=user, quiet_outside_working_hours=False)
    return user


def with_a_team_channel() -> None:
    team = Organization.objects.create(name="Core", slug="core")
    ConnectedRepository.objects.update(organization=team)
    team_channel_add(
        team=team,
        by=None,
        kind="discord",
        name="Reviews",
        url="https://discord.com/api/webhooks/1/secret",
    )


def test_with_a_chat_channel_the_reviewer_is_messaged_not_commented(
    waiting,  # noqa: F811
    alice,
):
    with_a_team_channel()
    with responses.RequestsMock():  # no comment: any provider call would fail
        result = review_sla_check(now=at(17, 10))
    assert result.reminded == ["alice on Codertocat/Hello-World#2"]
    assert review_nudges_notify(now=at(17, 10)) == 2  # dashboard and email
    assert review_nudges_notify(now=at(17, 11)) == 0  # once per mark
    notifications_send_due(now=at(17, 10))
    (message,) = mail.outbox
    assert message.subject.startswith(
        "Your review is overdue: Codertocat/Hello-World#2"
    )
    assert "`/codequest decline`" in message.body


def test_without_a_chat_channel_the_comment_stays(waiting, alice):  # noqa: F811
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, body="")
        review_sla_check(now=at(17, 10))
        body = json.loads(rsps.calls[-1].request.body)["body"]
    assert body.startswith("@alice, a friendly nudge")
    assert review_nudges_notify(now=at(17, 10)) == 2  # told by email too


def test_dashboard_nudge_only_means_the_dashboard(waiting, alice):  # noqa: F811
    RepositoryReviewSettings.objects.update(sla_reminder="dashboard")
    with responses.RequestsMock():
        review_sla_check(now=at(17, 10))
    assert review_nudges_notify(now=at(17, 10)) == 1
    assert Notification.objects.get().channel == "in_app"


def test_a_review_passed_on_tells_the_first_reviewer_who_was_asked_instead(
    waiting,  # noqa: F811
    alice,
):
    RepositoryReviewSettings.objects.update(sla_reassign=True)
    with_a_team_channel()
    with responses.RequestsMock():
        review_sla_check(now=at(17, 10))  # reminded, no comment
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        rsps.delete(f"{API}/pulls/2/requested_reviewers", json={})
        assert review_sla_check(now=at(18, 12)).reassigned
    assert review_nudges_notify(now=at(18, 12)) == 2
    notifications_send_due(now=at(18, 12))
    subjects = [message.subject for message in mail.outbox]
    assert subjects == ["Passed on to @bob: Codertocat/Hello-World#2"]
    assert "Nothing more is needed from you." in mail.outbox[0].body
