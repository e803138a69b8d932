"""The webhook configurations API (CONTRACT §7): a team admin registers, changes,
pauses and removes our hook on the provider; members read; other teams see
nothing. Provider HTTP is mocked with recorded response shapes."""

from __future__ import annotations

import json

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import (
    ConnectedRepository,
    OrganizationMembership,
    ProviderCredential,
    WebhookEndpoint,
)
from tests.conftest import post_webhook
from tests.factories import DeliveryFactory, OrganizationFactory, RepositoryFactory
from tests.integrations import test_connect_repo_gitlab as gitlab_recorded
from tests.integrations.test_connect_repo import (
    API,
    HOOK_ID,
    HOST,
    REPO,
    TOKEN,
    recorded,
)

pytestmark = pytest.mark.django_db

CONFIGS = "/api/v1/webhooks/configs/"
DEFAULT_EVENTS = [
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
    "issue_comment",
    "issues",
    "push",
]
# GitHub's error body for a refused hook (REST docs, "Validation failed").
VALIDATION_FAILED = {
    "message": "Validation Failed",
    "errors": [
        {
            "resource": "Hook",
            "code": "custom",
            "message": "Hook already exists on this repository",
        }
    ],
    "documentation_url": "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook",
    "status": "422",
}


def github_error(status: int) -> dict[str, str]:
    """GitHub's error body for a 401 or a 404."""
    message = {401: "Bad credentials", 404: "Not Found"}[status]
    return {"message": message, "documentation_url": "https://docs.github.com/rest"}


