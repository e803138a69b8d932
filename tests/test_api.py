"""The JSON API of CONTRACT §5: fields, filters, pagination, auth, tenancy, queries."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership
from tests.factories import (
    CommentFactory,
    DeliveryFactory,
    OrganizationFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/repositories/",
    "/api/v1/pulls/",
    "/api/v1/reviews/",
    "/api/v1/deliveries/",
]


def member_of(organization, username="alice"):
    user = get_user_model().objects.create_user(username, password="pw")
    OrganizationMembership.objects.create(organization=organization, user=user)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_pull_fields_are_exactly_the_contracts(api):
    pull = PullRequestFactory(title="Fix ünïcode", requested_reviewers=["a", "b"])
    body = api.get("/api/v1/pulls/").json()
    assert body["count"] == 1
    assert set(body) == {"count", "next", "previous", "results"}
    item = body["results"][0]
    assert item["provider"] == "github"
    assert item["repository"] == pull.repository.full_name
    assert item["number"] == pull.number
    assert item["title"] == "Fix ünïcode"
    assert item["author"] == "octocat"
    assert (item["state"], item["draft"]) == ("open", False)
    assert item["head_sha"] == pull.head_sha
    assert item["base_ref"] == "main"
    assert item["requested_reviewers"] == ["a", "b"]
    assert item["created_at"] == "2024-01-01T00:00:00Z"
    assert item["merged_at"] is None and item["closed_at"] is None


def test_pull_filters(api):
    repo = RepositoryFactory(full_name="group/sub/project", provider="gitlab")
    PullRequestFactory(repository=repo, number=5, state="merged", author_login="bob")
    PullRequestFactory(number=6)
    cases = {
        "provider=gitlab": 1,
        "repository=group/sub/project": 1,
        "number=5": 1,
        "state=merged": 1,
        "state=open": 1,
        "author=bob": 1,
        "author=nobody": 0,
        "provider=github&number=6": 1,
    }
    for query, count in cases.items():
        assert api.get(f"/api/v1/pulls/?{query}").json()["count"] == count, query


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/api/v1/pulls/", "state=bogus", "state must be one of: open, closed, merged"),
        ("/api/v1/pulls/", "number=abc", "number must be a positive integer"),
        ("/api/v1/pulls/", "number=-1", "number must be a positive integer"),
        ("/api/v1/pulls/", "provider=bitbucket", "provider must be one of"),
        ("/api/v1/reviews/", "state=lgtm", "state must be one of"),
        ("/api/v1/deliveries/", "status=done", "status must be one of"),
        ("/api/v1/repositories/", "provider=svn", "provider must be one of"),
    ],
)
def test_bad_filters_are_400_with_a_message(api, path, query, message):
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_review_fields_and_comment_count(api):
    review = ReviewFactory(external_id="77", state="changes_requested")
    CommentFactory(pull_request=review.pull_request, review_external_id="77")
    CommentFactory(pull_request=review.pull_request, review_external_id="77")
    CommentFactory(
        pull_request=review.pull_request, review_external_id="77", is_deleted=True
    )
    CommentFactory(pull_request=review.pull_request, review_external_id="other")
    item = api.get("/api/v1/reviews/").json()["results"][0]
    assert item["reviewer"] == "hubot"
    assert item["state"] == "changes_requested"
    assert item["number"] == review.pull_request.number
    assert item["repository"] == review.pull_request.repository.full_name
    assert item["comment_count"] == 2
    assert api.get("/api/v1/reviews/?reviewer=hubot").json()["count"] == 1
    assert api.get("/api/v1/reviews/?reviewer=other").json()["count"] == 0


def test_repository_shows_a_connection_needing_reconnect(api):
    from integrations.models import ProviderCredential

    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "ghp_x"
    credential.status = "needs_reconnect"
    credential.save()
    needing = RepositoryFactory(credential=credential)
    fine = RepositoryFactory()
    items = api.get("/api/v1/repositories/").json()["results"]
    # CONTRACT §7: items carry the id the repository endpoints take.
    assert sorted(item["id"] for item in items) == sorted([needing.pk, fine.pk])
    assert sorted(str(item["connection_status"]) for item in items) == [
        "None",
        "needs_reconnect",
    ]
    assert all("token" not in json.dumps(item) for item in items)


def test_delivery_fields_and_filters(api):
    DeliveryFactory(status="failed", error="PayloadError: payload has no number")
    DeliveryFactory(provider="gitlab", event="Merge Request Hook", status="processed")
    failed = api.get("/api/v1/deliveries/?status=failed").json()
    assert failed["count"] == 1
    item = failed["results"][0]
    assert set(item) >= {
        "provider",
        "delivery_id",
        "event",
        "action",
        "repository",
        "status",
        "received_at",
        "processed_at",
        "error",
    }
    assert item["error"] == "PayloadError: payload has no number"
    assert "body" not in item and "headers" not in item
    assert api.get("/api/v1/deliveries/?provider=gitlab").json()["count"] == 1


def test_page_size_is_capped_at_500(api):
    repo = RepositoryFactory()
    PullRequestFactory.create_batch(501, repository=repo)
    body = api.get("/api/v1/pulls/?page_size=1000").json()
    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"] is not None
    assert len(api.get("/api/v1/pulls/?page_size=7").json()["results"]) == 7


@pytest.mark.parametrize("path", LISTS)
def test_lists_need_authentication(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_token_authentication_and_command():
    from knox.models import AuthToken

    out = StringIO()
    call_command("api_token", "carol", "--staff", stdout=out)
    key = out.getvalue().strip()
    user = get_user_model().objects.get(username="carol")
    assert user.is_staff and not user.has_usable_password()
    again = StringIO()
    call_command("api_token", "carol", stdout=again)
    second = again.getvalue().strip()
    assert second != key  # a new token each run; the first stays valid
    assert key.startswith("cq_") and len(key) == 67
    client = APIClient()
    for token in (key, second):
        response = client.get("/api/v1/pulls/", HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200
    stored = list(
        AuthToken.objects.filter(user=user).values_list("digest", "token_key")
    )
    assert len(stored) == 2
    for digest, token_key in stored:
        assert key not in digest and second not in digest
        assert len(token_key) == 15
    assert (
        client.get("/api/v1/pulls/", HTTP_AUTHORIZATION="Token nope").status_code == 401
    )
    with pytest.raises(CommandError, match="USERNAME must be"):
        call_command("api_token", " ", stdout=StringIO())


def test_members_see_only_their_teams_data():
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    my_pull = PullRequestFactory(repository__organization=mine)
    their_pull = PullRequestFactory(repository__organization=theirs)
    ReviewFactory(pull_request=my_pull)
    ReviewFactory(pull_request=their_pull)
    DeliveryFactory(repository=my_pull.repository)
    DeliveryFactory(repository=their_pull.repository)
    PullRequestFactory(repository__organization=None)  # unclaimed: admins only
    client = member_of(mine)
    for path in LISTS:
        body = client.get(path).json()
        assert body["count"] == 1, path
    names = [
        item["repository"] for item in client.get("/api/v1/pulls/").json()["results"]
    ]
    assert names == [my_pull.repository.full_name]
    hidden = client.get(f"/api/v1/pulls/?repository={their_pull.repository.full_name}")
    assert hidden.json()["count"] == 0


@pytest.mark.parametrize("path", LISTS)
def test_list_query_count_is_constant(api, django_assert_max_num_queries, path):
    org = OrganizationFactory()
    for _ in range(30):
        review = ReviewFactory(pull_request__repository__organization=org)
        CommentFactory(pull_request=review.pull_request)
        DeliveryFactory(repository=review.pull_request.repository)
    with django_assert_max_num_queries(3):
        response = api.get(f"{path}?page_size=30")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 30


def test_openapi_schema_and_docs(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/pulls/" in schema.content
    assert api.get("/api/docs/").status_code == 200
    redoc = api.get("/api/redoc/")
    assert redoc.status_code == 200
    assert b"drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc.content
    assert b"googleapis" not in redoc.content  # the stock page's web fonts
    assert "blob:" in redoc["Content-Security-Policy"]  # ReDoc's search worker


def test_openapi_schema_generates_without_warnings(tmp_path):
    """Every API class documents its answer and the token scheme is described
    (``--fail-on-warn`` turns any warning into an error)."""
    call_command(
        "spectacular", "--validate", "--fail-on-warn", file=str(tmp_path / "s.yaml")
    )
    schema = (tmp_path / "s.yaml").read_text()
    assert "tokenAuth:" in schema
    assert "AppInstallationListOutput" in schema


def test_openapi_components_are_named_after_their_api(api):
    """Every list nests an OutputSerializer; each gets its own component."""
    schema = api.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "Output" not in components
    assert "PaginatedOutputList" not in components
    pulls = schema["paths"]["/api/v1/pulls/"]["get"]["responses"]["200"]
    page = pulls["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert page == "PaginatedPullRequestListOutputList"
    item = components[page]["properties"]["results"]["items"]["$ref"]
    fields = components[item.rsplit("/", 1)[1]]["properties"]
    assert {"number", "title", "requested_reviewers"} <= set(fields)
    deliveries = components["DeliveryListOutput"]["properties"]
    assert {"delivery_id", "event", "status"} <= set(deliveries)
