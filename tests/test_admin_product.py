"""The admin fits the product: branded, the product's models first, what the
provider owns read-only, repositories given to teams in bulk, an assignment's
reasons in words."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from integrations.models import ConnectedRepository, OrganizationMembership
from reviews.assignment.explanations import explanation_lines
from reviews.models import ReviewAssignment
from tests.factories import OrganizationFactory, PullRequestFactory, RepositoryFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/integrations/connectedrepository/"


def test_the_index_is_branded_and_lists_the_product_first(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "<title>Teams, repositories, reviews and points | CodeQuest admin" in page
    assert "CodeQuest Rewards administration" in page
    sections = re.findall(r"<caption>\s*<a [^>]*>([^<]+)</a>", page)
    assert sections[:3] == ["Repositories and webhooks", "Reviews", "Rewards"]
    assert sections[3:] and all(
        name.startswith("Framework · ") for name in sections[3:]
    )
    assert "Framework · Periodic Tasks" in sections


def test_provider_owned_fields_cannot_be_typed_over(admin_client):
    repository = RepositoryFactory(full_name="acme/shop", webhook_status="verified")
    team = OrganizationFactory(name="Core", slug="core")
    response = admin_client.post(
        f"{CHANGELIST}{repository.pk}/change/",
        {
            "organization": team.pk,
            "full_name": "evil/elsewhere",
            "host": "evil.example",
            "webhook_status": "none",
            "is_active": "",
        },
    )
    assert response.status_code == 302
    repository.refresh_from_db()
    assert repository.organization == team  # the one field decided here
    assert (
        repository.full_name,
        repository.host,
        repository.webhook_status,
        repository.is_active,
    ) == ("acme/shop", "github.com", "verified", True)


def assign(client: Client, repositories, team=None):
    data = {
        "action": "assign_to_team",
        "_selected_action": [repository.pk for repository in repositories],
    }
    if team is not None:
        data.update(apply="1", organization=team.pk)
    return client.post(CHANGELIST, data, follow=team is not None)


def test_a_superuser_assigns_repositories_to_a_team_in_bulk(admin_client):
    team = OrganizationFactory(name="Core", slug="core")
    loose = [
        RepositoryFactory(full_name=f"acme/r{number}", organization=None)
        for number in range(3)
    ]
    form = assign(admin_client, loose[:2]).content.decode()
    assert "Assign repositories to a team" in form
    assert "acme/r0" in form and "acme/r1" in form and "acme/r2" not in form
    page = assign(admin_client, loose[:2], team).content.decode()
    assert "2 repositories now belong to Core." in page
    owners = dict(ConnectedRepository.objects.values_list("full_name", "organization"))
    assert owners == {"acme/r0": team.pk, "acme/r1": team.pk, "acme/r2": None}


@pytest.fixture
def lead():
    """Staff, admin of Core and Web, a plain member of Ops."""
    user = get_user_model().objects.create_user("lead", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    teams = {
        slug: OrganizationFactory(name=slug.title(), slug=slug)
        for slug in ("core", "web", "ops", "else")
    }
    for slug, role in (("core", "admin"), ("web", "admin"), ("ops", "member")):
        OrganizationMembership.objects.create(
            organization=teams[slug], user=user, role=role
        )
    client = Client()
    client.force_login(user)
    return client, teams


def test_a_team_admin_moves_only_what_they_administer(lead):
    client, teams = lead
    mine = RepositoryFactory(full_name="acme/mine", organization=teams["core"])
    ops = RepositoryFactory(full_name="acme/ops", organization=teams["ops"])
    form = assign(client, [mine, ops]).content.decode()
    options = re.findall(r"<option [^>]*>([^<]+)</option>", form)
    assert options == ["Core", "Web"]  # only teams they administer
    page = assign(client, [mine, ops], teams["web"]).content.decode()
    assert "1 repositories now belong to Web." in page
    assert "1 left where they are: their team is not one you administer." in page
    mine.refresh_from_db()
    ops.refresh_from_db()
    assert (mine.organization, ops.organization) == (teams["web"], teams["ops"])


def test_a_team_they_do_not_administer_is_refused_as_target(lead):
    client, teams = lead
    mine = RepositoryFactory(full_name="acme/mine", organization=teams["core"])
    response = assign(client, [mine], teams["else"])
    assert "Select a valid choice" in response.content.decode()
    mine.refresh_from_db()
    assert mine.organization == teams["core"]


def test_an_assignment_shows_its_reasons_in_words(admin_client):
    assignment = ReviewAssignment.objects.create(
        pull_request=PullRequestFactory(),
        trigger="pr_opened",
        strategy="load_balance",
        reviewers=["kim"],
        explanation={
            "strategy": "load_balance",
            "pool": {"kim": ["code owner (docs/)"], "lee": ["repository pool"]},
            "filtered": {"lee": "on vacation until 2026-12-09"},
            "scores": {"kim": 1.0},
            "expertise": {"kim": 0.5},
            "chosen": ["kim"],
            "fallback_teams": [],
            "note": "",
        },
        status="requested",
    )
    page = admin_client.get(
        f"/admin/reviews/reviewassignment/{assignment.pk}/change/"
    ).content.decode()
    assert (
        "<li>Chose @kim: code owner (docs/); best load balance score; knows these "
        "files (expertise 0.50)</li>" in page
    )
    assert "<li>Left out @lee: on vacation until 2026-12-09</li>" in page
    assert "&quot;strategy&quot;" not in page and '"pool"' not in page


@pytest.mark.parametrize("stored", [None, [], "text", {"chosen": "kim"}, {"pool": []}])
def test_odd_stored_explanations_read_as_none(stored):
    assert explanation_lines(stored) == ["No explanation was stored for this choice."]


def test_an_assignment_is_an_audit_record(admin_client):
    assignment = ReviewAssignment.objects.create(
        pull_request=PullRequestFactory(),
        trigger="pr_opened",
        strategy="load_balance",
        reviewers=["kim"],
        status="requested",
    )
    url = f"/admin/reviews/reviewassignment/{assignment.pk}/"
    assert admin_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"{url}change/", {"status": "failed"})
    assignment.refresh_from_db()
    assert assignment.status == "requested"