@pytest.fixture(autouse=True)
def _client_settings(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.PUBLIC_URL = "https://cq.example.com"
    settings.CODEQUEST_ALLOWED_API_HOSTS = [HOST, "gitlab.example.com"]


@pytest.fixture
def team():
    return OrganizationFactory(name="Mine", slug="mine")


@pytest.fixture
def repository(team):
    """PyGithub/PyGithub on the Enterprise host, connected with a token."""
    credential = ProviderCredential(
        provider="github", api_url=API, kind="access_token", organization=team
    )
    credential.token = TOKEN
    credential.save()
    return RepositoryFactory(
        host=HOST,
        external_id=3544490,
        full_name="PyGithub/PyGithub",
        organization=team,
        credential=credential,
    )


def person(team, role: str | None, name: str = "lee") -> APIClient:
    user = get_user_model().objects.create_user(name, password="pw")
    if role is not None:
        OrganizationMembership.objects.create(organization=team, user=user, role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def lead(team):
    return person(team, "admin", "lead")


@pytest.fixture
def member(team):
    return person(team, "member", "kim")


@pytest.fixture
def stranger():
    return person(OrganizationFactory(name="Theirs", slug="theirs"), "admin", "eve")


def github_hooks(rsps) -> None:
    """Our hook's list, create, ping, update and delete, as GitHub answers."""
    rsps.get(f"{REPO}", json=recorded("repo.json"))
    rsps.get(f"{REPO}/hooks", json=recorded("hooks_list.json"))
    rsps.post(f"{REPO}/hooks", status=201, json=recorded("hook_created.json"))
    rsps.get(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
    rsps.post(f"{REPO}/hooks/{HOOK_ID}/pings", status=204)
    rsps.patch(f"{REPO}/hooks/{HOOK_ID}", json=recorded("hook_created.json"))
    rsps.delete(f"{REPO}/hooks/{HOOK_ID}", status=204)


def registered(repository, **changes) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        provider=repository.provider,
        repository=repository,
        provider_hook_id=HOOK_ID,
        **changes,
    )
    endpoint.secret = "the-hook-secret"
    endpoint.save()
    return endpoint


def sent(rsps, method: str) -> list[dict]:
    return [
        json.loads(call.request.body or b"{}")
        for call in rsps.calls
        if call.request.method == method
    ]


def test_a_team_admin_registers_a_hook_with_a_fresh_secret(lead, repository):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        github_hooks(rsps)
        response = lead.post(CONFIGS, {"repository": repository.pk}, format="json")
        created = sent(rsps, "POST")
    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    url = f"https://cq.example.com/webhooks/github/{endpoint.public_id}/"
    assert body == {
        "id": endpoint.pk,
        "repository": "PyGithub/PyGithub",
        "repository_id": repository.pk,
        "provider": "github",
        "provider_hook_id": HOOK_ID,
        "url": url,
        "events": DEFAULT_EVENTS,
        "active": True,
        "verified_at": None,
        "last_delivery_at": None,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    hook = created[0]
    assert hook["config"]["url"] == url
    assert hook["config"]["secret"] == endpoint.secret
    assert len(endpoint.secret) >= 40
    assert (hook["events"], hook["active"]) == (DEFAULT_EVENTS, True)
    assert endpoint.secret not in response.content.decode()
    assert len(created) == 2  # the hook, then its ping
    repository.refresh_from_db()
    assert repository.webhook_status == "pending"


def test_the_hook_verifies_with_its_own_secret_once_registered(
    client, lead, repository
):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        github_hooks(rsps)
        config = lead.post(
            CONFIGS, {"repository": repository.pk, "events": ["push"]}, format="json"
        ).json()
    endpoint = WebhookEndpoint.objects.get()
    response = post_webhook(
        client,
        "github",
        {"zen": "Design for failure.", "hook_id": HOOK_ID},
        "ping",
        hook=endpoint.public_id,
        secret=endpoint.secret,
    )
    assert response.status_code in (200, 202)
    assert config["events"] == ["push"]
    detail = lead.get(f"{CONFIGS}{config['id']}/").json()
    assert detail["verified_at"] is not None
    assert detail["last_delivery_at"] is not None


def test_chosen_events_reach_the_provider_in_its_order(lead, repository):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        github_hooks(rsps)
        response = lead.post(
            CONFIGS,
            {
                "repository": repository.pk,
                "events": ["push", "pull_request", "push"],
                "active": False,
            },
            format="json",
        )
        created = sent(rsps, "POST")
    assert response.status_code == 201
    assert response.json()["events"] == ["pull_request", "push"]
    assert response.json()["active"] is False
    assert (created[0]["events"], created[0]["active"]) == (
        ["pull_request", "push"],
        False,
    )
    assert len(created) == 1  # a paused hook is not pinged
    assert WebhookEndpoint.objects.get().events == ["pull_request", "push"]


@pytest.mark.parametrize(
    ("_case", "payload", "field"),
    [
        ("unknown event", {"events": ["deployment"]}, "events"),
        ("events not a list", {"events": "push"}, "events"),
        ("active not a boolean", {"active": "maybe"}, "active"),
        ("unknown field", {"secret": "mine"}, "error"),
        ("no repository", {"repository": None}, "repository"),
        ("repository not a number", {"repository": "PyGithub/PyGithub"}, "repository"),
        ("repository id past bigint", {"repository": 2**63}, "repository"),
    ],
)
def test_bad_input_is_a_400_that_changes_nothing(
    lead, repository, _case, payload, field
):
    with responses.RequestsMock(
        assert_all_requests_are_fired=False
    ) as rsps:  # any provider call would fail here
        response = lead.post(
            CONFIGS, {"repository": repository.pk, **payload}, format="json"
        )
        assert len(rsps.calls) == 0
    assert response.status_code == 400
    assert field in response.json()
    assert WebhookEndpoint.objects.count() == 0


def test_a_body_that_is_not_json_is_a_400(lead, repository):
    response = lead.generic("POST", CONFIGS, b"{not json", "application/json")
    assert response.status_code == 400
    assert WebhookEndpoint.objects.count() == 0


def test_a_second_hook_on_one_repository_is_a_409(lead, repository):
    first = registered(repository)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        response = lead.post(CONFIGS, {"repository": repository.pk}, format="json")
        assert len(rsps.calls) == 0
    assert response.status_code == 409
    assert "already has a webhook" in response.json()["error"]
    assert list(WebhookEndpoint.objects.all()) == [first]


def test_a_repository_without_our_token_is_a_409(lead, repository):
    ConnectedRepository.objects.filter(pk=repository.pk).update(
        credential=None, installation_id=77
    )
    response = lead.post(CONFIGS, {"repository": repository.pk}, format="json")
    assert response.status_code == 409
    assert "GitHub App" in response.json()["error"]
    assert WebhookEndpoint.objects.count() == 0


def test_a_refusal_by_the_provider_is_a_502_that_leaves_nothing(lead, repository):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(REPO, json=recorded("repo.json"))
        rsps.get(f"{REPO}/hooks", json=[])
        rsps.post(f"{REPO}/hooks", status=422, json=VALIDATION_FAILED)
        response = lead.post(CONFIGS, {"repository": repository.pk}, format="json")
    assert response.status_code == 502
    assert response.json() == {
        "error": "GitHub did not make the change: webhooks of PyGithub/PyGithub: "
        "GitHub answered 422 Validation Failed"
    }
    assert WebhookEndpoint.objects.count() == 0


def test_a_refused_token_is_a_502_and_marks_the_connection(lead, repository):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(REPO, status=401, json=github_error(401))
        response = lead.post(CONFIGS, {"repository": repository.pk}, format="json")
    assert response.status_code == 502
    assert "refused the token" in response.json()["error"]
    assert TOKEN not in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0
    repository.credential.refresh_from_db()
    assert repository.credential.status == "needs_reconnect"


def test_members_read_but_only_team_admins_change(member, repository):
    endpoint = registered(repository)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        listed = member.get(CONFIGS)
        created = member.post(CONFIGS, {"repository": repository.pk}, format="json")
        patched = member.patch(
            f"{CONFIGS}{endpoint.pk}/", {"active": False}, format="json"
        )
        deleted = member.delete(f"{CONFIGS}{endpoint.pk}/")
        assert len(rsps.calls) == 0
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [endpoint.pk]
    assert (created.status_code, patched.status_code, deleted.status_code) == (
        403,
        403,
        403,
    )
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.is_active) == (True, True)
    assert WebhookEndpoint.objects.count() == 1


def test_another_team_sees_nothing_and_changes_nothing(stranger, repository):
    endpoint = registered(repository)
    missing = stranger.get(f"{CONFIGS}{endpoint.pk + 1000}/")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        answers = [
            stranger.get(f"{CONFIGS}{endpoint.pk}/"),
            stranger.patch(
                f"{CONFIGS}{endpoint.pk}/", {"active": False}, format="json"
            ),
            stranger.delete(f"{CONFIGS}{endpoint.pk}/"),
            stranger.post(CONFIGS, {"repository": repository.pk}, format="json"),
        ]
        assert len(rsps.calls) == 0
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert stranger.get(CONFIGS).json()["count"] == 0
    # The same answer as for an id that does not exist: nothing to tell apart.
    assert answers[0].json() == {
        "error": missing.json()["error"].replace(
            str(endpoint.pk + 1000), str(endpoint.pk)
        )
    }
    assert "PyGithub" not in "".join(answer.content.decode() for answer in answers)
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.is_active) == (True, True)


def test_an_id_past_bigint_is_a_404(lead):
    assert lead.get(f"{CONFIGS}{2**64}/").status_code == 404


def test_pausing_reaches_the_provider_first(lead, repository):
    endpoint = registered(repository, events=["pull_request", "push"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        github_hooks(rsps)
        response = lead.patch(
            f"{CONFIGS}{endpoint.pk}/", {"active": False}, format="json"
        )
        patched = sent(rsps, "PATCH")
    assert response.status_code == 200
    assert (response.json()["active"], response.json()["events"]) == (
        False,
        ["pull_request", "push"],
    )
    assert patched == [
        {
            "config": {
                "url": f"https://cq.example.com/webhooks/github/{endpoint.public_id}/",
                "content_type": "json",
                "secret": "the-hook-secret",
                "insecure_ssl": "0",
            },
            "events": ["pull_request", "push"],
            "active": False,
        }
    ]
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.secret) == (False, "the-hook-secret")


def test_all_events_again_is_stored_as_the_default(lead, repository):
    endpoint = registered(repository, events=["push"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        github_hooks(rsps)
        response = lead.patch(
            f"{CONFIGS}{endpoint.pk}/", {"events": DEFAULT_EVENTS}, format="json"
        )
        assert sent(rsps, "PATCH")[0]["events"] == DEFAULT_EVENTS
    assert response.json()["events"] == DEFAULT_EVENTS
    endpoint.refresh_from_db()
    assert endpoint.events == []  # follows what we act on, should that grow


def test_a_patch_that_changes_nothing_calls_nobody(lead, repository):
    endpoint = registered(repository)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        response = lead.patch(
            f"{CONFIGS}{endpoint.pk}/", {"active": True}, format="json"
        )
        empty = lead.patch(f"{CONFIGS}{endpoint.pk}/", {}, format="json")
        assert len(rsps.calls) == 0
    assert (response.status_code, empty.status_code) == (200, 200)


@pytest.mark.parametrize(
    ("_case", "payload"),
    [
        ("read-only field", {"provider_hook_id": 1}),
        ("unknown event", {"events": ["star"]}),
        ("active not a boolean", {"active": []}),
    ],
)
def test_a_bad_patch_is_a_400_that_changes_nothing(lead, repository, _case, payload):
    endpoint = registered(repository)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        response = lead.patch(f"{CONFIGS}{endpoint.pk}/", payload, format="json")
        assert len(rsps.calls) == 0
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.is_enabled, endpoint.provider_hook_id) == (
        [],
        True,
        HOOK_ID,
    )


def test_a_failed_patch_on_the_provider_changes_nothing_here(lead, repository):
    endpoint = registered(repository)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.patch(f"{REPO}/hooks/{HOOK_ID}", status=404, json=github_error(404))
        response = lead.patch(
            f"{CONFIGS}{endpoint.pk}/", {"active": False}, format="json"
        )
    assert response.status_code == 502
    assert "not found" in response.json()["error"]
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is True


def test_deleting_removes_the_hook_there_and_its_url_here(client, lead, repository):
    endpoint = registered(repository)
    ConnectedRepository.objects.filter(pk=repository.pk).update(
        webhook_status="verified"
    )
    DeliveryFactory(hook=endpoint, repository=repository)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        github_hooks(rsps)
        response = lead.delete(f"{CONFIGS}{endpoint.pk}/")
        assert [call.request.method for call in rsps.calls] == ["DELETE"]
    assert response.status_code == 204
    assert lead.get(f"{CONFIGS}{endpoint.pk}/").status_code == 404
    assert lead.get(CONFIGS).json()["count"] == 0
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.deliveries.count() == 1  # the audit log keeps them
    repository.refresh_from_db()
    assert repository.webhook_status == "none"
    refused = post_webhook(
        client, "github", {"zen": "x"}, "ping", hook=endpoint.public_id, secret="s"
    )
    assert refused.status_code == 404


@pytest.mark.parametrize(
    ("_case", "status", "answer", "kept"),
    [
        ("already gone there is done", 404, 204, False),
        ("a refused token keeps it", 401, 502, True),
    ],
)
def test_a_delete_the_provider_does_not_do(
    lead, repository, _case, status, answer, kept
):
    endpoint = registered(repository)
    with responses.RequestsMock() as rsps:
        rsps.delete(f"{REPO}/hooks/{HOOK_ID}", status=status, json=github_error(status))
        response = lead.delete(f"{CONFIGS}{endpoint.pk}/")
    assert response.status_code == answer
    endpoint.refresh_from_db()
    assert endpoint.is_active is kept


def test_the_list_reads_each_hooks_latest_delivery_in_one_query(
    lead, team, django_assert_max_num_queries
):
    for number in range(6):
        repository = RepositoryFactory(organization=team, full_name=f"acme/r{number}")
        endpoint = registered(repository)
        for minutes in (5, 1):
            DeliveryFactory(
                hook=endpoint,
                repository=repository,
                received_at=timezone.now() - timezone.timedelta(minutes=minutes),
            )
    with django_assert_max_num_queries(4):
        body = lead.get(CONFIGS).json()
    assert body["count"] == 6
    assert [item["repository"] for item in body["results"]] == [
        f"acme/r{number}" for number in range(6)
    ]
    newest = timezone.now() - timezone.timedelta(minutes=1)
    for item in body["results"]:
        seen = timezone.datetime.fromisoformat(item["last_delivery_at"])
        assert abs((seen - newest).total_seconds()) < 30


def test_gitlab_hooks_use_its_event_flags_and_pause_with_all_off(lead, team):
    credential = ProviderCredential(
        provider="gitlab",
        api_url=gitlab_recorded.BASE,
        kind="access_token",
        organization=team,
    )
    credential.token = gitlab_recorded.TOKEN
    credential.save()
    repository = ConnectedRepository.objects.create(
        provider="gitlab",
        host="gitlab.example.com",
        external_id=3,
        full_name="diaspora/diaspora-project-site",
        credential=credential,
        organization=team,
    )
    project = gitlab_recorded.PROJECT
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(
            f"{gitlab_recorded.BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            json=gitlab_recorded.recorded("project.json"),
        )
        rsps.get(f"{project}/hooks", json=[])
        rsps.post(
            f"{project}/hooks", status=201, json=gitlab_recorded.recorded("hook.json")
        )
        rsps.put(f"{project}/hooks/1", json=gitlab_recorded.recorded("hook.json"))
        created = lead.post(
            CONFIGS,
            {
                "repository": repository.pk,
                "events": ["merge_requests"],
                "active": False,
            },
            format="json",
        )
        resumed = lead.patch(
            f"{CONFIGS}{created.json()['id']}/", {"active": True}, format="json"
        )
        bodies = [
            json.loads(call.request.body)
            for call in rsps.calls
            if call.request.method in ("POST", "PUT")
        ]
    assert created.status_code == 201, created.content
    assert created.json()["events"] == ["merge_requests"]
    flags = [
        {key: body[key] for key in body if key.endswith("_events")} for body in bodies
    ]
    assert flags == [
        {
            "merge_requests_events": False,
            "note_events": False,
            "push_events": False,
            "issues_events": False,
        },
        {
            "merge_requests_events": True,
            "note_events": False,
            "push_events": False,
            "issues_events": False,
        },
    ]
    endpoint = WebhookEndpoint.objects.get()
    assert bodies[0]["token"] == bodies[1]["token"] == endpoint.secret
    assert resumed.json()["active"] is True
    assert created.json()["provider_hook_id"] == 1
