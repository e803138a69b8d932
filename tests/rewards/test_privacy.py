"""The privacy charter (README "Privacy"): a person off the boards is absent
from everyone else's, in the API and on the pages; a teammate's ledger is a
404 unless they share it, and each look at a shared one is listed for them;
a team's board shows names, only one's own, or nothing; statistics of a small
group are not shown per person."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from integrations.models import Organization, OrganizationMembership
from reviews.models import Member, ProviderIdentity
from rewards.models import PointsView
from tests.factories import OrganizationFactory, PullRequestFactory
from tests.rewards.test_rewards_api import entry

pytestmark = pytest.mark.django_db


def person(username: str, team, points: int, pull, *, role="member"):
    """An account on ``team`` whose GitHub login earned ``points``."""
    user = get_user_model().objects.create_user(username, password="pw")
    OrganizationMembership.objects.create(organization=team, user=user, role=role)
    identity = entry(username, points, pull)
    member = Member.objects.create(display_name=username.title(), user=user)
    ProviderIdentity.objects.filter(pk=identity.pk).update(member=member)
    return user


@pytest.fixture
def team():
    core = OrganizationFactory(slug="core", name="Core")
    pull = PullRequestFactory(repository__organization=core, state="merged")
    people = {
        name: person(
            name, core, points, pull, role="admin" if name == "lead" else "member"
        )
        for name, points in (("lead", 30), ("mona", 20), ("kim", 10))
    }
    return core, people


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def board(user, query="team=core") -> dict[str, dict]:
    rows = api(user).get(f"/api/v1/leaderboard/?{query}").json()["results"]
    return {row["member"]: row for row in rows}


def test_off_the_boards_for_everyone_but_oneself(team, client):
    _, people = team
    Member.objects.filter(user=people["mona"]).update(on_leaderboards=False)
    assert set(board(people["kim"])) == {"lead", "kim"}
    assert set(board(people["kim"], "period=all")) == {"lead", "kim"}
    mine = board(people["mona"])
    assert set(mine) == {"lead", "mona", "kim"}  # her points still count
    assert (mine["mona"]["is_me"], mine["mona"]["on_leaderboards"]) == (True, False)
    assert mine["lead"]["is_me"] is False
    client.force_login(people["kim"])
    page = client.get("/dashboard/leaderboard/?team=core").content.decode()
    assert "github:mona" not in page and "github:lead" in page
    client.force_login(people["mona"])
    page = client.get("/dashboard/leaderboard/?team=core").content.decode()
    assert "only you see this row" in page


def test_a_teammates_ledger_is_404_unless_shared_and_each_look_is_listed(team, client):
    _, people = team
    kim = api(people["kim"])
    for url in ("/api/v1/points/?member=mona", "/api/v1/points/?member=github:mona"):
        answer = kim.get(url)
        assert answer.status_code == 404, url
        assert "shared with you" in answer.json()["detail"]
    client.force_login(people["kim"])
    assert client.get("/dashboard/points/?member=mona").status_code == 404
    # Unknown people answer the same: whether someone exists is not said.
    assert kim.get("/api/v1/points/?member=nobody").status_code == 404
    assert kim.get("/api/v1/points/").status_code == 200  # one's own, always

    Member.objects.filter(user=people["mona"]).update(shares_points=True)
    items = kim.get("/api/v1/points/?member=mona").json()["results"]
    assert [item["points"] for item in items] == [20]
    assert client.get("/dashboard/points/?member=mona").status_code == 200
    kim.get("/api/v1/points/?member=mona")  # again within minutes: one line
    assert list(PointsView.objects.values_list("viewer__username", "via")) == [
        ("kim", "api")
    ]
    client.force_login(people["mona"])
    page = client.get("/dashboard/points/").content.decode()
    assert "Who looked at your points" in page and "kim" in page

    # Shared, but not with someone of another team.
    outsider = get_user_model().objects.create_user("eve")
    OrganizationMembership.objects.create(
        organization=OrganizationFactory(slug="other"), user=outsider
    )
    assert api(outsider).get("/api/v1/points/?member=mona").status_code == 404


def test_a_team_board_shows_names_only_ones_own_or_nothing(team, client):
    core, people = team
    core.leaderboard = Organization.Board.ANONYMOUS
    core.save()
    seen = board(people["mona"])
    assert set(seen) == {"Teammate #1", "mona", "Teammate #3"}
    assert seen["Teammate #1"]["identities"] == []
    assert seen["mona"]["identities"] == ["github:mona"]
    # The board of all one's teams counts only teams that show names.
    assert board(people["mona"], "period=all") == {}
    client.force_login(people["mona"])
    page = client.get("/dashboard/leaderboard/?team=core").content.decode()
    assert "Teammate #1" in page and "github:lead" not in page
    assert "Congratulations" not in page

    core.leaderboard = Organization.Board.OFF
    core.save()
    answer = api(people["mona"]).get("/api/v1/leaderboard/?team=core")
    assert answer.status_code == 404
    page = client.get("/dashboard/leaderboard/?team=core").content.decode()
    assert "leaderboard is off: its admins chose so" in page


def test_only_team_admins_choose_the_board(team, client):
    core, people = team
    client.force_login(people["kim"])
    url = "/dashboard/teams/core/leaderboard/"
    assert client.post(url, {"leaderboard": "off"}).status_code == 403
    client.force_login(people["lead"])
    assert client.post(url, {"leaderboard": "sideways"}).status_code == 302
    core.refresh_from_db()
    assert core.leaderboard == "names"  # refused
    client.post(url, {"leaderboard": "anonymous"})
    core.refresh_from_db()
    assert core.leaderboard == "anonymous"


def test_the_person_sets_their_side_on_the_settings_page(team, client):
    _, people = team
    client.force_login(people["mona"])
    page = client.get("/dashboard/settings/").content.decode()
    assert "Show me on team leaderboards" in page
    answer = client.post("/dashboard/settings/privacy/", {"shares_points": "on"})
    assert answer.status_code == 302
    member = Member.objects.get(user=people["mona"])
    assert (member.on_leaderboards, member.shares_points) == (False, True)


def test_statistics_of_a_small_group_are_not_shown_per_person(team, client):
    core, people = team
    cache.clear()
    client.force_login(people["mona"])
    page = client.get("/dashboard/stats/?team=core").content.decode()
    assert "shown for groups of five people or more" in page
    for name in ("ana", "bo"):
        OrganizationMembership.objects.create(
            organization=core,
            user=get_user_model().objects.create_user(name),
        )
    cache.clear()
    page = client.get("/dashboard/stats/?team=core").content.decode()
    assert "shown for groups of five people or more" not in page
