"""GET /api/v1/leaderboard/ and /api/v1/points/ (CONTRACT §5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership
from reviews.models import Member, ProviderIdentity
from rewards.models import PointsEntry
from rewards.services import rule_get
from tests.factories import OrganizationFactory, PullRequestFactory

pytestmark = pytest.mark.django_db


def entry(login, points, pull, *, provider="github", rule="review_session", days_ago=0):
    identity, _ = ProviderIdentity.objects.get_or_create(
        provider=provider, host=f"{provider}.com", login=login
    )
    created = PointsEntry.objects.create(
        identity=identity,
        rule=rule_get(rule),
        rule_version=1,
        points=points,
        reason="test",
        source=f"{login}:{pull.pk}:{points}:{days_ago}:{rule}",
        pull_request=pull,
        earned_at=timezone.now() - timedelta(days=days_ago),
    )
    if days_ago:
        PointsEntry.objects.filter(pk=created.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )
    return identity


@pytest.fixture
def data():
    mine, theirs = OrganizationFactory(slug="mine"), OrganizationFactory(slug="theirs")
    pull = PullRequestFactory(repository__organization=mine, state="merged")
    other = PullRequestFactory(repository__organization=theirs, state="merged")
    mona_gh = entry("mona", 10, pull)
    mona_gl = entry("mona-gl", 10, pull, provider="gitlab")
    entry("mona", 3, pull, rule="merge_reviewer", days_ago=10)
    entry("hubot", 10, pull, days_ago=40)
    entry("stranger", 50, other)
    user = get_user_model().objects.create_user("mona")
    person = Member.objects.create(display_name="Mona", user=user)
    ProviderIdentity.objects.filter(pk__in=[mona_gh.pk, mona_gl.pk]).update(
        member=person
    )
    OrganizationMembership.objects.create(organization=mine, user=user)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_leaderboard_combines_a_persons_identities(data):
    body = data.get("/api/v1/leaderboard/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["results"] == [
        {
            "member": "mona",
            "identities": ["github:mona", "gitlab:mona-gl"],
            "points": 23,
            "provisional": 0,
            "reviews": 2,
            "is_me": True,
            "on_leaderboards": True,
            "level": 1,
        },
        {
            "member": "github:hubot",
            "identities": ["github:hubot"],
            "points": 10,
            "provisional": 0,
            "reviews": 1,
            "is_me": False,
            "on_leaderboards": True,
            "level": 1,
        },
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("period=week", {"mona": 20}),
        ("period=month", {"mona": 23}),
        ("period=all", {"mona": 23, "github:hubot": 10}),
        ("team=mine", {"mona": 23, "github:hubot": 10}),
        ("team=theirs", {}),  # not this person's team
    ],
)
def test_leaderboard_filters(data, query, expected):
    rows = data.get(f"/api/v1/leaderboard/?{query}").json()["results"]
    assert {row["member"]: row["points"] for row in rows} == expected


def test_bad_period_is_400(data):
    response = data.get("/api/v1/leaderboard/?period=year")
    assert response.status_code == 400
    assert (
        "period must be one of: week, month, season, all" in (response.json()["error"])
    )


def test_points_history_fields_and_member_filter(data):
    items = data.get("/api/v1/points/?member=mona").json()["results"]
    assert [item["points"] for item in items] == [10, 10, 3]
    assert set(items[0]) == {
        "member",
        "points",
        "reason",
        "provider",
        "repository",
        "number",
        "provisional",
        "earned_at",
        "created_at",
    }
    assert {item["member"] for item in items} == {"mona"}
    by_login = data.get("/api/v1/points/?member=github:mona").json()["results"]
    assert [item["points"] for item in by_login] == [10, 3]  # that login only
    # Someone else's ledger is theirs alone (README "Privacy"): a login nobody
    # linked cannot be shared, so it is a 404 like any unshared one.
    assert data.get("/api/v1/points/?member=github:hubot").status_code == 404
    assert data.get("/api/v1/points/?member=github:stranger").status_code == 404


def test_points_list_query_count_is_constant(data, django_assert_max_num_queries):
    pull = PullRequestFactory(
        repository__organization=OrganizationMembership.objects.first().organization
    )
    for number in range(30):
        entry(f"user{number}", 1, pull)
    with django_assert_max_num_queries(3):
        assert data.get("/api/v1/points/?page_size=40").status_code == 200
    # The board, the person's own member (privacy) and lifetime points (levels).
    with django_assert_max_num_queries(5):
        assert data.get("/api/v1/leaderboard/").status_code == 200


def test_review_credit_is_provisional_until_the_pull_request_finishes(data, settings):
    settings.REWARDS_HOLD_DAYS = 14
    mine = OrganizationMembership.objects.first().organization
    open_pull = PullRequestFactory(repository__organization=mine, state="open")
    entry("mona", 10, open_pull, rule="review_session")
    entry("hubot", 10, open_pull, rule="review_session", days_ago=20)  # past hold

    board = {
        row["member"]: (row["points"], row["provisional"])
        for row in data.get("/api/v1/leaderboard/").json()["results"]
    }
    assert board == {"mona": (23, 10), "github:hubot": (20, 0)}
    history = data.get("/api/v1/points/?member=mona").json()["results"]
    assert [item["provisional"] for item in history] == [True, False, False, False]

    open_pull.state = "merged"
    open_pull.save()
    rows = data.get("/api/v1/leaderboard/").json()["results"]
    assert rows[0]["member"] == "mona" and (
        rows[0]["points"],
        rows[0]["provisional"],
    ) == (
        33,
        0,
    )

    settings.REWARDS_HOLD_DAYS = 0  # hold switched off: everything counts at once
    other = PullRequestFactory(repository__organization=mine, state="open")
    entry("mona", 5, other, rule="review_comment")
    rows = data.get("/api/v1/leaderboard/").json()["results"]
    assert (rows[0]["points"], rows[0]["provisional"]) == (38, 0)


def test_season_leaderboard(data):
    from rewards.models import Season

    mine = OrganizationMembership.objects.first().organization
    response = data.get("/api/v1/leaderboard/?period=season")
    assert response.status_code == 400
    assert "no season is running" in response.json()["error"]

    Season.objects.create(
        organization=mine,
        name="Autumn",
        starts_at=timezone.now() - timedelta(days=5),
        ends_at=timezone.now() + timedelta(days=20),
    )
    rows = data.get("/api/v1/leaderboard/?period=season").json()["results"]
    assert {row["member"]: row["points"] for row in rows} == {"mona": 20}
