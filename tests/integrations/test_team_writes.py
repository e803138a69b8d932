"""A team admin sets how CodeQuest writes to the team's repositories."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from integrations.models import (
    COMMIT_MESSAGE_DEFAULT,
    Organization,
    OrganizationMembership,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return Organization.objects.create(name="Backend", slug="backend")


def person(client, team, role: str):
    user = get_user_model().objects.create_user(role, password="pw-long-enough-1")
    OrganizationMembership.objects.create(organization=team, user=user, role=role)
    client.force_login(user)
    return client


def test_an_admin_saves_the_writing_options(client, team):
    admin = person(client, team, "admin")
    page = admin.get("/dashboard/teams/backend/").content.decode()
    assert "Writing to your repositories" in page
    answer = admin.post(
        "/dashboard/teams/backend/writes/",
        {
            "onboarding_pull_requests": "",
            "commit_message_template": "chore: review settings ({timestamp})",
            "write_exclude_paths": ".github/CODEOWNERS, docs/**, docs/**",
        },
        follow=True,
    )
    assert "Saved" in answer.content.decode()
    team.refresh_from_db()
    assert team.onboarding_pull_requests is False
    assert team.commit_message_template == "chore: review settings ({timestamp})"
    assert team.write_exclude_paths == [".github/CODEOWNERS", "docs/**"]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("commit_message_template", "two\nlines", "One line of text"),
        ("commit_message_template", "   ", "This field is required"),
        ("write_exclude_paths", "../outside", "Not a path pattern: ../outside"),
    ],
)
def test_bad_options_are_refused_and_nothing_changes(client, team, field, value, says):
    admin = person(client, team, "admin")
    data = {
        "onboarding_pull_requests": "on",
        "commit_message_template": COMMIT_MESSAGE_DEFAULT,
        "write_exclude_paths": "",
        field: value,
    }
    answer = admin.post("/dashboard/teams/backend/writes/", data, follow=True)
    assert says in answer.content.decode()
    team.refresh_from_db()
    assert team.commit_message_template.startswith("Update review settings")
    assert team.write_exclude_paths == []


def test_members_and_other_teams_cannot(client, team):
    member = person(client, team, "member")
    assert "Writing to your repositories" not in (
        member.get("/dashboard/teams/backend/").content.decode()
    )
    refused = member.post(
        "/dashboard/teams/backend/writes/", {"commit_message_template": "x"}
    )
    assert refused.status_code == 403
    Organization.objects.create(name="Web", slug="web")
    assert (
        member.post("/dashboard/teams/web/writes/", {"commit_message_template": "x"})
    ).status_code == 404
