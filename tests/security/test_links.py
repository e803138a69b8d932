"""Payload URLs become links only when http(s) on a provider host; CSP on pages."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.providers.hosts import safe_link
from tests.factories import OrganizationFactory, RepositoryFactory
from tests.test_dashboard import ledger_line, seed_member, waiting_pull

pytestmark = pytest.mark.django_db

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https://evil.example/phish",
    "https://github.com@evil.example/",
    "//evil.example/x",
    "http://[::1",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_not_links(url: str) -> None:
    assert safe_link(url, "github") == ""


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://github.com/octo/hello/pull/1", "github"),
        ("http://github.com/octo/hello/pull/1", "github"),
        ("https://GitHub.com/octo/hello/pull/1", "github"),
        ("https://gitlab.com/group/sub/project/-/merge_requests/3", "gitlab"),
    ],
)
def test_provider_urls_are_links(url: str, provider: str) -> None:
    assert safe_link(url, provider) == url


def test_a_gitlab_url_is_no_github_link() -> None:
    assert safe_link("https://gitlab.com/a/b/-/merge_requests/1", "github") == ""


def test_operator_listed_hosts_are_links(settings) -> None:
    settings.CODEQUEST_ALLOWED_API_HOSTS = ["git.example.com"]
    assert safe_link("https://git.example.com/a/-/merge_requests/1", "gitlab")


@pytest.mark.parametrize(
    "page", ["/dashboard/", "/dashboard/queue/", "/dashboard/points/"]
)
def test_a_script_url_from_a_payload_renders_as_text(page: str) -> None:
    team = OrganizationFactory()
    user, (identity,) = seed_member("mona", team)
    repository = RepositoryFactory(organization=team)
    pull = waiting_pull(repository, 7, hours_ago=2)
    pull.url = "javascript:alert(document.cookie)"
    pull.save()
    ledger_line(identity, 10, pull, source="review:1")
    client = Client()
    client.force_login(user)

    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Make checkout faster #7" in html or "octo/" in html
    assert "javascript:" not in html
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy


def test_a_provider_url_stays_a_link() -> None:
    team = OrganizationFactory()
    user, _ = seed_member("mona", team)
    repository = RepositoryFactory(organization=team)
    pull = waiting_pull(repository, 8, hours_ago=2)
    pull.url = "https://github.com/octo/hello/pull/8"
    pull.save()
    client = Client()
    client.force_login(user)

    html = client.get("/dashboard/queue/").content.decode()

    assert 'href="https://github.com/octo/hello/pull/8"' in html
