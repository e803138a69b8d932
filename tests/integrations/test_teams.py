"""Teams without the admin: create, invite link and join requests, roles, and
teams that follow a GitHub organization or a GitLab group (provider HTTP mocked
with recorded response shapes)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.management import call_command

from integrations.models import (
    Organization,
    OrganizationMembership,
    ProviderCredential,
    TeamJoinRequest,
)
from integrations.services import oauth_credential_store
from integrations.services.teams import (
    TeamError,
    team_members_refresh,
    teams_join_by_identity,
    teams_members_refresh_all,
)
from reviews.people import identity_link

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses"
ORG_MEMBERS = "https://api.github.com:443/orgs/acme/members"
GROUP_MEMBERS = "https://gitlab.com/api/v4/groups/acme%2Fbackend/members/all"


@pytest.fixture(autouse=True)
def _quick_github(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None


def github_members(*logins: str) -> list[dict]:
    """``GET /orgs/{org}/members``: simple users, as recorded for a team."""
    template = json.loads((RECORDED / "github" / "team_members.json").read_text())[0]
    return [{**copy.deepcopy(template), "login": login} for login in logins]


def gitlab_members(*usernames: str) -> list[dict]:
    template = json.loads((RECORDED / "gitlab" / "group_members_all.json").read_text())[
        0
    ]
    return [
        {**copy.deepcopy(template), "id": index, "username": name}
        for index, name in enumerate(usernames, 1)
    ]


def signed_in(client, username: str):
    user = get_user_model().objects.create_user(username)
    client.force_login(user)
    return user


def join(team: Organization, user, role="member", via="manual"):
    return OrganizationMembership.objects.create(
        organization=team, user=user, role=role, via=via
    )


# --- create a team -----------------------------------------------------------------


def test_a_person_creates_a_team_and_becomes_its_admin(client):
    lead = signed_in(client, "lead")
    response = client.post(
        "/dashboard/teams/", {"name": "  Web   Platform "}, follow=True
    )
    team = Organization.objects.get()
    assert (team.name, team.slug) == ("Web Platform", "web-platform")
    assert response.redirect_chain[-1][0] == "/dashboard/teams/web-platform/"
    assert OrganizationMembership.objects.get().role == "admin"
    assert OrganizationMembership.objects.get().user == lead
    page = response.content.decode()
    assert "Team Web Platform created; you are its admin." in page
    assert f"/teams/join/{team.invite_token}/" in page
    # The same name again gets its own address.
    client.post("/dashboard/teams/", {"name": "Web Platform"})
    assert sorted(Organization.objects.values_list("slug", flat=True)) == [
        "web-platform",
        "web-platform-2",
    ]


def test_a_team_name_that_would_shadow_a_page_gets_another_slug(client):
    signed_in(client, "lead")
    client.post("/dashboard/teams/", {"name": "From provider"})
    assert Organization.objects.get().slug == "from-provider-team"


def test_an_empty_team_name_is_refused(client):
    signed_in(client, "lead")
    response = client.post("/dashboard/teams/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Organization.objects.exists()


def test_someone_in_no_team_is_told_what_to_do(client):
    signed_in(client, "newcomer")
    Organization.objects.create(name="Core", slug="core")  # not theirs
    page = client.get("/dashboard/").content.decode()
    assert "You are not in a team yet" in page
    assert "invite link" in page and 'href="/dashboard/teams/"' in page
    assert "Core" not in page
    teams = client.get("/dashboard/teams/").content.decode()
    assert "You are not in a team yet" in teams and "Core" not in teams


# --- invite link and join requests ------------------------------------------


@pytest.fixture
def team(client):
    lead = get_user_model().objects.create_user("lead")
    team = Organization.objects.create(name="Core", slug="core")
    join(team, lead, role="admin")
    return team


def test_invite_link_join_request_and_approval(client, team):
    link = f"/teams/join/{team.invite_token}/"
    dev = signed_in(client, "dev")
    page = client.get(link).content.decode()
    assert "Ask to join Core" in page
    response = client.post(link, follow=True)
    assert "Asked to join Core" in response.content.decode()
    client.post(link)  # asking twice is one request
    assert TeamJoinRequest.objects.filter(status="pending").count() == 1
    assert (
        "You asked to join <strong>Core</strong>"
        in client.get("/dashboard/").content.decode()
    )
    assert client.get("/dashboard/teams/core/").status_code == 404  # not yet in
    pending = TeamJoinRequest.objects.get()

    client.force_login(get_user_model().objects.get(username="lead"))
    page = client.get("/dashboard/teams/core/").content.decode()
    assert "Asking to join (1)" in page and "dev" in page
    response = client.post(
        f"/dashboard/teams/core/requests/{pending.pk}/",
        {"decision": "approve"},
        follow=True,
    )
    assert "dev joined Core." in response.content.decode()
    membership = OrganizationMembership.objects.get(user=dev)
    assert (membership.role, membership.via) == ("member", "invite")
    # Answered once: a second answer changes nothing.
    response = client.post(
        f"/dashboard/teams/core/requests/{pending.pk}/",
        {"decision": "decline"},
        follow=True,
    )
    assert "already answered" in response.content.decode()
    assert TeamJoinRequest.objects.get().status == "approved"
    # The member opens the link again: straight to the team.
    client.force_login(dev)
    assert client.post(link)["Location"] == "/dashboard/teams/core/"


def test_a_declined_request_adds_nobody(client, team):
    dev = signed_in(client, "dev")
    client.post(f"/teams/join/{team.invite_token}/")
    client.force_login(get_user_model().objects.get(username="lead"))
    pending = TeamJoinRequest.objects.get()
    client.post(
        f"/dashboard/teams/core/requests/{pending.pk}/", {"decision": "decline"}
    )
    assert TeamJoinRequest.objects.get().status == "declined"
    assert not OrganizationMembership.objects.filter(user=dev).exists()
    response = client.post(
        f"/dashboard/teams/core/requests/{pending.pk}/", {"decision": "maybe"}
    )
    assert response.status_code == 302


def test_a_reset_or_wrong_invite_link_does_not_work(client, team):
    old = team.invite_token
    client.force_login(get_user_model().objects.get(username="lead"))
    client.post("/dashboard/teams/core/invite/reset/")
    team.refresh_from_db()
    assert team.invite_token != old
    signed_in(client, "dev")
    for token in (old, "nonsense", "x" * 300):
        response = client.get(f"/teams/join/{token}/")
        assert response.status_code == 404
        assert "This invite link does not work" in response.content.decode()
        client.post(f"/teams/join/{token}/")
    assert not TeamJoinRequest.objects.exists()


def test_the_invite_link_asks_a_stranger_to_sign_in_first(client, team):
    response = client.get(f"/teams/join/{team.invite_token}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/teams/join/")


# --- who may do what ------------------------------------------------------


def test_another_teams_person_gets_404_everywhere(client, team):
    other = Organization.objects.create(name="Other", slug="other")
    eve = signed_in(client, "eve")
    join(other, eve, role="admin")
    lead = get_user_model().objects.get(username="lead")
    pending = TeamJoinRequest.objects.create(
        organization=team, user=get_user_model().objects.create_user("dev")
    )
    assert client.get("/dashboard/teams/core/").status_code == 404
    for path, data in [
        ("/dashboard/teams/core/invite/reset/", {}),
        (f"/dashboard/teams/core/requests/{pending.pk}/", {"decision": "approve"}),
        (f"/dashboard/teams/core/members/{lead.pk}/", {"action": "remove"}),
        ("/dashboard/teams/core/refresh/", {}),
    ]:
        assert client.post(path, data).status_code == 404, path
    team.refresh_from_db()
    assert TeamJoinRequest.objects.get().status == "pending"
    assert OrganizationMembership.objects.filter(organization=team).count() == 1
    assert "Core" not in client.get("/dashboard/teams/").content.decode()


def test_a_member_may_look_and_leave_but_not_manage(client, team):
    dev = signed_in(client, "dev")
    join(team, dev)
    lead = get_user_model().objects.get(username="lead")
    pending = TeamJoinRequest.objects.create(
        organization=team, user=get_user_model().objects.create_user("newbie")
    )
    page = client.get("/dashboard/teams/core/").content.decode()
    assert "Members (2)" in page
    assert team.invite_token not in page and "Asking to join" not in page
    assert 'name="token"' not in page
    for path, data in [
        ("/dashboard/teams/core/invite/reset/", {}),
        (f"/dashboard/teams/core/requests/{pending.pk}/", {"decision": "approve"}),
        (f"/dashboard/teams/core/members/{lead.pk}/", {"action": "remove"}),
        (f"/dashboard/teams/core/members/{dev.pk}/", {"action": "admin"}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert OrganizationMembership.objects.get(user=dev).role == "member"
    response = client.post(
        f"/dashboard/teams/core/members/{dev.pk}/", {"action": "remove"}, follow=True
    )
    assert "You left Core." in response.content.decode()
    assert not OrganizationMembership.objects.filter(user=dev).exists()


def test_roles_and_the_last_admin(client, team):
    lead = get_user_model().objects.get(username="lead")
    client.force_login(lead)
    dev = get_user_model().objects.create_user("dev")
    join(team, dev)
    member_url = f"/dashboard/teams/core/members/{lead.pk}/"
    response = client.post(member_url, {"action": "member"}, follow=True)
    assert "keeps at least one admin" in response.content.decode()
    response = client.post(member_url, {"action": "remove"}, follow=True)
    assert "keeps at least one admin" in response.content.decode()
    assert OrganizationMembership.objects.get(user=lead).role == "admin"
    client.post(f"/dashboard/teams/core/members/{dev.pk}/", {"action": "admin"})
    assert OrganizationMembership.objects.get(user=dev).role == "admin"
    client.post(member_url, {"action": "member"})
    assert OrganizationMembership.objects.get(user=lead).role == "member"
    bad = client.post(
        f"/dashboard/teams/core/members/{dev.pk}/", {"action": "owner"}, follow=True
    )
    assert bad.status_code == 403  # lead is no longer an admin
    client.force_login(dev)
    response = client.post(
        f"/dashboard/teams/core/members/{lead.pk}/", {"action": "owner"}, follow=True
    )
    assert "Choose admin, member or remove." in response.content.decode()
    stranger = get_user_model().objects.create_user("stranger")
    response = client.post(
        f"/dashboard/teams/core/members/{stranger.pk}/",
        {"action": "remove"},
        follow=True,
    )
    assert "That person is not in the team." in response.content.decode()


# --- teams that follow a provider -------------------------------------------


def connected(user, provider: str, login: str) -> ProviderCredential:
    identity_link(user=user, provider=provider, host=_host(provider), login=login)
    return oauth_credential_store(
        user=user, provider=provider, account_login=login, token=f"token-{login}"
    )


def _host(provider: str) -> str:
    return {"github": "github.com", "gitlab": "gitlab.com"}[provider]


def test_a_team_from_a_github_organization(client):
    lead = signed_in(client, "lead")
    connected(lead, "github", "Lead-Dev")
    bob = get_user_model().objects.create_user("bob")
    identity_link(user=bob, provider="github", host="github.com", login="bob")
    with responses.RequestsMock() as rsps:
        rsps.get(ORG_MEMBERS, json=github_members("lead-dev", "bob", "carol"))
        response = client.post(
            "/dashboard/teams/from-provider/",
            {"provider": "github", "path": "@acme", "name": ""},
            follow=True,
        )
        assert rsps.calls[0].request.headers["Authorization"] == "token token-Lead-Dev"
    team = Organization.objects.get()
    assert (team.name, team.slug, team.source_path) == ("acme", "acme", "acme")
    assert team.source_members == ["bob", "carol", "lead-dev"]
    roles = dict(team.memberships.values_list("user__username", "role"))
    assert roles == {"lead": "admin", "bob": "member"}
    assert OrganizationMembership.objects.get(user=bob).via == "provider"
    page = response.content.decode()
    assert "2 of its members already signed in here joined" in page
    assert "Follows acme on github" in page
    # carol signs in later with her GitHub login: she joins.
    carol = get_user_model().objects.create_user("carol")
    joined = teams_join_by_identity(
        user=carol, provider="github", host="github.com", login="Carol"
    )
    assert joined == [team]
    assert (
        teams_join_by_identity(  # once
            user=carol, provider="github", host="github.com", login="carol"
        )
        == []
    )
    # Someone on another host with the same login does not.
    dave = get_user_model().objects.create_user("dave")
    assert (
        teams_join_by_identity(
            user=dave, provider="github", host="ghe.example.com", login="carol"
        )
        == []
    )


def test_signing_in_with_github_joins_the_matching_team(client, settings):
    team = Organization.objects.create(
        name="PyGithub",
        slug="pygithub",
        source_provider="github",
        source_host="github.com",
        source_path="pygithub",
        source_members=["ahmad88me"],
    )
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["github"] = {
        **providers["github"],
        "APPS": [{"client_id": "test-client-id", "secret": "test-client-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    from tests.integrations.test_oauth_connect import sign_in_with_github

    response = sign_in_with_github(client)
    user = get_user_model().objects.get(username="ahmad88me")
    membership = OrganizationMembership.objects.get(user=user)
    assert (membership.organization, membership.via) == (team, "provider")
    assert "You are not in a team yet" not in response.content.decode()


@pytest.mark.parametrize(
    ("members", "status", "error"),
    [
        (["bob"], 200, "@lead-dev is not a member of acme on GitHub."),
        (None, 404, "GitHub knows no acme that @lead-dev can see."),
        (None, 502, "GitHub did not list the members of acme"),
    ],
)
def test_a_team_from_an_organization_one_is_not_in_is_refused(
    client, members, status, error
):
    lead = signed_in(client, "lead")
    connected(lead, "github", "lead-dev")
    with responses.RequestsMock() as rsps:
        body = github_members(*members) if members else {"message": "Not Found"}
        rsps.get(ORG_MEMBERS, json=body, status=status)
        response = client.post(
            "/dashboard/teams/from-provider/",
            {"provider": "github", "path": "acme"},
            follow=True,
        )
    assert error in response.content.decode()
    assert not Organization.objects.exists()


def test_a_team_from_a_provider_needs_a_connection_and_a_path(client):
    signed_in(client, "lead")
    with responses.RequestsMock():
        response = client.post(
            "/dashboard/teams/from-provider/",
            {"provider": "github", "path": "acme"},
            follow=True,
        )
        assert "Connect GitHub first" in response.content.decode()
        response = client.post(
            "/dashboard/teams/from-provider/",
            {"provider": "github", "path": "../etc/passwd"},
            follow=True,
        )
        assert "is not an organization, team or group path" in response.content.decode()
        response = client.post(
            "/dashboard/teams/from-provider/",
            {"provider": "svn", "path": "acme"},
            follow=True,
        )
        assert "Choose a provider" in response.content.decode()
    assert not Organization.objects.exists()


def test_one_team_per_provider_organization(client):
    lead = signed_in(client, "lead")
    connected(lead, "github", "lead-dev")
    for _ in range(2):
        with responses.RequestsMock() as rsps:
            rsps.get(
                ORG_MEMBERS.replace("acme", "ACME"), json=github_members("lead-dev")
            )
            response = client.post(
                "/dashboard/teams/from-provider/",
                {"provider": "github", "path": "ACME"},
                follow=True,
            )
    assert "A team already follows ACME on GitHub" in response.content.decode()
    assert Organization.objects.count() == 1


def test_a_team_from_a_gitlab_group_follows_it_daily(client):
    lead = signed_in(client, "lead")
    connected(lead, "gitlab", "raymond_smith")
    john = get_user_model().objects.create_user("john")
    identity_link(user=john, provider="gitlab", host="gitlab.com", login="john_doe")
    manual = get_user_model().objects.create_user("manual")
    with responses.RequestsMock() as rsps:
        rsps.get(GROUP_MEMBERS, json=gitlab_members("raymond_smith", "john_doe"))
        client.post(
            "/dashboard/teams/from-provider/",
            {"provider": "gitlab", "path": "acme/backend", "name": "Backend"},
        )
    team = Organization.objects.get(slug="backend")
    join(team, manual)
    assert set(team.memberships.values_list("user__username", flat=True)) == {
        "lead",
        "john",
        "manual",
    }
    # A day later john has left the group: he leaves; hand-added people stay.
    with responses.RequestsMock() as rsps:
        rsps.get(GROUP_MEMBERS, json=gitlab_members("raymond_smith"))
        assert teams_members_refresh_all() == 1
    assert set(team.memberships.values_list("user__username", flat=True)) == {
        "lead",
        "manual",
    }
    team.refresh_from_db()
    assert team.source_members == ["raymond_smith"] and team.members_sync_error == ""


def test_a_refresh_without_a_working_connection_keeps_everyone(client):
    lead = signed_in(client, "lead")
    credential = connected(lead, "github", "lead-dev")
    with responses.RequestsMock() as rsps:
        rsps.get(ORG_MEMBERS, json=github_members("lead-dev"))
        client.post(
            "/dashboard/teams/from-provider/", {"provider": "github", "path": "acme"}
        )
    team = Organization.objects.get()
    ProviderCredential.objects.filter(pk=credential.pk).update(status="needs_reconnect")
    team.refresh_from_db()
    with pytest.raises(TeamError):
        team_members_refresh(team=team)
    team.refresh_from_db()
    assert "the connection that read the members is gone" in team.members_sync_error
    assert team.memberships.count() == 1
    page = client.get("/dashboard/teams/acme/").content.decode()
    assert "Last refresh failed" in page
    # The admin refreshes with their own (renewed) connection.
    connected(lead, "github", "lead-dev")
    with responses.RequestsMock() as rsps:
        rsps.get(ORG_MEMBERS, json=github_members("lead-dev", "bob"))
        response = client.post("/dashboard/teams/acme/refresh/", follow=True)
    assert "Members refreshed from the provider: 0 joined, 0 left." in (
        response.content.decode()
    )
    team.refresh_from_db()
    assert team.source_members == ["bob", "lead-dev"]


def test_the_daily_refresh_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", verbosity=0)
    task = PeriodicTask.objects.get(task="integrations.teams_members_refresh")
    assert task.interval.every == 86400
