"""Provider operations of a team repository (CONTRACT §7): info, live pull
requests, issues and workflows through the cache, settings and labels written
through, the cache dropped on demand or down, another team's repository a 404.
Recorded GitHub and GitLab answers (tests/provider_responses)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership, ProviderCredential
from tests.factories import OrganizationFactory, RepositoryFactory

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses"
REPO = "https://api.github.com:443/repos/PyGithub/PyGithub"
PROJECT = "https://gitlab.com/api/v4/projects/diaspora%2Fdiaspora-project-site"
LABELS = f"{REPO}/labels"


def recorded(name: str):
    return json.loads((RECORDED / name).read_text())


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    cache.clear()


def credential(provider: str, api_url: str, team) -> ProviderCredential:
    item = ProviderCredential(
        provider=provider, kind="access_token", api_url=api_url, organization=team
    )
    item.token = f"{provider}-team-token"
    item.save()
    return item


@pytest.fixture
def world():
    mine, theirs = OrganizationFactory(slug="mine"), OrganizationFactory(slug="theirs")
    github = RepositoryFactory(
        organization=mine,
        full_name="PyGithub/PyGithub",
        credential=credential("github", "https://api.github.com", mine),
    )
    gitlab = RepositoryFactory(
        organization=mine,
        provider="gitlab",
        host="gitlab.com",
        full_name="diaspora/diaspora-project-site",
        credential=credential("gitlab", "https://gitlab.com", mine),
    )
    foreign = RepositoryFactory(organization=theirs, full_name="acme/secret")
    people = {}
    for name, role in (("kim", "member"), ("lead", "admin")):
        user = get_user_model().objects.create_user(name)
        OrganizationMembership.objects.create(organization=mine, user=user, role=role)
        people[name] = APIClient()
        people[name].force_authenticate(user)
    return people, github, gitlab, foreign


def url(repository, path: str) -> str:
    return f"/api/v1/repositories/{repository.pk}/{path}"


def test_info_comes_from_github_then_from_the_cache(world):
    people, github, _, _ = world
    client = people["kim"]
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("github/repo.json"))
        first = client.get(url(github, "info/"))
        assert len(rsps.calls) == 1
    assert first.status_code == 200
    body = first.json()
    assert body["cached"] is False
    assert body["data"] == {
        "full_name": "PyGithub/PyGithub",
        "description": "Typed interactions with the GitHub API v3",
        "default_branch": "main",
        "visibility": "public",
        "web_url": "https://github.com/PyGithub/PyGithub",
        "open_issues": 357,
        "stars": 7122,
        "forks": 1793,
        "archived": False,
        "merge_methods": ["squash"],
        "delete_branch_on_merge": True,
        "pushed_at": "2024-12-19T12:01:11Z",
    }
    with responses.RequestsMock():  # no call at all
        second = client.get(url(github, "info/")).json()
    assert second["cached"] is True and second["data"] == body["data"]
    assert second["fetched_at"] == body["fetched_at"]
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("github/repo.json"))
        assert (
            client.get(url(github, "info/?use_cache=false")).json()["cached"] is False
        )


def test_live_pulls_and_invalidation(world):
    people, github, _, _ = world
    client = people["kim"]
    with responses.RequestsMock() as rsps:
        rsps.get(f"{REPO}/pulls", json=recorded("github/pulls_open.json"))
        body = client.get(url(github, "pulls/live/")).json()
        sent = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert sent == {
        "state": ["open"],
        "sort": ["updated"],
        "direction": ["desc"],
        "per_page": ["100"],
        "page": ["1"],
    }
    assert body["cached"] is False
    (pull,) = body["data"]
    assert (pull["number"], pull["author"]) == (32, "jacquev6")
    with responses.RequestsMock():
        assert client.get(url(github, "pulls/live/")).json()["cached"] is True
    response = client.post(url(github, "cache/invalidate/"))
    assert response.json() == {"invalidated": ["info", "pulls", "issues", "workflows"]}
    with responses.RequestsMock() as rsps:
        rsps.get(f"{REPO}/pulls", json=[])
        after = client.get(url(github, "pulls/live/")).json()
    assert (after["cached"], after["data"]) == (False, [])


def test_with_the_cache_down_every_answer_is_read_live(world, settings):
    from tests.security.test_outages import DEAD_REDIS

    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True  # as settings.py sets for Redis
    settings.CACHES = DEAD_REDIS
    people, github, _, _ = world
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, json=recorded("github/repo.json"))
        answers = [people["kim"].get(url(github, "info/")) for _ in range(2)]
        assert len(rsps.calls) == 2
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.json()["cached"] for answer in answers] == [False, False]


def test_an_admin_changes_settings_on_github(world):
    people, github, _, _ = world
    with responses.RequestsMock() as rsps:
        rsps.patch(REPO, json=recorded("github/repo.json"))
        response = people["lead"].patch(
            url(github, "settings/"),
            {"description": "Typed GitHub", "merge_methods": ["rebase", "merge"]},
            format="json",
        )
        sent = json.loads(rsps.calls[0].request.body)
    assert response.status_code == 200
    assert sent == {
        "description": "Typed GitHub",
        "allow_merge_commit": True,
        "allow_squash_merge": False,
        "allow_rebase_merge": True,
    }
    assert response.json()["full_name"] == "PyGithub/PyGithub"
    # The provider's answer is the fresh info: no call for it.
    with responses.RequestsMock():
        assert people["kim"].get(url(github, "info/")).json()["cached"] is True


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "nothing to change"),
        ({"merge_methods": ["octopus"]}, "is not a valid choice"),
        ({"merge_methods": []}, "Ensure this field has at least 1 elements."),
        ({"default_branch": "has space"}, "does not match the required pattern"),
        ({"description": "x" * 351}, "no more than 350 characters"),
        ({"visibility": "public"}, "unknown fields: visibility"),
    ],
)
def test_bad_settings_are_refused_before_github_hears_of_them(world, body, error):
    people, github, _, _ = world
    with responses.RequestsMock():
        response = people["lead"].patch(url(github, "settings/"), body, format="json")
    assert response.status_code == 400
    assert error in response.content.decode()


def test_members_cannot_change_settings_and_others_see_nothing(world):
    people, github, _, foreign = world
    with responses.RequestsMock():
        response = people["kim"].patch(
            url(github, "settings/"), {"description": "x"}, format="json"
        )
        assert response.status_code == 403
        for method, path in [
            ("get", "info/"),
            ("get", "pulls/live/"),
            ("get", "issues/"),
            ("get", "workflows/"),
            ("post", "cache/invalidate/"),
            ("patch", "settings/"),
        ]:
            answer = getattr(people["lead"], method)(
                url(foreign, path), {}, format="json"
            )
            assert answer.status_code == 404, path
            assert "acme/secret" not in answer.content.decode()
        assert (
            people["lead"].get(f"/api/v1/repositories/{2**70}/info/").status_code == 404
        )


def test_provider_failures_are_502_with_the_reason(world):
    people, github, _, _ = world
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=502, json={"message": "Server Error"})
        response = people["kim"].get(url(github, "info/"))
    assert response.status_code == 502
    assert response.json()["error"].startswith("GitHub did not answer as expected")
    with responses.RequestsMock() as rsps:
        rsps.get(REPO, status=401, json={"message": "Bad credentials"})
        response = people["kim"].get(url(github, "info/"))
    assert response.status_code == 502
    assert "github-team-token" not in response.content.decode()
    github.credential.refresh_from_db()
    assert github.credential.status == "needs_reconnect"


def test_gitlab_info_and_what_it_refuses(world):
    people, _, gitlab, _ = world
    with responses.RequestsMock() as rsps:
        rsps.get(PROJECT, json=recorded("gitlab/project.json"))
        data = people["kim"].get(url(gitlab, "info/")).json()["data"]
    assert (data["full_name"], data["visibility"], data["open_issues"]) == (
        "diaspora/diaspora-project-site",
        "private",
        1,
    )
    assert data["web_url"] == ""  # http://example.com is not a GitLab host of ours
    with responses.RequestsMock():
        response = people["lead"].patch(
            url(gitlab, "settings/"), {"merge_methods": ["merge"]}, format="json"
        )
    assert response.status_code == 400
    assert "GitLab sets one merge method per project" in response.json()["error"]
    with responses.RequestsMock() as rsps:
        rsps.put(PROJECT, json=recorded("gitlab/project.json"))
        response = people["lead"].patch(
            url(gitlab, "settings/"),
            {"description": "Pods", "delete_branch_on_merge": True},
            format="json",
        )
        sent = json.loads(rsps.calls[0].request.body)
    assert response.status_code == 200
    assert sent == {"description": "Pods", "remove_source_branch_after_merge": True}


def test_github_issues_without_pull_requests_and_workflows(world):
    people, github, _, _ = world
    client = people["kim"]
    issues = recorded("github/issues.json")
    # GitHub lists pull requests among issues, with their pull_request URLs.
    issues[1]["pull_request"] = {
        "html_url": "https://github.com/PyGithub/PyGithub/pull/20",
        "diff_url": "https://github.com/PyGithub/PyGithub/pull/20.diff",
        "patch_url": "https://github.com/PyGithub/PyGithub/pull/20.patch",
    }
    with responses.RequestsMock() as rsps:
        rsps.get(f"{REPO}/issues", json=issues)
        rsps.get(f"{REPO}/actions/workflows", json=recorded("github/workflows.json"))
        found = client.get(url(github, "issues/")).json()
        flows = client.get(url(github, "workflows/")).json()
    assert found["cached"] is False
    assert found["data"] == [
        {
            "number": 30,
            "title": "Issue also created by PyGithub",
            "author": "jacquev6",
            "labels": ["Question"],
            "comments": 0,
            "created_at": "2012-05-27T05:40:15Z",
            "updated_at": "2012-05-27T05:40:15Z",
            "web_url": "https://github.com/PyGithub/PyGithub/issues/30",
        }
    ]
    assert [(row["name"], row["state"], row["kind"]) for row in flows["data"]] == [
        ("check", "active", "workflow"),
        ("Publish to PyPI", "active", "workflow"),
    ]
    assert flows["data"][0]["ref"] == ".github/workflows/check.yml"
    with responses.RequestsMock():
        assert client.get(url(github, "issues/")).json()["cached"] is True
        assert client.get(url(github, "workflows/")).json()["cached"] is True


def test_gitlab_issues_and_pipelines(world):
    people, _, gitlab, _ = world
    client = people["kim"]
    with responses.RequestsMock() as rsps:
        rsps.get(f"{PROJECT}/issues", json=recorded("gitlab/issues.json"))
        rsps.get(f"{PROJECT}/pipelines", json=recorded("gitlab/pipelines.json"))
        (issue,) = client.get(url(gitlab, "issues/")).json()["data"]
        pipelines = client.get(url(gitlab, "workflows/")).json()["data"]
        sent = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert sent["state"] == ["opened"]
    assert (issue["number"], issue["author"], issue["labels"]) == (
        14,
        "eileen.lowe",
        ["bug"],
    )
    assert issue["web_url"] == ""  # example.com is no GitLab host of ours
    assert [
        (row["id"], row["kind"], row["state"], row["ref"]) for row in pipelines
    ] == [
        (47, "pipeline", "pending", "new-pipeline"),
        (48, "pipeline", "pending", "new-pipeline"),
    ]


# --- labels ------------------------------------------------------------------------


def test_an_admin_creates_changes_and_removes_a_github_label(world):
    people, github, _, _ = world
    admin = people["lead"]
    created = {
        **recorded("github/label_created.json"),
        "name": "size/XS",
        "color": "3cbf00",
        "description": "Fewer than 10 lines changed",
    }
    with responses.RequestsMock() as rsps:
        rsps.post(LABELS, status=201, json=created)
        response = admin.post(
            url(github, "labels/"),
            {
                "name": "size/XS",
                "color": "#3CBF00",
                "description": "Fewer than 10 lines changed",
            },
            format="json",
        )
        sent = json.loads(rsps.calls[0].request.body)
    assert response.status_code == 201
    assert sent == {
        "name": "size/XS",
        "color": "3cbf00",
        "description": "Fewer than 10 lines changed",
    }
    assert response.json() == {
        "name": "size/XS",
        "color": "3cbf00",
        "description": "Fewer than 10 lines changed",
    }
    with responses.RequestsMock() as rsps:
        rsps.patch(f"{LABELS}/size%2FXS", json=recorded("github/label_edited.json"))
        response = admin.patch(
            url(github, "labels/size/XS/"),
            {"new_name": "LabelEditedByPyGithub", "color": "0000FF"},
            format="json",
        )
        sent = json.loads(rsps.calls[0].request.body)
    assert response.status_code == 200
    assert sent == {"new_name": "LabelEditedByPyGithub", "color": "0000ff"}
    assert response.json()["name"] == "LabelEditedByPyGithub"
    with responses.RequestsMock() as rsps:
        rsps.delete(f"{LABELS}/LabelEditedByPyGithub", status=204)
        response = admin.delete(url(github, "labels/LabelEditedByPyGithub/"))
    assert response.status_code == 204


def test_a_label_github_does_not_have_is_a_404(world):
    people, github, _, _ = world
    with responses.RequestsMock() as rsps:
        rsps.delete(f"{LABELS}/ghost", status=404, json={"message": "Not Found"})
        rsps.patch(f"{LABELS}/ghost", status=404, json={"message": "Not Found"})
        assert people["lead"].delete(url(github, "labels/ghost/")).status_code == 404
        response = people["lead"].patch(
            url(github, "labels/ghost/"), {"color": "ffffff"}, format="json"
        )
    assert response.status_code == 404
    assert response.json()["detail"] == "no label 'ghost' on the repository"


def test_an_existing_name_is_githubs_answer_as_a_502(world):
    people, github, _, _ = world
    refusal = {
        "message": "Validation Failed",
        "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
    }
    with responses.RequestsMock() as rsps:
        rsps.post(LABELS, status=422, json=refusal)
        response = people["lead"].post(
            url(github, "labels/"), {"name": "bug", "color": "d73a4a"}, format="json"
        )
    assert response.status_code == 502
    assert "Validation Failed" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"color": "00ff00"}, "This field is required."),
        ({"name": "x", "color": "green"}, "does not match the required pattern"),
        ({"name": "x" * 51, "color": "00ff00"}, "no more than 50 characters"),
        ({"name": "x", "color": "00ff00", "priority": 1}, "unknown fields: priority"),
    ],
)
def test_bad_labels_are_refused_before_the_provider_hears_of_them(world, body, error):
    people, github, _, _ = world
    with responses.RequestsMock():
        response = people["lead"].post(url(github, "labels/"), body, format="json")
        empty = people["lead"].patch(url(github, "labels/bug/"), {}, format="json")
    assert response.status_code == 400 and error in response.content.decode()
    assert (empty.status_code, empty.json()) == (400, {"error": "nothing to change"})


def test_members_get_403_and_other_teams_404(world):
    people, github, _, foreign = world
    with responses.RequestsMock():
        for method, path in [
            ("post", "labels/"),
            ("patch", "labels/bug/"),
            ("delete", "labels/bug/"),
        ]:
            body = {"name": "bug", "color": "d73a4a"}
            member = getattr(people["kim"], method)(
                url(github, path), body, format="json"
            )
            stranger = getattr(people["lead"], method)(
                url(foreign, path), body, format="json"
            )
            assert (member.status_code, stranger.status_code) == (403, 404), path


def test_gitlab_labels_carry_the_hash_on_the_wire(world):
    people, _, gitlab, _ = world
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{PROJECT}/labels", status=201, json=recorded("gitlab/label_created.json")
        )
        rsps.put(
            f"{PROJECT}/labels/documentation", json=recorded("gitlab/label_edited.json")
        )
        rsps.delete(f"{PROJECT}/labels/docs", status=204)
        created = people["lead"].post(
            url(gitlab, "labels/"),
            {"name": "feature", "color": "5843AD"},
            format="json",
        )
        edited = people["lead"].patch(
            url(gitlab, "labels/documentation/"),
            {"new_name": "docs", "color": "#8E44AD", "description": "Documentation"},
            format="json",
        )
        removed = people["lead"].delete(url(gitlab, "labels/docs/"))
        bodies = [json.loads(call.request.body) for call in rsps.calls[:2]]
    assert bodies == [
        {"name": "feature", "color": "#5843ad", "description": ""},
        {"new_name": "docs", "color": "#8e44ad", "description": "Documentation"},
    ]
    assert created.json() == {"name": "feature", "color": "5843ad", "description": ""}
    assert edited.json() == {
        "name": "docs",
        "color": "8e44ad",
        "description": "Documentation",
    }
    assert removed.status_code == 204
