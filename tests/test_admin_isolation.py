"""Staff who are not superusers see only their teams' rows in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from integrations.models import IntegrationHealth, OrganizationMembership, SyncRun
from reviews.models import Member, ReviewRequest
from rewards.models import Kudos, Quest, Redemption, Reward, Season, SpendEntry
from tests.factories import (
    CommentFactory,
    DeliveryFactory,
    OrganizationFactory,
    PullRequestFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

LISTS = [
    "/admin/integrations/organization/",
    "/admin/integrations/connectedrepository/",
    "/admin/integrations/webhookdelivery/",
    "/admin/reviews/pullrequest/",
    "/admin/reviews/review/",
    "/admin/reviews/comment/",
    "/admin/integrations/syncrun/",
    "/admin/integrations/integrationhealth/",
    "/admin/reviews/reviewrequest/",
    "/admin/rewards/season/",
    "/admin/rewards/reward/",
    "/admin/rewards/redemption/",
    "/admin/rewards/spendentry/",
    "/admin/rewards/quest/",
    "/admin/rewards/kudos/",
]


@pytest.fixture
def teams():
    mine = OrganizationFactory(name="Team Mine", slug="mine")
    theirs = OrganizationFactory(name="Team Theirs", slug="theirs")
    for team, tag in ((mine, "mine"), (theirs, "theirs")):
        pull = PullRequestFactory(
            repository__organization=team,
            repository__full_name=f"acme/repo-{tag}",
            title=f"pull-{tag}",
        )
        ReviewFactory(pull_request=pull, reviewer_login=f"reviewer-{tag}")
        CommentFactory(pull_request=pull, author_login=f"commenter-{tag}")
        DeliveryFactory(repository=pull.repository, delivery_id=f"delivery-{tag}")
        SyncRun.objects.create(
            repository=pull.repository,
            kind="incremental",
            status="failed",
            started_at=timezone.now(),
            error=f"error-{tag}",
        )
        IntegrationHealth.objects.create(
            repository=pull.repository,
            status="degraded",
            reasons=[f"reason-{tag}"],
            checked_at=timezone.now(),
        )
        ReviewRequest.objects.create(
            pull_request=pull,
            reviewer_login=f"asked-{tag}",
            requested_at=timezone.now(),
        )
        Season.objects.create(
            organization=team,
            name=f"season-{tag}",
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(days=30),
        )
        reward = Reward.objects.create(organization=team, name=f"reward-{tag}", cost=5)
        redemption = Redemption.objects.create(
            reward=reward,
            organization=team,
            member=Member.objects.create(display_name=f"member-{tag}"),
            cost=5,
            status="approved",
        )
        SpendEntry.objects.create(
            member=redemption.member,
            organization=team,
            points=-5,
            reason=f"redeemed reward-{tag}",
            redemption=redemption,
        )
        Quest.objects.create(
            organization=team,
            template="team-reviews",
            title=f"quest-{tag}",
            scope="team",
            points=5,
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(days=7),
        )
        Kudos.objects.create(
            organization=team,
            kind="peer",
            giver=redemption.member,
            receiver=redemption.member,
            message=f"kudos-{tag}",
        )
    return mine, theirs


@pytest.fixture
def staff_client(client, teams):
    user = get_user_model().objects.create_user("staffer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    OrganizationMembership.objects.create(organization=teams[0], user=user)
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", LISTS)
def test_staff_see_only_their_team(staff_client, path):
    response = staff_client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "theirs" not in page.lower()
    assert "mine" in page.lower()


def test_staff_cannot_open_another_teams_row(staff_client, teams):
    from reviews.models import PullRequest

    theirs = PullRequest.objects.get(title="pull-theirs")
    response = staff_client.get(f"/admin/reviews/pullrequest/{theirs.pk}/change/")
    assert response.status_code == 302  # "does not exist" for this person
    assert "pull-theirs" not in staff_client.get(response["Location"]).content.decode()


def test_people_and_identities_are_for_superusers(staff_client):
    assert staff_client.get("/admin/reviews/member/").status_code == 403


def test_organization_pickers_offer_only_own_teams(staff_client, teams):
    from integrations.models import ConnectedRepository

    mine = ConnectedRepository.objects.get(full_name="acme/repo-mine")
    page = staff_client.get(
        f"/admin/integrations/connectedrepository/{mine.pk}/change/"
    ).content.decode()
    assert "Team Mine" in page
    assert "Team Theirs" not in page


def test_superusers_see_everything(admin_client, teams):
    page = admin_client.get("/admin/reviews/pullrequest/").content.decode()
    assert "pull-mine" in page and "pull-theirs" in page


def test_team_members_who_are_not_admins_cannot_change_rows(staff_client, teams):
    from integrations.models import ConnectedRepository

    mine = ConnectedRepository.objects.get(full_name="acme/repo-mine")
    url = f"/admin/integrations/connectedrepository/{mine.pk}/change/"
    page = staff_client.get(url).content.decode()
    assert 'name="_save"' not in page  # read-only for a plain member
    response = staff_client.post(url, {"full_name": "hijacked"})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.full_name == "acme/repo-mine"


def test_team_admins_can_change_their_rows(client, teams):
    from integrations.models import ConnectedRepository

    user = get_user_model().objects.create_user("lead", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    OrganizationMembership.objects.create(
        organization=teams[0], user=user, role="admin"
    )
    client.force_login(user)
    mine = ConnectedRepository.objects.get(full_name="acme/repo-mine")
    page = client.get(
        f"/admin/integrations/connectedrepository/{mine.pk}/change/"
    ).content.decode()
    assert 'name="_save"' in page
