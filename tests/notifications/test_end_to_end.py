"""A pull request opened on the provider → CodeQuest chooses a reviewer and
requests them (provider HTTP mocked with recorded answers) → the provider's
review_requested delivery → the chosen reviewer gets exactly one email (a
real SMTP conversation) and one Slack message (a local Web API stand-in),
each with CodeQuest's reasons, and one post to each of the team's channels (a
Microsoft Teams workflow and a Mattermost webhook, local servers); replaying
every delivery sends nothing more."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.models import ConnectedRepository, Organization
from notifications.models import NotificationSettings
from notifications.services import team_channel_add
from reviews.models import Member, ProviderIdentity, ReviewAssignment
from tests.conftest import load_payload, post_webhook
from tests.notifications.fake_slack import FakeSlack
from tests.notifications.test_review_requested import smtp as smtp  # noqa: F401
from tests.notifications.test_team_channels import Hook
from tests.reviews.test_assignment_flow import mock_provider
from tests.reviews.test_assignment_flow import pytestmark as corpus_marks
from tests.reviews.test_assignment_flow import (
    repository as repository,  # noqa: F401 (fixture)
)

pytestmark = corpus_marks
ALICE = {"login": "alice", "id": 7001, "type": "User"}


@pytest.fixture
def slack(settings):
    fake = FakeSlack()
    settings.SLACK_BOT_TOKEN = "xoxb-end-to-end"
    settings.SLACK_API_URL = fake.url
    yield fake
    fake.close()


@pytest.fixture
def team_hooks(settings):
    """A Teams workflow (202, no body) and a Mattermost webhook (200 "ok") on
    loopback, allowed as an operator allows them."""
    teams, mattermost = Hook(202, b""), Hook(200, b"ok")
    settings.CODEQUEST_NOTIFY_WEBHOOK_HOSTS = [
        f"127.0.0.1:{teams.port}",
        f"127.0.0.1:{mattermost.port}",
    ]
    yield teams, mattermost
    teams.close()
    mattermost.close()


def test_opened_chosen_requested_told_once_by_email_and_slack(
    client,
    repository,  # noqa: F811
    smtp,  # noqa: F811
    slack,
    team_hooks,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    user = get_user_model().objects.create_user(
        "alice", email="alice@example.com", password="pw"
    )
    member = Member.objects.create(display_name="Alice", user=user)
    ProviderIdentity.objects.create(
        provider="github", host="github.com", login="alice", member=member
    )
    NotificationSettings.objects.create(user=user, quiet_outside_working_hours=False)
    # The team has a Microsoft Teams workflow and a Mattermost webhook (local
    # servers answering as those do).
    team = Organization.objects.create(name="Core", slug="core")
    ConnectedRepository.objects.filter(pk=repository.pk).update(organization=team)
    teams_hook, mattermost_hook = team_hooks
    for kind, hook in (("teams", teams_hook), ("mattermost", mattermost_hook)):
        team_channel_add(
            team=team, by=None, kind=kind, name=kind, url=hook.url(f"/{kind}")
        )

    opened = load_payload("github", "pull_request.opened.1.json")
    requested = load_payload("github", "pull_request.review_requested.1.json")
    requested["pull_request"].update(
        requested_reviewers=[ALICE],
        updated_at=(timezone.now() - timedelta(minutes=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    )
    requested["requested_reviewer"] = ALICE
    deliveries = [("pull_request", opened), ("pull_request", requested)]

    def deliver_all() -> None:
        for event, payload in deliveries:
            with django_capture_on_commit_callbacks(execute=True):
                answer = post_webhook(client, "github", copy.deepcopy(payload), event)
            assert answer.status_code == 202

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_provider(rsps, "* @global\n*.py @octo/backend\n")
        rsps.add_passthru("http://127.0.0.1")  # the team's webhook stand-ins
        deliver_all()
    assignment = ReviewAssignment.objects.get()
    assert assignment.reviewers == ["alice"]

    assert len(smtp.messages) == 1
    _, recipients, text = smtp.messages[0]
    assert recipients == ["alice@example.com"]
    assert "Why you: code owner (codeowners)" in text
    (post,) = slack.calls("chat.postMessage")
    assert "Why you: code owner (codeowners)" in post["text"]
    (card,) = teams_hook.posts
    blocks = card["attachments"][0]["content"]["body"]
    assert "Why them: code owner (codeowners)" in blocks[1]["text"]
    (text_post,) = mattermost_hook.posts
    assert text_post["text"].startswith("**Review requested from @alice:")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_provider(rsps, "* @global\n*.py @octo/backend\n")
        rsps.add_passthru("http://127.0.0.1")  # the team's webhook stand-ins
        deliver_all()  # every delivery again: redeliveries, a replay
    assert len(smtp.messages) == 1
    assert len(slack.calls("chat.postMessage")) == 1
    assert (len(teams_hook.posts), len(mattermost_hook.posts)) == (1, 1)
    assert ReviewAssignment.objects.count() == 1
