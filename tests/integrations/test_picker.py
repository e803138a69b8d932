"""The repository picker after "Connect GitHub": the repositories the person
administers (searchable, paginated, marked when connected), and connecting the
chosen ones in the background with each step logged. GitHub is mocked at the
HTTP layer with recorded responses (tests/provider_responses)."""

from __future__ import annotations

import copy
import json
import re
from io import StringIO
from pathlib import Path

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from responses import matchers

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
    ProviderCredential,
    RepositoryConnectJob,
    SyncRun,
    WebhookEndpoint,
)
from integrations.services import oauth_credential_store
from integrations.services.picker import repository_connect_job_run

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses" / "github"
API = "https://api.github.com:443"
USER_REPOS = f"{API}/user/repos"
REPO = f"{API}/repos/PyGithub/PyGithub"
HOOK_ID = 255190838


def recorded(name: str):
    text = (
        (RECORDED / name).read_text().replace("ahmad88me/PyGithub", "PyGithub/PyGithub")
    )
    return json.loads(text)


def repo_item(full_name: str, number: int, *, admin: bool = True) -> dict:
    """One ``GET /user/repos`` item: the recorded repository, renamed."""
    item = copy.deepcopy(recorded("repo.json"))
    owner, name = full_name.split("/")
    item.update(
        id=number,
        name=name,
        full_name=full_name,
        html_url=f"https://github.com/{full_name}",
        url=f"https://api.github.com/repos/{full_name}",
    )
    item["owner"] = {**item["owner"], "login": owner}
    item["permissions"] = {**item["permissions"], "admin": admin}
    return item


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.PUBLIC_URL = "https://cq.example.com"
    cache.clear()


@pytest.fixture
def lead(client):
    user = get_user_model().objects.create_user("lead")
    client.force_login(user)
    return user


@pytest.fixture
def connection(lead) -> ProviderCredential:
    return oauth_credential_store(
        user=lead, provider="github", account_login="lead-dev", token="gho_lead"
    )


@pytest.fixture
def team(lead) -> Organization:
    team = Organization.objects.create(name="Core", slug="core")
    OrganizationMembership.objects.create(organization=team, user=lead, role="admin")
    return team


REPOSITORIES = [
    repo_item("PyGithub/PyGithub", 3544490),
    repo_item("acme/api", 11),
    repo_item("acme/docs", 12, admin=False),  # a collaborator only: no hooks
    repo_item("lead-dev/dotfiles", 13),
]


def test_the_picker_lists_what_the_person_administers(client, connection, team):
    other = Organization.objects.create(name="Platform", slug="platform")
    ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=11,
        full_name="acme/api",
        organization=other,
    )
    with responses.RequestsMock() as rsps:
        rsps.get(
            USER_REPOS,
            json=REPOSITORIES,
            match=[
                matchers.query_param_matcher(
                    {
                        "affiliation": "owner,organization_member",
                        "sort": "full_name",
                        "per_page": "100",
                        "page": "1",
                    }
                )
            ],
        )
        response = client.get("/dashboard/repositories/pick/github/")
        assert rsps.calls[0].request.headers["Authorization"] == "token gho_lead"
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose repositories from GitHub" in page and "@lead-dev" in page
    assert "PyGithub/PyGithub" in page and "lead-dev/dotfiles" in page
    assert "acme/docs" not in page  # not an admin there
    # Already followed here, by another team: shown, not choosable, no link.
    assert re.search(r'value="acme/api" id="pick-\d+" disabled', page)
    assert not re.search(r'value="PyGithub/PyGithub" id="pick-\d+" disabled', page)
    assert "Connected</span> · Platform" in page
    assert "gho_lead" not in page
    # Cached: searching costs no call to GitHub.
    with responses.RequestsMock():
        page = client.get("/dashboard/repositories/pick/github/?q=DOT").content.decode()
    assert "lead-dev/dotfiles" in page and "PyGithub/PyGithub" not in page
    with responses.RequestsMock():
        page = client.get("/dashboard/repositories/pick/github/?q=zzz").content.decode()
    assert "No repository you administer matches “zzz”." in page


