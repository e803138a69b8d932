"""Daily trend snapshots: the figures of each repository and team, taking a day
again, the two-year horizon, the API's scoping and filters, and the Trends page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership
from reviews.models import ReviewRequest
from rewards.models import PointsEntry, TrendSnapshot
from rewards.services import rule_get
from rewards.snapshots import snapshots_take
from tests.factories import (
    OrganizationFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)
from tests.test_dashboard import seed_member

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 18)  # a Wednesday
NOW = datetime(2026, 11, 19, 0, 30, tzinfo=UTC)
NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@pytest.fixture
def team_world():
    team = OrganizationFactory(slug="core", name="Core")
    api, web = (RepositoryFactory(organization=team) for _ in range(2))
    RepositoryFactory(organization=team, is_active=False)  # not followed: no row
    user, (mona,) = seed_member("mona", team)
    # api: two open (one quiet for five days: stuck), one draft quiet too.
    fresh = PullRequestFactory(
        repository=api, state="open", provider_updated_at=NOW - timedelta(hours=2)
    )
    PullRequestFactory(
        repository=api, state="open", provider_updated_at=NOW - timedelta(days=5)
    )
    PullRequestFactory(
        repository=api,
        state="open",
        draft=True,
        provider_updated_at=NOW - timedelta(days=9),
    )
    ReviewRequest.objects.create(
        pull_request=fresh, reviewer_login="mona", requested_at=NOON
    )
    ReviewRequest.objects.create(
        pull_request=fresh,
        reviewer_login="kim",
        requested_at=NOON,
        responded_at=NOON + timedelta(hours=1),
    )
    # web: opened Tuesday 10:00, first reviewed by someone else 4 hours later.
    opened = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    pull = PullRequestFactory(
        repository=web,
        state="merged",
        author_login="octocat",
        provider_created_at=opened,
    )
    ReviewFactory(pull_request=pull, reviewer_login="octocat", submitted_at=opened)
    ReviewFactory(
        pull_request=pull,
        reviewer_login="mona",
        submitted_at=opened + timedelta(hours=4),
    )
    ReviewFactory(pull_request=pull, reviewer_login="kim", submitted_at=NOON)
    for points, when in ((10, NOON), (5, NOON), (7, NOON - timedelta(days=1))):
        PointsEntry.objects.create(
            identity=mona,
            rule=rule_get("review_session"),
            rule_version=1,
            points=points,
            reason="reviewed",
            source=f"seed:{points}:{when:%d}",
            pull_request=pull,
            repository=web,
            earned_at=when,
        )
    return team, api, web, user


def test_a_day_of_figures_per_repository_and_team(
    team_world, django_assert_max_num_queries
):
    team, api, web, _ = team_world
    with django_assert_max_num_queries(13):  # 12, and the bots' logins
        assert snapshots_take(day=DAY, now=NOW) == 3  # two repositories, one team
    rows = {
        (row.repository_id, row.organization_id): row
        for row in TrendSnapshot.objects.filter(day=DAY)
    }
    figures = (
        "open_pulls",
        "waiting_requests",
        "stuck_pulls",
        "reviews",
        "points",
        "median_first_review_hours",
        "p75_first_review_hours",
    )

    def of(row):
        return tuple(getattr(row, name) for name in figures)

    assert of(rows[(api.pk, None)]) == (3, 1, 1, 0, 0, None, None)
    assert of(rows[(web.pk, None)]) == (0, 0, 0, 1, 15, 4.0, 4.0)
    assert of(rows[(None, team.pk)]) == (3, 1, 1, 1, 15, 4.0, 4.0)


def test_taking_a_day_again_replaces_it_and_two_years_is_the_horizon(team_world):
    team, *_ = team_world
    old = TrendSnapshot.objects.create(organization=team, day=DAY - timedelta(days=731))
    kept = TrendSnapshot.objects.create(
        organization=team, day=DAY - timedelta(days=700)
    )
    snapshots_take(day=DAY, now=NOW)
    snapshots_take(day=DAY, now=NOW)
    assert TrendSnapshot.objects.filter(day=DAY).count() == 3
    assert not TrendSnapshot.objects.filter(pk=old.pk).exists()
    assert TrendSnapshot.objects.filter(pk=kept.pk).exists()


def test_the_api_shows_only_ones_teams_with_filters(team_world):
    team, api, web, user = team_world
    other = OrganizationFactory(slug="other")
    secret = RepositoryFactory(organization=other, full_name="acme/secret")
    snapshots_take(day=DAY, now=NOW)
    snapshots_take(day=DAY - timedelta(days=1), now=NOW - timedelta(days=1))
    client = APIClient()
    client.force_authenticate(user)
    body = client.get("/api/v1/snapshots/").json()
    assert body["count"] == 6
    assert {row["repository_name"] for row in body["results"]} == {
        api.full_name,
        web.full_name,
        None,
    }
    assert "acme/secret" not in str(body) and "other" not in str(body)
    team_rows = client.get("/api/v1/snapshots/?team=core&since=2026-11-18").json()
    by_kind = {(row["team"], row["repository"]) for row in team_rows["results"]}
    assert by_kind == {("core", None), (None, api.pk), (None, web.pk)}
    by_id = client.get(f"/api/v1/snapshots/?repository={web.pk}").json()["results"]
    by_name = client.get(f"/api/v1/snapshots/?repository={web.full_name}").json()[
        "results"
    ]
    assert [row["day"] for row in by_id] == ["2026-11-17", "2026-11-18"]
    assert by_id == by_name
    assert by_id[1]["points"] == 15 and by_id[0]["points"] == 7
    assert client.get(f"/api/v1/snapshots/?repository={secret.pk}").json()["count"] == 0
    assert client.get("/api/v1/snapshots/?team=other").json()["count"] == 0
    bad = client.get("/api/v1/snapshots/?since=yesterday")
    assert (bad.status_code, bad.json()) == (
        400,
        {"error": "since must be a date, YYYY-MM-DD"},
    )


def test_the_trends_page_draws_twelve_weeks(
    client, team_world, django_assert_max_num_queries
):
    team, _, _, user = team_world
    today = date.today()
    for offset in range(1, 15):
        TrendSnapshot.objects.create(
            organization=team,
            day=today - timedelta(days=offset),
            open_pulls=10 if offset > 7 else 5,  # halved: better
            reviews=2 if offset > 7 else 4,  # doubled: better
            waiting_requests=3,
            median_first_review_hours=None if offset == 3 else 6.0,
        )
    client.force_login(user)
    with django_assert_max_num_queries(8):
        response = client.get("/dashboard/trends/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<polyline") == 6
    assert "▼\n        50%" in page and "down against the week before, better" in page
    assert "▲\n        100%" in page and "up against the week before, better" in page
    assert "▶ steady" in page  # waiting requests
    stranger = get_user_model().objects.create_user("stranger")
    client.force_login(stranger)
    page = client.get("/dashboard/trends/").content.decode()
    assert "Join or start a team" in page and "<polyline" not in page


def test_a_team_without_snapshots_is_told_when_they_start(client):
    user = get_user_model().objects.create_user("new")
    OrganizationMembership.objects.create(
        organization=OrganizationFactory(slug="fresh"), user=user
    )
    client.force_login(user)
    assert (
        "the first one is taken tonight"
        in client.get("/dashboard/trends/").content.decode()
    )


def test_the_daily_snapshot_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", verbosity=0)
    assert (
        PeriodicTask.objects.get(task="rewards.snapshots_take").interval.every == 86400
    )
