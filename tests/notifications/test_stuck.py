"""Nudges for stuck pull requests: approved and not merged, idle for three
working days, asked only of a team nobody picked up; once per episode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from notifications.models import Notification, TeamChannel
from notifications.services import team_channel_add
from notifications.stuck import stuck_pulls_notify
from reviews.models import Member, ProviderIdentity, PullRequest
from tests.factories import PullRequestFactory, RepositoryFactory, ReviewFactory

pytestmark = pytest.mark.django_db

WEDNESDAY_NOON = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)


@pytest.fixture
def author():
    user = get_user_model().objects.create_user(
        "mona", email="mona@example.com", password="pw"
    )
    member = Member.objects.create(display_name="Mona", user=user)
    ProviderIdentity.objects.create(
        provider="github", host="github.com", login="Mona", member=member
    )
    return user


def pull(number: int, updated: datetime, **fields) -> PullRequest:
    return PullRequestFactory(
        repository=fields.pop("repository", None) or RepositoryFactory(),
        number=number,
        state="open",
        draft=False,
        title=f"Change {number}",
        author_login="mona",
        provider_updated_at=updated,
        **fields,
    )


def test_approved_not_merged_tells_the_author_once_per_approval(author):
    approved = pull(1, WEDNESDAY_NOON - timedelta(days=3))
    ReviewFactory(
        pull_request=approved,
        reviewer_login="kim",
        state="approved",
        submitted_at=WEDNESDAY_NOON - timedelta(days=3),
    )
    assert stuck_pulls_notify(now=WEDNESDAY_NOON) == 2  # dashboard and email
    message = Notification.objects.get(recipient=author, channel="in_app")
    assert message.subject.startswith("Approved, not merged:")
    assert "approved 3 days ago" in message.body
    assert stuck_pulls_notify(now=WEDNESDAY_NOON + timedelta(hours=5)) == 0
    # Changes requested since: not "ready to merge" any more.
    Notification.objects.all().delete()
    ReviewFactory(
        pull_request=approved,
        reviewer_login="lee",
        state="changes_requested",
        submitted_at=WEDNESDAY_NOON - timedelta(days=1),
    )
    PullRequest.objects.update(provider_updated_at=WEDNESDAY_NOON - timedelta(hours=1))
    assert stuck_pulls_notify(now=WEDNESDAY_NOON) == 0


def test_idle_three_working_days_and_drafts_left_alone(author):
    pull(2, WEDNESDAY_NOON - timedelta(days=2))  # 18 working hours: not yet
    assert stuck_pulls_notify(now=WEDNESDAY_NOON) == 0
    idle = pull(3, WEDNESDAY_NOON - timedelta(days=6))  # since Thursday: 36 h
    assert stuck_pulls_notify(now=WEDNESDAY_NOON) == 2
    assert "No activity for three working days" in Notification.objects.first().subject
    PullRequest.objects.filter(pk=idle.pk).update(
        provider_updated_at=WEDNESDAY_NOON - timedelta(days=8)
    )
    assert stuck_pulls_notify(now=WEDNESDAY_NOON) == 2  # another episode
    PullRequest.objects.update(draft=True)
    Notification.objects.all().delete()
    assert stuck_pulls_notify(now=WEDNESDAY_NOON) == 0


def test_asked_only_of_a_team_goes_to_the_team_channels(settings):
    from integrations.models import Organization

    settings.CODEQUEST_NOTIFY_WEBHOOK_HOSTS = ["hooks.example.com"]
    team = Organization.objects.create(name="Core", slug="core")
    team_channel_add(
        team=team, by=None, kind="json", name="ops", url="https://hooks.example.com/x"
    )
    repository = RepositoryFactory(organization=team, full_name="core/shop")
    pull(
        4,
        WEDNESDAY_NOON - timedelta(hours=5),
        repository=repository,
        requested_teams=["payments"],
    )
    assert stuck_pulls_notify(now=WEDNESDAY_NOON) == 1
    row = Notification.objects.get()
    assert row.team_channel == TeamChannel.objects.get()
    assert row.subject.startswith("Waiting on a team for 5 hours: core/shop#4")
    assert "`/codequest claim`" in row.body
