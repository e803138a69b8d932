"""Badges and levels: a badge is held once, from the moment its qualifying
line was earned, whatever order and however often awarding runs; levels follow
the published curve; what a teammate sees follows the privacy charter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership
from reviews.models import Member, ProviderIdentity
from rewards.badges import BADGES, badges_award, level_of
from rewards.models import BadgeAward, PointsEntry
from rewards.services import rule_get
from tests.factories import OrganizationFactory, PullRequestFactory

pytestmark = pytest.mark.django_db


def person(username: str, team) -> tuple:
    user = get_user_model().objects.create_user(username)
    OrganizationMembership.objects.create(organization=team, user=user)
    member = Member.objects.create(display_name=username, user=user)
    identity = ProviderIdentity.objects.create(
        provider="github", host="github.com", login=username, member=member
    )
    return user, identity


def sessions(identity, count: int, team, *, start_days_ago: int = 30) -> list:
    """``count`` review-session lines, a day apart, oldest first."""
    pull = PullRequestFactory(repository__organization=team, state="merged")
    lines = []
    for index in range(count):
        lines.append(
            PointsEntry.objects.create(
                identity=identity,
                rule=rule_get("review_session"),
                rule_version=1,
                points=10,
                reason="reviewed",
                source=f"{identity.login}:{index}",
                pull_request=pull,
                earned_at=timezone.now() - timedelta(days=start_days_ago - index),
            )
        )
    return lines


@pytest.mark.parametrize(
    ("points", "level"),
    [(0, 1), (49, 1), (50, 2), (149, 2), (150, 3), (500, 5), (2249, 9), (2250, 10)],
)
def test_levels_follow_the_published_curve(points, level):
    assert level_of(points).number == level


def test_a_badge_is_held_once_from_the_qualifying_line():
    team = OrganizationFactory(slug="core")
    _, mona = person("mona", team)
    lines = sessions(mona, 12, team)
    # A take-back (a dismissed review) is not a line of work.
    PointsEntry.objects.create(
        identity=mona,
        rule=rule_get("review_session"),
        rule_version=1,
        points=-10,
        reason="review dismissed",
        source="mona:takeback",
        pull_request=lines[0].pull_request,
        earned_at=lines[0].earned_at + timedelta(hours=1),
    )
    assert badges_award() == 2  # first review, regular reviewer
    assert badges_award() == 0  # again: nothing more
    held = dict(BadgeAward.objects.values_list("badge", "awarded_at"))
    assert held == {
        "first_review": lines[0].earned_at,
        "regular_reviewer": lines[9].earned_at,  # the tenth line, not the last
    }
    # Awarded again from scratch (a badge added later, say): the same moments.
    BadgeAward.objects.all().delete()
    badges_award()
    assert dict(BadgeAward.objects.values_list("badge", "awarded_at")) == held


def test_badges_and_profiles_are_shown_as_the_person_chose(client):
    team = OrganizationFactory(slug="core")
    mona_user, mona = person("mona", team)
    kim_user, _ = person("kim", team)
    sessions(mona, 5, team)
    badges_award()
    api = APIClient()
    api.force_authenticate(kim_user)
    assert api.get("/api/v1/badges/").json()["results"] == []  # not shared
    client.force_login(kim_user)
    assert client.get("/dashboard/profile/?member=mona").status_code == 404

    Member.objects.filter(user=mona_user).update(shares_points=True)
    (item,) = api.get("/api/v1/badges/").json()["results"]
    assert (item["badge"], item["member"], item["name"]) == (
        "first_review",
        "mona",
        "First review",
    )
    page = client.get("/dashboard/profile/?member=mona").content.decode()
    assert "First review" in page and "Level 2" in page  # 50 points
    assert "to earn" not in page  # someone else's: only what they hold

    api.force_authenticate(mona_user)
    board = api.get("/api/v1/leaderboard/").json()["results"]
    assert [(row["member"], row["level"]) for row in board] == [("mona", 2)]
    client.force_login(mona_user)
    own = client.get("/dashboard/profile/").content.decode()
    assert "Your profile" in own and "Level 2" in own
    assert "to earn" in own  # what is left to earn shows on one's own profile


def test_every_badge_names_a_rule_that_exists():
    from rewards.services import DEFAULT_RULES

    assert {badge.rule for badge in BADGES} <= set(DEFAULT_RULES)
    assert len({badge.key for badge in BADGES}) == len(BADGES)


def test_a_streak_counts_working_days_and_time_away_never_breaks_it():
    from datetime import UTC, datetime

    from reviews.models import AvailabilityWindow, ReviewerProfile
    from rewards.streaks import Streak, streak_of

    team = OrganizationFactory(slug="core")
    _, mona = person("mona", team)
    ReviewerProfile.objects.create(identity=mona, timezone="Europe/Paris")
    pull = PullRequestFactory(repository__organization=team, state="merged")

    def reviewed(day: int, hour: int = 10) -> None:
        PointsEntry.objects.create(
            identity=mona,
            rule=rule_get("review_session"),
            rule_version=1,
            points=10,
            reason="reviewed",
            source=f"mona:{day}:{hour}",
            pull_request=pull,
            earned_at=datetime(2026, 11, day, hour, tzinfo=UTC),
        )

    # Mon 16 - Fri 20 November, then away Mon 23 - Tue 24, back Wed 25.
    for day in (16, 17, 18, 19, 20, 25):
        reviewed(day)
    reviewed(18, 23)  # 00:00 on the 19th in Paris: the same days, still 5
    AvailabilityWindow.objects.create(
        identity=mona,
        starts_at=datetime(2026, 11, 22, 23, tzinfo=UTC),
        ends_at=datetime(2026, 11, 24, 22, tzinfo=UTC),
    )
    member = mona.member
    wednesday_noon = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert streak_of(member, now=wednesday_noon) == Streak(6, 6)
    # Thursday morning, before a review: today cannot break it yet.
    thursday = datetime(2026, 11, 26, 8, tzinfo=UTC)
    assert streak_of(member, now=thursday).current == 6
    # Friday: Thursday went by without a review.
    assert streak_of(member, now=datetime(2026, 11, 27, 8, tzinfo=UTC)) == Streak(0, 6)
    # Without the time away, Monday and Tuesday would have broken it.
    AvailabilityWindow.objects.all().delete()
    assert streak_of(member, now=wednesday_noon) == Streak(1, 5)


def test_give_and_take_is_on_ones_own_profile_only(client):
    team = OrganizationFactory(slug="core")
    mona_user, _ = person("mona", team)
    kim_user, _ = person("kim", team)
    Member.objects.filter(user=mona_user).update(shares_points=True)
    client.force_login(mona_user)
    assert "Give and take" in client.get("/dashboard/profile/").content.decode()
    client.force_login(kim_user)
    page = client.get("/dashboard/profile/?member=mona").content.decode()
    assert "Level 1" in page and "Give and take" not in page