def test_the_picker_pages_through_many_repositories(client, connection, team):
    many = [repo_item(f"acme/service-{n:03d}", 100 + n) for n in range(130)]
    with responses.RequestsMock() as rsps:
        rsps.get(
            USER_REPOS,
            json=many[:100],
            match=[matchers.query_param_matcher({"page": "1"}, strict_match=False)],
        )
        rsps.get(
            USER_REPOS,
            json=many[100:],
            match=[matchers.query_param_matcher({"page": "2"}, strict_match=False)],
        )
        page = client.get(
            "/dashboard/repositories/pick/github/?page=6"
        ).content.decode()
    assert "Page 6 of 6 · 130 repositories" in page
    assert "acme/service-129" in page and "acme/service-124" not in page
    with responses.RequestsMock():
        page = client.get(
            "/dashboard/repositories/pick/github/?page=abc"
        ).content.decode()
    assert "Page 1 of 6" in page


def test_without_a_connection_the_picker_says_connect_first(client, lead):
    response = client.get("/dashboard/repositories/pick/github/", follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert "Connect GitHub first" in response.content.decode()
    assert client.get("/dashboard/repositories/pick/svn/").status_code == 404


def test_a_provider_failure_is_a_message(client, connection, team):
    with responses.RequestsMock() as rsps:
        rsps.get(USER_REPOS, status=502, json={"message": "Server Error"})
        response = client.get("/dashboard/repositories/pick/github/")
    assert response.status_code == 502
    assert "GitHub did not list your repositories" in response.content.decode()


def pick(client, *names, **data):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(USER_REPOS, json=REPOSITORIES)
        return client.post(
            "/dashboard/repositories/pick/github/",
            {"repository": list(names), **data},
            follow=True,
        )


def test_choosing_repositories_queues_one_job_each(
    client, connection, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = pick(
            client, "PyGithub/PyGithub", "lead-dev/dotfiles", organization=team.pk
        )
    assert len(callbacks) == 2
    assert response.redirect_chain[-1][0] == "/dashboard/repositories/connecting/"
    page = response.content.decode()
    assert "Connecting 2 repositories for Core." in page
    assert '<meta http-equiv="refresh" content="2">' in page
    jobs = RepositoryConnectJob.objects.order_by("full_name")
    assert [(job.full_name, job.status, job.organization) for job in jobs] == [
        ("PyGithub/PyGithub", "queued", team),
        ("lead-dev/dotfiles", "queued", team),
    ]
    # Chosen again while waiting: not doubled.
    response = pick(client, "PyGithub/PyGithub", organization=team.pk)
    assert "Already being connected: PyGithub/PyGithub." in response.content.decode()
    assert RepositoryConnectJob.objects.count() == 2


def test_choosing_for_a_new_team(client, connection):
    response = pick(client, "PyGithub/PyGithub", organization="new", new_team="Acme")
    team = Organization.objects.get()
    assert team.name == "Acme"
    assert OrganizationMembership.objects.get(organization=team).role == "admin"
    assert RepositoryConnectJob.objects.get().organization == team
    assert "for Acme." in response.content.decode()


@pytest.mark.parametrize(
    ("names", "data", "message"),
    [
        (
            ["acme/docs"],
            {"organization": "new", "new_team": "X"},
            "not among the repositories you administer: acme/docs",
        ),
        (
            ["evil/repo"],
            {"organization": "new", "new_team": "X"},
            "not among the repositories you administer: evil/repo",
        ),
        (
            [],
            {"organization": "new", "new_team": "X"},
            "Choose at least one repository.",
        ),
        (
            ["PyGithub/PyGithub"],
            {"organization": "new", "new_team": " "},
            "Name the new team",
        ),
    ],
)
def test_bad_choices_connect_nothing(client, connection, names, data, message):
    response = pick(client, *names, **data)
    assert message in response.content.decode()
    assert not RepositoryConnectJob.objects.exists()
    assert not Organization.objects.exists()  # the new team was not kept


def test_a_team_one_does_not_administer_is_refused(client, connection, team):
    other = Organization.objects.create(name="Other", slug="other")
    OrganizationMembership.objects.create(
        organization=other, user=connection.user, role="member"
    )
    for choice in (other.pk, "abc", ""):
        response = pick(client, "PyGithub/PyGithub", organization=choice)
        assert response.status_code == 403
    assert not RepositoryConnectJob.objects.exists()


def mock_connect(rsps) -> None:
    """What connecting PyGithub/PyGithub asks GitHub, with recorded answers."""
    rsps.get(REPO, json=recorded("repo.json"))
    rsps.get(f"{REPO}/hooks", json=[])
    rsps.post(f"{REPO}/hooks", status=201, json=recorded("hook_created.json"))
    rsps.get(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
    rsps.post(f"{REPO}/hooks/{HOOK_ID}/pings", status=204)
    rsps.get(
        f"{REPO}/pulls",
        json=recorded("pulls_open.json"),
        match=[matchers.query_param_matcher({"state": "open"}, strict_match=False)],
    )
    rsps.get(
        f"{REPO}/pulls",
        json=[],
        match=[matchers.query_param_matcher({"state": "closed"}, strict_match=False)],
    )
    rsps.get(f"{REPO}/pulls/32", json=recorded("pulls_open.json")[0])
    rsps.get(f"{REPO}/pulls/32/reviews", json=recorded("reviews.json"))
    rsps.get(f"{REPO}/pulls/32/comments", json=[])
    rsps.get(f"{API}/repos/PyGithub/PyGithub/issues/32/comments", json=[])


def test_a_job_connects_with_the_persons_own_connection(client, connection, team):
    pick(client, "PyGithub/PyGithub", organization=team.pk)
    job = RepositoryConnectJob.objects.get()
    with responses.RequestsMock() as rsps:
        mock_connect(rsps)
        assert repository_connect_job_run(job_id=job.pk) == "succeeded"
        hook_body = json.loads(
            next(c for c in rsps.calls if c.request.method == "POST").request.body
        )
    job.refresh_from_db()
    lines = [step["line"] for step in job.log]
    assert lines[0] == "github:PyGithub/PyGithub: token can read the repository"
    assert any(
        line.startswith(
            f"webhook {HOOK_ID} delivers to https://cq.example.com/webhooks/github/"
        )
        for line in lines
    )
    assert "ping sent: the webhook shows as verified once it arrives" in lines
    assert lines[-1].startswith("imported 1 pull request and 1 review")
    repository = ConnectedRepository.objects.get()
    assert (job.repository, repository.organization) == (repository, team)
    assert repository.credential == connection  # no token copied
    assert ProviderCredential.objects.count() == 1
    hook = WebhookEndpoint.objects.get()
    assert hook_body["config"]["secret"] == hook.secret  # a fresh per-hook secret
    assert SyncRun.objects.get().kind == "initial"
    # A second delivery of the task does nothing.
    with responses.RequestsMock():
        assert repository_connect_job_run(job_id=job.pk) == "taken"
    page = client.get("/dashboard/repositories/connecting/").content.decode()
    assert "Connected" in page and "http-equiv" not in page
    assert f'href="/dashboard/repositories/{repository.pk}/"' in page


def test_a_refused_token_fails_the_job_and_says_why(client, connection, team):
    pick(client, "PyGithub/PyGithub", organization=team.pk)
    job = RepositoryConnectJob.objects.get()
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=401, json={"message": "Bad credentials"})
        assert repository_connect_job_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert "GitHub refused the token (401)" in job.error
    connection.refresh_from_db()
    assert connection.status == "needs_reconnect"
    assert not ConnectedRepository.objects.exists()
    page = client.get("/dashboard/repositories/connecting/").content.decode()
    assert "GitHub refused the token (401)" in page


def test_the_connecting_page_shows_only_ones_own_jobs(client, connection, team):
    pick(client, "PyGithub/PyGithub", organization=team.pk)
    client.force_login(get_user_model().objects.create_user("other"))
    page = client.get("/dashboard/repositories/connecting/").content.decode()
    assert "PyGithub/PyGithub" not in page
    assert "Nothing connected in the last day." in page


def test_the_gitlab_picker_lists_projects_one_maintains(client, lead, team):
    oauth_credential_store(
        user=lead, provider="gitlab", account_login="john_smith", token="glo_john"
    )
    project = json.loads((RECORDED.parent / "gitlab" / "project.json").read_text())
    with responses.RequestsMock() as rsps:
        rsps.get(
            "https://gitlab.com/api/v4/projects",
            json=[project],
            match=[
                matchers.query_param_matcher(
                    {"min_access_level": "40", "archived": "false", "page": "1"},
                    strict_match=False,
                )
            ],
        )
        page = client.get("/dashboard/repositories/pick/gitlab/").content.decode()
    assert "Choose repositories from GitLab" in page
    assert f'value="{project["path_with_namespace"]}"' in page
    assert "(Maintainer or Owner)" in page


def test_app_repositories_can_be_given_to_a_team(client, connection, team):
    from integrations.models import AppInstallation

    AppInstallation.objects.create(
        provider="github",
        host="github.com",
        installation_id=555,
        account_login="acme",
        linked_by=connection.user,
    )
    unowned = ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=21,
        full_name="acme/app-one",
        installation_id=555,
    )
    foreign = Organization.objects.create(name="Foreign", slug="foreign")
    theirs = ConnectedRepository.objects.create(
        provider="github",
        host="github.com",
        external_id=22,
        full_name="acme/app-two",
        installation_id=555,
        organization=foreign,
    )
    with responses.RequestsMock() as rsps:
        rsps.get(USER_REPOS, json=REPOSITORIES)
        page = client.get("/dashboard/repositories/pick/github/").content.decode()
    assert "Through the GitHub App" in page
    assert f'value="{unowned.pk}" id="app-{unowned.pk}">' in page
    assert "acme/app-two" not in page  # another team's: not even shown
    response = pick(client, app_repository=[unowned.pk], organization=team.pk)
    assert response.redirect_chain[-1][0] == "/dashboard/teams/core/"
    assert "1 repository of the GitHub App now belongs to Core." in (
        response.content.decode()
    )
    unowned.refresh_from_db()
    assert unowned.organization == team
    assert not RepositoryConnectJob.objects.exists()
    # Another team's App repository cannot be taken by naming its id.
    response = pick(client, app_repository=[theirs.pk], organization=team.pk)
    assert "not yours to assign" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.organization == foreign


def test_a_token_connect_later_does_not_overwrite_the_persons_connection(
    client, connection, team, monkeypatch
):
    pick(client, "PyGithub/PyGithub", organization=team.pk)
    with responses.RequestsMock() as rsps:
        mock_connect(rsps)
        repository_connect_job_run(job_id=RepositoryConnectJob.objects.get().pk)
    monkeypatch.setenv("BOT_TOKEN", "ghp_bot_token")
    with responses.RequestsMock() as rsps:
        mock_connect(rsps)
        rsps.replace(responses.GET, f"{REPO}/hooks", json=[])
        call_command(
            "connect_repo",
            "--provider",
            "github",
            "--repo",
            "PyGithub/PyGithub",
            "--token-env",
            "BOT_TOKEN",
            stdout=StringIO(),
        )
    connection.refresh_from_db()
    assert (connection.kind, connection.token) == ("oauth", "gho_lead")
    repository = ConnectedRepository.objects.get()
    assert repository.credential.kind == "access_token"
    assert repository.credential.token == "ghp_bot_token"
