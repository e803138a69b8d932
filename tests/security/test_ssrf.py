"""The connect form's "API base URL" never sends a token to a host an operator
did not configure, and never echoes what a foreign server answered."""

from __future__ import annotations

import pytest
import responses

from integrations.models import ConnectedRepository, ProviderCredential
from tests.integrations.test_connect_repo import TOKEN, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _client_settings(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.PUBLIC_URL = "https://cq.example.com"
    settings.CODEQUEST_ALLOWED_API_HOSTS = ["ghe.example.com"]


TARGETS = [
    "http://127.0.0.1:6379/",
    "http://localhost:8000/api/v3",
    "http://[::1]/api/v3",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/api/v3",
    "http://192.168.1.1/api/v3",
    "https://evil.example/api/v3",
    "https://api.github.com.evil.example/",
    "https://api.github.com@evil.example/",
    "https://api.github.com:6379/",
    "gopher://api.github.com/",
]


@pytest.mark.parametrize("target", TARGETS)
def test_unconfigured_api_hosts_are_refused_before_any_call(client, team_admin, target):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        response = client.post(
            "/dashboard/repositories/connect",
            form_data(team_admin, api_url=target),
            follow=True,
        )
        assert len(rsps.calls) == 0

    assert response.status_code == 200
    assert "Not connected" in response.content.decode()
    assert ProviderCredential.objects.count() == 0
    assert ConnectedRepository.objects.count() == 0


def test_the_refusal_says_how_an_operator_allows_a_host(client, team_admin):
    response = client.post(
        "/dashboard/repositories/connect",
        form_data(team_admin, api_url="https://git.internal.example/api/v3"),
        follow=True,
    )
    page = response.content.decode()
    assert "git.internal.example is not a configured github host" in page
    assert "CODEQUEST_ALLOWED_API_HOSTS" in page


def test_connect_repo_refuses_an_unconfigured_host_in_one_line(monkeypatch, settings):
    from django.core.management import CommandError, call_command

    settings.CODEQUEST_ALLOWED_API_HOSTS = []
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    with pytest.raises(CommandError, match="169.254.169.254 is not a configured"):
        call_command(
            "connect_repo",
            "--provider",
            "github",
            "--repo",
            "octo/hello",
            "--token-env",
            "GH_TOKEN",
            "--api-url",
            "http://169.254.169.254/",
        )


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, "<html><body>SECRET-INTRANET-PAGE</body></html>"), (502, "SECRET-INTRANET")],
)
def test_an_answer_that_is_not_json_is_a_clear_message(
    client, team_admin, status, body
):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(
            "https://ghe.example.com/api/v3/repos/PyGithub/PyGithub",
            body=body,
            status=status,
            content_type="text/html",
        )
        response = client.post(
            "/dashboard/repositories/connect", form_data(team_admin), follow=True
        )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Not connected" in page
    assert "SECRET-INTRANET" not in page
    assert ProviderCredential.objects.count() == 0


def test_a_gitlab_error_page_is_not_echoed(client, team_admin, settings):
    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.example.com"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(
            "https://gitlab.example.com/api/v4/projects/group%2Fproject",
            body="<html><title>SECRET-INTRANET</title></html>",
            status=403,
            content_type="text/html",
        )
        response = client.post(
            "/dashboard/repositories/connect",
            form_data(
                team_admin,
                provider="gitlab",
                full_name="group/project",
                api_url="https://gitlab.example.com",
            ),
            follow=True,
        )

    page = response.content.decode()
    assert "Not connected" in page
    assert "GitLab answered 403" in page
    assert "SECRET-INTRANET" not in page
