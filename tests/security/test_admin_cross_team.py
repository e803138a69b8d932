"""A team admin cannot reach another team's rows through admin forms: every
foreign-key choice (raw-id fields too) is scoped and every save is checked."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from integrations.models import (
    ConnectedRepository,
    OrganizationMembership,
    WebhookEndpoint,
)
from reviews.models import RepositoryReviewSettings, Review
from tests.factories import OrganizationFactory, PullRequestFactory, ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    mine = OrganizationFactory(name="Team Mine", slug="mine")
    theirs = OrganizationFactory(name="Team Theirs", slug="theirs")
    pulls = {
        tag: PullRequestFactory(
            repository__organization=team,
            repository__full_name=f"acme/repo-{tag}",
            title=f"pull-{tag}",
        )
        for team, tag in ((mine, "mine"), (theirs, "theirs"))
    }
    hook = WebhookEndpoint(provider="github", repository=pulls["mine"].repository)
    hook.secret = "hook-secret"
    hook.save()
    review = ReviewFactory(pull_request=pulls["mine"], reviewer_login="kim")
    settings_ = RepositoryReviewSettings.objects.create(
        repository=pulls["mine"].repository
    )
    return {
        "mine": mine,
        "theirs": theirs,
        "pulls": pulls,
        "hook": hook,
        "review": review,
        "settings": settings_,
    }


def lead_client(world, *, also_member_of_theirs: bool = False) -> Client:
    user = get_user_model().objects.create_user("lead", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    OrganizationMembership.objects.create(
        organization=world["mine"], user=user, role="admin"
    )
    if also_member_of_theirs:
        OrganizationMembership.objects.create(organization=world["theirs"], user=user)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/reviews/repositoryreviewsettings/add/",
        "/admin/rewards/season/add/",
    ],
)
def test_add_forms_offer_only_own_teams_rows(world, path):
    page = lead_client(world).get(path).content.decode()
    assert "acme/repo-mine" in page or "Team Mine" in page
    assert "repo-theirs" not in page
    assert "Team Theirs" not in page


def settings_form(repository, **changes) -> dict:
    """The review settings change form as the admin posts it."""
    return {
        "repository": repository.pk,
        "auto_assign": "on",
        "strategy": "load_balance",
        "reviewer_count": 1,
        "pool": "[]",
        "teams": "{}",
        "sla_hours": 9,
        "sla_reminder": "comment",
        **changes,
    }


def test_settings_cannot_be_repointed_at_another_teams_repository(world):
    settings_ = world["settings"]
    theirs = world["pulls"]["theirs"].repository
    response = lead_client(world).post(
        f"/admin/reviews/repositoryreviewsettings/{settings_.pk}/change/",
        settings_form(theirs),
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    settings_.refresh_from_db()
    assert settings_.repository == world["pulls"]["mine"].repository


def test_no_settings_can_be_added_on_another_teams_repository(world):
    theirs = world["pulls"]["theirs"].repository
    response = lead_client(world).post(
        "/admin/reviews/repositoryreviewsettings/add/", settings_form(theirs)
    )
    assert response.status_code == 200
    assert RepositoryReviewSettings.objects.filter(repository=theirs).count() == 0


def test_hooks_are_registered_not_typed_into_the_admin(world, admin_client):
    """An added row would have no secret and no hook on the provider; an edited
    one would not reach the provider."""
    hook = world["hook"]
    theirs = world["pulls"]["theirs"].repository
    assert (
        admin_client.get("/admin/integrations/webhookendpoint/add/").status_code == 403
    )
    response = admin_client.post(
        "/admin/integrations/webhookendpoint/add/",
        {"provider": "github", "repository": theirs.pk, "is_active": "on"},
    )
    assert response.status_code == 403
    response = admin_client.post(
        f"/admin/integrations/webhookendpoint/{hook.pk}/change/",
        {"provider": "gitlab", "repository": theirs.pk, "events": '["push"]'},
    )
    assert response.status_code == 302  # nothing editable was posted
    delete = admin_client.post(
        f"/admin/integrations/webhookendpoint/{hook.pk}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403
    assert WebhookEndpoint.objects.count() == 1
    hook.refresh_from_db()
    assert (hook.provider, hook.repository, hook.events, hook.is_active) == (
        "github",
        world["pulls"]["mine"].repository,
        [],
        True,
    )


def test_a_review_cannot_be_moved_onto_another_teams_pull_through_raw_id(world):
    review = world["review"]
    theirs = world["pulls"]["theirs"]
    response = lead_client(world).post(
        f"/admin/reviews/review/{review.pk}/change/",
        {
            "pull_request": theirs.pk,
            "external_id": review.external_id,
            "reviewer_login": "kim",
            "state": "approved",
            "submitted_at_0": "2024-01-01",
            "submitted_at_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    assert Review.objects.get(pk=review.pk).pull_request == world["pulls"]["mine"]


def test_a_plain_membership_of_the_other_team_is_not_enough_to_move_rows(world):
    settings_ = world["settings"]
    theirs = world["pulls"]["theirs"].repository
    client = lead_client(world, also_member_of_theirs=True)
    response = client.post(
        f"/admin/reviews/repositoryreviewsettings/{settings_.pk}/change/",
        settings_form(theirs),
    )
    assert response.status_code == 403
    settings_.refresh_from_db()
    assert settings_.repository == world["pulls"]["mine"].repository


def test_the_team_admin_can_still_save_their_own_rows(world):
    settings_ = world["settings"]
    response = lead_client(world).post(
        f"/admin/reviews/repositoryreviewsettings/{settings_.pk}/change/",
        settings_form(settings_.repository, reviewer_count=2),
    )
    assert response.status_code == 302
    settings_.refresh_from_db()
    assert settings_.reviewer_count == 2


def test_repositories_are_connected_not_typed_into_the_admin(world, admin_client):
    assert (
        admin_client.get("/admin/integrations/connectedrepository/add/").status_code
        == 403
    )
    count = ConnectedRepository.objects.count()
    response = admin_client.post(
        "/admin/integrations/connectedrepository/add/",
        {"organization": world["mine"].pk, "provider": "github", "full_name": "a/b"},
    )
    assert response.status_code == 403
    assert ConnectedRepository.objects.count() == count


def test_installations_hide_a_repository_that_moved_to_another_team(world, client):
    from integrations.models import AppInstallation

    user = get_user_model().objects.create_user("installer", password="pw")
    OrganizationMembership.objects.create(organization=world["mine"], user=user)
    AppInstallation.objects.create(
        provider="github",
        host="github.com",
        installation_id=77,
        account_login="acme",
        linked_by=user,
        organization=world["mine"],
    )
    ConnectedRepository.objects.filter(
        pk__in=[world["pulls"][tag].repository.pk for tag in ("mine", "theirs")]
    ).update(installation_id=77)
    client.force_login(user)

    listing = client.get("/auth/github/installations").json()

    assert listing[0]["repositories"] == ["acme/repo-mine"]
