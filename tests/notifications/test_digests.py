"""The daily digest: at the start of each person's working day, once, with
what waits for them and where their pull requests stand, only from their
teams' repositories, in a fixed number of queries whatever the number of
people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from integrations.models import Organization, OrganizationMembership
from notifications.digests import daily_digests_prepare
from notifications.models import Notification, NotificationSettings
from reviews.models import Member, ProviderIdentity, ReviewerProfile, ReviewRequest
from tests.factories import PullRequestFactory, RepositoryFactory, ReviewFactory

pytestmark = pytest.mark.django_db

MONDAY_0905_PARIS = datetime(2026, 12, 7, 8, 5, tzinfo=UTC)


def person(name: str, team: Organization, zone: str = "Europe/Paris"):
    user = get_user_model().objects.create_user(
        name, email=f"{name}@example.com", password="pw"
    )
    OrganizationMembership.objects.create(organization=team, user=user)
    member = Member.objects.create(display_name=name, user=user)
    identity = ProviderIdentity.objects.create(
        provider="github", host="github.com", login=name.capitalize(), member=member
    )
    ReviewerProfile.objects.create(identity=identity, timezone=zone)
    return user


def asked(repository, number: int, login: str, hours: float, now: datetime):
    pull = PullRequestFactory(
        repository=repository,
        number=number,
        state="open",
        title=f"Change {number}",
        author_login="octocat",
    )
    ReviewRequest.objects.create(
        pull_request=pull,
        reviewer_login=login,
        requested_at=now - timedelta(hours=hours),
    )
    return pull


@pytest.fixture
def world():
    team = Organization.objects.create(name="Core", slug="core")
    other = Organization.objects.create(name="Other", slug="other")
    mona = person("mona", team)
    shop = RepositoryFactory(organization=team, full_name="core/shop")
    secret = RepositoryFactory(organization=other, full_name="other/secret")
    asked(shop, 1, "mona", 80, MONDAY_0905_PARIS)
    asked(shop, 2, "mona", 1, MONDAY_0905_PARIS)
    asked(secret, 3, "mona", 5, MONDAY_0905_PARIS)  # not her team's
    own = PullRequestFactory(
        repository=shop, number=4, state="open", title="Mine", author_login="Mona"
    )
    ReviewFactory(pull_request=own, reviewer_login="kim", state="changes_requested")
    return team, mona


def test_one_digest_at_the_start_of_the_working_day(world, settings):
    settings.SLACK_BOT_TOKEN = ""
    _, mona = world
    assert daily_digests_prepare(now=MONDAY_0905_PARIS) == 1
    rows = Notification.objects.filter(recipient=mona, kind="daily_digest")
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "in_app"]
    digest = rows.get(channel="in_app")
    assert digest.subject == "Today: 2 reviews waiting for you, 1 of yours open"
    assert "- core/shop#1 Change 1: waiting" in digest.body
    assert "(overdue)" in digest.body.splitlines()[1]  # since Thursday: past the SLA
    assert "- core/shop#4 Mine: changes requested: your turn" in digest.body
    assert "other/secret" not in digest.body
    # Once a day; and only in the first working hour, on working days.
    assert daily_digests_prepare(now=MONDAY_0905_PARIS + timedelta(minutes=30)) == 0
    assert daily_digests_prepare(now=MONDAY_0905_PARIS + timedelta(hours=3)) == 0
    saturday = MONDAY_0905_PARIS - timedelta(days=2)
    assert daily_digests_prepare(now=saturday) == 0
    assert rows.count() == 2


def test_nothing_to_say_or_turned_off_means_no_digest(world):
    team, mona = world
    ReviewRequest.objects.update(is_active=False)
    from reviews.models import PullRequest

    PullRequest.objects.filter(author_login="Mona").update(state="merged")
    assert daily_digests_prepare(now=MONDAY_0905_PARIS) == 0
    ReviewRequest.objects.update(is_active=True)
    NotificationSettings.objects.create(
        user=mona, kinds={"daily_digest": {"email": False, "slack": False}}
    )
    # Turned off by email and Slack: on the dashboard only.
    assert daily_digests_prepare(now=MONDAY_0905_PARIS) == 1
    assert list(Notification.objects.values_list("channel", flat=True)) == ["in_app"]


@pytest.mark.parametrize("people", [1, 30])
def test_a_fixed_number_of_queries_whatever_the_number_of_people(
    world, people, django_assert_max_num_queries
):
    team, _ = world
    shop = RepositoryFactory(organization=team, full_name="core/more")
    for index in range(people):
        name = f"dev{index}"
        person(name, team, zone="UTC" if index % 2 else "Europe/Paris")
        asked(shop, 100 + index, name.capitalize(), 2, MONDAY_0905_PARIS)
    with django_assert_max_num_queries(9):
        made = daily_digests_prepare(now=MONDAY_0905_PARIS)
    assert made == 1 + (people + 1) // 2  # mona and those in Paris
