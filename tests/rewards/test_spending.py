"""Rewards to spend: the catalogue, redemptions, the debit line and balances
(CONTRACT §7, README "Rewards")."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership
from reviews.models import Member, ProviderIdentity
from rewards import spending
from rewards.models import PointsEntry, Redemption, Reward, Season, SpendEntry
from rewards.selectors import leaderboard_list
from rewards.services import rule_get
from tests.factories import OrganizationFactory, PullRequestFactory

pytestmark = pytest.mark.django_db

ADMIN = OrganizationMembership.Role.ADMIN


def person(username, team, *, role=OrganizationMembership.Role.MEMBER, points=0):
    """A signed-in person of ``team`` with ``points`` confirmed points there."""
    user = get_user_model().objects.create_user(username)
    member = Member.objects.create(display_name=username.title(), user=user)
    identity = ProviderIdentity.objects.create(
        provider="github", host="github.com", login=username, member=member
    )
    OrganizationMembership.objects.create(organization=team, user=user, role=role)
    if points:
        earn(identity, team, points)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def earn(identity, team, points, *, days_ago=1, state="merged"):
    pull = PullRequestFactory(repository__organization=team, state=state)
    return PointsEntry.objects.create(
        identity=identity,
        rule=rule_get("review_session"),
        rule_version=1,
        points=points,
        reason="test",
        source=f"test:{pull.pk}:{points}",
        pull_request=pull,
        earned_at=timezone.now() - timedelta(days=days_ago),
    )


@pytest.fixture
def team():
    return OrganizationFactory(slug="core", name="Core")


@pytest.fixture
def lead(team):
    return person("lead", team, role=ADMIN)


@pytest.fixture
def mona(team):
    return person("mona", team, points=120)


def add_reward(client, **fields):
    return client.post(
        "/api/v1/rewards/", {"name": "Team lunch", "cost": 100, **fields}, format="json"
    )


def test_a_team_admin_adds_a_reward_and_everyone_sees_it_with_their_balance(lead, mona):
    created = add_reward(lead[0], stock=2, description="On us")
    assert created.status_code == 201, created.content
    body = mona[0].get("/api/v1/rewards/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert {key: item[key] for key in ("name", "cost", "stock", "team")} == {
        "name": "Team lunch",
        "cost": 100,
        "stock": 2,
        "team": "core",
    }
    assert item["my_balance"] == 120
    assert item["id"] == created.json()["id"]


def test_redeem_holds_points_and_stock_until_an_admin_approves_once(lead, mona):
    reward_id = add_reward(lead[0], stock=2).json()["id"]
    asked = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/")
    assert asked.status_code == 201, asked.content
    redemption = asked.json()
    assert (redemption["status"], redemption["member"], redemption["cost"]) == (
        "pending",
        "mona",
        100,
    )
    assert Reward.objects.get().stock == 1
    held = spending.balance_of(
        member=mona[1].member, organization=Reward.objects.get().organization
    )
    assert (held.earned, held.spent, held.held, held.available) == (120, 0, 100, 20)
    # 20 points left: a second one is refused, nothing is held for it
    again = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/")
    assert again.status_code == 409
    assert "costs 100 points; you have 20" in again.json()["error"]
    assert Redemption.objects.count() == 1

    approved = lead[0].post(f"/api/v1/redemptions/{redemption['id']}/approve/")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "lead"
    twice = lead[0].post(f"/api/v1/redemptions/{redemption['id']}/approve/")
    assert twice.status_code == 409
    assert list(SpendEntry.objects.values_list("points", "reason")) == [
        (-100, "redeemed Team lunch")
    ]
    after = spending.balance_of(
        member=mona[1].member, organization=Reward.objects.get().organization
    )
    assert (after.earned, after.spent, after.held, after.available) == (120, 100, 0, 20)


def test_spending_never_lowers_the_leaderboard_or_the_level(lead, mona):
    reward_id = add_reward(lead[0]).json()["id"]
    redemption = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/").json()
    lead[0].post(f"/api/v1/redemptions/{redemption['id']}/approve/")
    assert SpendEntry.objects.get().points == -100
    board = leaderboard_list(user=mona[1], team="core")
    # level 2 starts at 50 points, level 3 at 150
    assert [(row["member"], row["points"], row["level"]) for row in board] == [
        ("mona", 120, 2)
    ]


def test_a_member_may_not_approve_nor_add_and_another_team_sees_nothing(
    team, lead, mona
):
    reward_id = add_reward(lead[0]).json()["id"]
    redemption = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/").json()
    bob = person("bob", team)
    assert (
        bob[0].post(f"/api/v1/redemptions/{redemption['id']}/approve/").status_code
        == 404
    )
    assert (
        mona[0].post(f"/api/v1/redemptions/{redemption['id']}/approve/").status_code
        == 403
    )
    assert add_reward(mona[0], name="Socks").status_code == 403
    other = OrganizationFactory(slug="other")
    stranger = person("stranger", other, role=ADMIN, points=500)
    assert stranger[0].get("/api/v1/rewards/").json()["count"] == 0
    assert stranger[0].post(f"/api/v1/rewards/{reward_id}/redeem/").status_code == 404
    assert stranger[0].get("/api/v1/redemptions/").json()["count"] == 0
    assert (
        stranger[0].post(f"/api/v1/redemptions/{redemption['id']}/approve/").status_code
        == 404
    )
    assert add_reward(stranger[0], team="core").status_code == 404
    assert SpendEntry.objects.count() == 0
    assert Redemption.objects.get().status == "pending"


def test_redemptions_list_shows_mine_and_to_admins_the_teams(team, lead, mona):
    reward_id = add_reward(lead[0]).json()["id"]
    mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/")
    bob = person("bob", team, points=300)
    bob[0].post(f"/api/v1/rewards/{reward_id}/redeem/")
    assert [
        row["member"] for row in mona[0].get("/api/v1/redemptions/").json()["results"]
    ] == ["mona"]
    assert sorted(
        row["member"]
        for row in lead[0].get("/api/v1/redemptions/?status=pending").json()["results"]
    ) == ["bob", "mona"]
    assert lead[0].get("/api/v1/redemptions/?status=approved").json()["count"] == 0


def test_decline_and_cancel_free_the_points_and_the_stock(lead, mona):
    reward_id = add_reward(lead[0], stock=1).json()["id"]
    first = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/").json()
    out = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/")
    assert out.status_code == 409
    assert "out of stock" in out.json()["error"]
    declined = lead[0].post(f"/api/v1/redemptions/{first['id']}/decline/")
    assert declined.json()["status"] == "declined"
    assert Reward.objects.get().stock == 1
    second = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/").json()
    cancelled = mona[0].post(f"/api/v1/redemptions/{second['id']}/decline/")
    assert cancelled.json()["status"] == "cancelled"
    assert Reward.objects.get().stock == 1
    assert SpendEntry.objects.count() == 0
    balance = spending.balance_of(
        member=mona[1].member, organization=Reward.objects.get().organization
    )
    assert balance.available == 120


def test_only_confirmed_points_of_that_team_are_spendable(team, lead):
    client, user = person("carol", team, points=50)
    identity = user.member.identities.get()
    earn(identity, team, 500, days_ago=0, state="open")  # provisional
    earn(identity, OrganizationFactory(slug="elsewhere"), 500)
    reward_id = add_reward(lead[0], cost=60).json()["id"]
    refused = client.post(f"/api/v1/rewards/{reward_id}/redeem/")
    assert refused.status_code == 409
    assert "you have 50 to spend in Core" in refused.json()["error"]


def test_a_season_that_resets_balances_keeps_lifetime_totals(team, lead, mona):
    Season.objects.create(
        organization=team,
        name="Q4",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=60),
        resets_balances=True,
    )
    balance = spending.balance_of(member=mona[1].member, organization=team)
    assert (balance.earned, balance.available) == (0, 0)
    earn(mona[1].member.identities.get(), team, 30, days_ago=0)
    assert spending.balance_of(member=mona[1].member, organization=team).available == 30
    board = leaderboard_list(user=mona[1], team="core")
    assert board[0]["points"] == 150


def test_an_approval_is_refused_when_the_points_were_taken_back(team, lead, mona):
    reward_id = add_reward(lead[0]).json()["id"]
    redemption = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/").json()
    taken = earn(mona[1].member.identities.get(), team, -50)
    assert taken.points == -50
    refused = lead[0].post(f"/api/v1/redemptions/{redemption['id']}/approve/")
    assert refused.status_code == 409
    assert "decline it instead" in refused.json()["error"]
    assert SpendEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "cost": 10}, "name"),
        ({"name": "x", "cost": 0}, "cost"),
        ({"name": "x", "cost": "ten"}, "cost"),
        ({"name": "x", "cost": 10, "stock": -1}, "stock"),
        ({"name": "x" * 101, "cost": 10}, "name"),
        ({"name": "x", "cost": 10, "price": 3}, "error"),
    ],
)
def test_bad_rewards_are_a_400_naming_the_field(lead, body, field):
    answer = lead[0].post("/api/v1/rewards/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert Reward.objects.count() == 0


def test_the_same_name_twice_is_a_409_and_unknown_ids_are_404(lead, mona):
    add_reward(lead[0])
    again = add_reward(lead[0])
    assert again.status_code == 409
    assert Reward.objects.count() == 1
    assert mona[0].post("/api/v1/rewards/999999/redeem/").status_code == 404
    assert mona[0].post(f"/api/v1/rewards/{2**70}/redeem/").status_code == 404
    assert mona[0].post(f"/api/v1/redemptions/{2**70}/approve/").status_code == 404
    assert mona[0].get("/api/v1/redemptions/?status=lost").status_code == 400


def test_withdrawn_rewards_leave_the_catalogue_and_cannot_be_redeemed(lead, mona):
    reward_id = add_reward(lead[0]).json()["id"]
    assert mona[0].delete(f"/api/v1/rewards/{reward_id}/").status_code == 403
    assert lead[0].delete(f"/api/v1/rewards/{reward_id}/").status_code == 204
    assert mona[0].get("/api/v1/rewards/").json()["count"] == 0
    assert mona[0].get("/api/v1/rewards/?active=false").json()["count"] == 1
    refused = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/")
    assert refused.status_code == 409
    assert "no longer offered" in refused.json()["error"]


def test_an_admin_of_several_teams_names_the_team(team, lead):
    OrganizationMembership.objects.create(
        organization=OrganizationFactory(slug="second"), user=lead[1], role=ADMIN
    )
    assert add_reward(lead[0]).status_code == 400
    assert add_reward(lead[0], team="second").status_code == 201
    assert Reward.objects.get().organization.slug == "second"


def test_the_rewards_page_redeems_and_an_admin_approves(client, team, lead, mona):
    reward_id = add_reward(lead[0], stock=3).json()["id"]
    client.force_login(mona[1])
    page = client.get("/dashboard/rewards/")
    assert page.status_code == 200
    assert b"Team lunch" in page.content
    assert b">120</p>" in page.content
    client.post(f"/dashboard/rewards/{reward_id}/redeem/")
    page = client.get("/dashboard/rewards/")
    assert b"Waiting for a team admin" in page.content
    client.force_login(lead[1])
    page = client.get("/dashboard/rewards/")
    assert b"Approve" in page.content
    redemption = Redemption.objects.get()
    client.post(f"/dashboard/redemptions/{redemption.pk}/approve/")
    assert Redemption.objects.get().status == "approved"
    assert SpendEntry.objects.get().points == -100
    # a member's forged approve changes nothing
    client.force_login(mona[1])
    again = client.post(f"/dashboard/redemptions/{redemption.pk}/approve/", follow=True)
    assert b"only the admins of Core do this" in again.content
    assert client.post(f"/dashboard/redemptions/{2**70}/approve/").status_code == 404
    assert client.post(f"/dashboard/rewards/{reward_id}/explode/").status_code == 404
    assert client.get(f"/dashboard/rewards/{reward_id}/redeem/").status_code == 405
    assert SpendEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_never_spend_the_same_points_twice(team, lead):
    client, user = person("dana", team, points=150)
    reward_id = add_reward(lead[0]).json()["id"]
    reward = Reward.objects.get(pk=reward_id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask():
        try:
            barrier.wait()
            spending.redemption_request(user=user, reward=reward)
            outcomes.append("ok")
        except spending.SpendError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert Redemption.objects.count() == 1


def test_a_team_admin_approves_in_the_django_admin(client, team, lead, mona):
    reward_id = add_reward(lead[0]).json()["id"]
    mine = mona[0].post(f"/api/v1/rewards/{reward_id}/redeem/").json()
    lead[1].is_staff = True
    lead[1].save()
    lead[1].user_permissions.set(
        Permission.objects.filter(codename__endswith="redemption")
    )
    client.force_login(lead[1])
    answer = client.post(
        "/admin/rewards/redemption/",
        {"action": "approve", "_selected_action": [mine["id"]]},
        follow=True,
    )
    assert b"Approved 1." in answer.content
    assert SpendEntry.objects.get().points == -100
    again = client.post(
        "/admin/rewards/redemption/",
        {"action": "approve", "_selected_action": [mine["id"]]},
        follow=True,
    )
    assert b"already approved" in again.content
    assert SpendEntry.objects.count() == 1


def test_an_admin_does_not_approve_their_own_request(team, lead):
    lead_user = lead[1]
    earn(lead_user.member.identities.get(), team, 500)
    reward_id = add_reward(lead[0]).json()["id"]
    own = lead[0].post(f"/api/v1/rewards/{reward_id}/redeem/").json()
    refused = lead[0].post(f"/api/v1/redemptions/{own['id']}/approve/")
    assert refused.status_code == 403
    assert "another of the team's admins" in refused.json()["error"]
    second = person("second", team, role=ADMIN)
    assert (
        second[0].post(f"/api/v1/redemptions/{own['id']}/approve/").status_code == 200
    )
    assert SpendEntry.objects.get().member == lead_user.member
