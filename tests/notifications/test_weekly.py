"""The weekly team digest: Monday 08:00 UTC, once per team and week, to the
team's channels and members, with the two weeks compared and what is stuck."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from integrations.models import Organization, OrganizationMembership
from notifications.models import Notification
from notifications.services import team_channel_add
from notifications.weekly import weekly_team_digests
from tests.factories import PullRequestFactory, RepositoryFactory, ReviewFactory

pytestmark = pytest.mark.django_db

MONDAY_8 = datetime(2026, 12, 7, 8, 10, tzinfo=UTC)


def test_each_team_gets_its_week_once(settings):
    settings.CODEQUEST_NOTIFY_WEBHOOK_HOSTS = ["hooks.example.com"]
    team = Organization.objects.create(name="Core", slug="core")
    empty = Organization.objects.create(name="Empty", slug="empty")  # no repository
    for name in ("mona", "kim"):
        user = get_user_model().objects.create_user(name, password="pw")
        OrganizationMembership.objects.create(organization=team, user=user)
    team_channel_add(
        team=team, by=None, kind="json", name="ops", url="https://hooks.example.com/w"
    )
    repository = RepositoryFactory(organization=team, full_name="core/shop")
    reviewed = PullRequestFactory(
        repository=repository,
        number=1,
        state="merged",
        provider_created_at=MONDAY_8 - timedelta(days=3),
        merged_at=MONDAY_8 - timedelta(days=2),
        author_login="mona",
    )
    ReviewFactory(
        pull_request=reviewed,
        reviewer_login="kim",
        state="approved",
        submitted_at=MONDAY_8 - timedelta(days=3) + timedelta(hours=2),
    )
    PullRequestFactory(
        repository=repository,
        number=2,
        state="open",
        title="Old and quiet",
        provider_updated_at=MONDAY_8 - timedelta(days=10),
    )

    assert weekly_team_digests(now=MONDAY_8 - timedelta(days=1)) == 0  # Sunday
    assert weekly_team_digests(now=MONDAY_8) == 1
    rows = Notification.objects.filter(kind="weekly_team")
    assert sorted(rows.values_list("channel", flat=True)) == [
        "in_app",
        "in_app",
        "team",
    ]
    body = rows.first().body
    assert body.startswith("Core, the last seven days:")
    assert "Reviews: 1 pull request got a first review (the week before: 0)" in body
    assert "Merged: 1, of which reviewed: 1" in body
    assert "core/shop#2 Old and quiet" in body
    assert weekly_team_digests(now=MONDAY_8 + timedelta(minutes=30)) == 0  # once
    assert not Notification.objects.filter(
        key__startswith=f"weekly:{empty.pk}:"
    ).exists()
