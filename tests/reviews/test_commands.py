"""/codequest commands in pull request comments: a real comment delivery runs
the command once (a redelivery finds it), on the provider (HTTP mocked with
recorded answers), answered with a reply; only the team may use them."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
)
from reviews.commands import command_parse, pull_command_run
from reviews.models import (
    Member,
    ProviderIdentity,
    PullCommand,
    PullRequest,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.reviews.test_assignment_flow import API, mock_provider, repo_body
from tests.reviews.test_assignment_flow import (
    pytestmark as corpus_marks,
)
from tests.reviews.test_assignment_flow import (
    repository as repository,  # noqa: F401 (fixture)
)

pytestmark = corpus_marks
COMMENTS = f"{API}/issues/2/comments"
REQUESTED = f"{API}/pulls/2/requested_reviewers"


@pytest.fixture
def asked(repository):  # noqa: F811
    """Pull request #2, CodeQuest asked alice; alice is on the team."""
    team = Organization.objects.create(name="Core", slug="core")
    ConnectedRepository.objects.filter(pk=repository.pk).update(organization=team)
    pull = PullRequest.objects.create(
        repository=repository,
        number=2,
        state="open",
        author_login="Codertocat",
        requested_reviewers=["alice"],
        base_ref="master",
        title="Update the README",
    )
    ReviewAssignment.objects.create(
        pull_request=pull,
        trigger="opened",
        strategy="load_balance",
        status="requested",
        reviewers=["alice"],
        explanation={
            "strategy": "load_balance",
            "pool": {"alice": ["code owner (*.py)"], "bob": ["code owner (*.py)"]},
            "filtered": {"Codertocat": "author"},
        },
    )
    ReviewRequest.objects.create(
        pull_request=pull, reviewer_login="alice", requested_at=timezone.now()
    )
    for login in ("alice", "dave"):
        member(login, team if login == "alice" else None)
    return pull


def member(login: str, team: Organization | None):
    user = get_user_model().objects.create_user(login, password="pw")
    person = Member.objects.create(display_name=login, user=user)
    ProviderIdentity.objects.update_or_create(
        provider="github", host="github.com", login=login, defaults={"member": person}
    )
    if team is not None:
        OrganizationMembership.objects.create(organization=team, user=user)
    return user


def comment(body: str, login: str = "alice", comment_id: int = 5001) -> dict:
    """The recorded issue_comment on a pull request, on #2 of our repository."""
    payload = load_payload("github", "issue_comment.created.7.json")
    payload["repository"] = load_payload("github", "pull_request.opened.1.json")[
        "repository"
    ]
    payload["issue"]["number"] = 2
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["comment"].update(
        id=comment_id,
        body=body,
        user={**payload["comment"]["user"], "login": login, "id": 9000 + comment_id},
        created_at=now,
        updated_at=now,
    )
    return payload


def deliver(client, payload, capture) -> None:
    with capture(execute=True):
        answer = post_webhook(client, "github", copy.deepcopy(payload), "issue_comment")
    assert answer.status_code == 202


def reply_of(rsps) -> str:
    posted = [c for c in rsps.calls if c.request.url == COMMENTS]
    assert len(posted) == 1, [c.request.url for c in rsps.calls]
    return json.loads(posted[0].request.body)["body"]


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("/codequest reroll", ("reroll", "")),
        (
            "Thanks!\n  /CodeQuest decline  on leave this week \nbye",
            ("decline", "on leave this week"),
        ),
        ("/codequest snooze 2h", ("snooze", "2h")),
        ("see /codequest why", None),  # not at the start of a line
        ("nothing here", None),
    ],
)
def test_command_lines(body, parsed):
    assert command_parse(body) == parsed


def test_reroll_in_a_comment_moves_the_request_on_the_provider_once(
    client, asked, eager_celery, django_capture_on_commit_callbacks
):
    payload = comment("/codequest reroll")
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        rsps.delete(REQUESTED, json={})
        rsps.post(COMMENTS, status=201, json={})
        deliver(client, payload, django_capture_on_commit_callbacks)
        sent = {
            (c.request.method, c.request.url): json.loads(c.request.body or "{}")
            for c in rsps.calls
            if c.request.method in ("POST", "DELETE") and "graphql" not in c.request.url
        }
        reply = reply_of(rsps)
    assert sent[("POST", REQUESTED)]["reviewers"] == ["bob"]
    assert sent[("DELETE", REQUESTED)] == {"reviewers": ["alice"], "team_reviewers": []}
    assert reply == "@alice: rerolled. Asked @bob instead of @alice."
    command = PullCommand.objects.get()
    assert (command.name, command.status) == ("reroll", "done")
    latest = ReviewAssignment.objects.latest("pk")
    assert latest.trigger == "reroll"
    assert latest.explanation["filtered"]["alice"] == "unavailable: rerolled"

    with responses.RequestsMock():  # a redelivery: nothing runs again
        deliver(client, payload, django_capture_on_commit_callbacks)
    assert PullCommand.objects.count() == 1


def test_only_the_team_may_use_commands_and_unknown_ones_are_explained(
    asked, django_capture_on_commit_callbacks
):
    from integrations.providers import get_provider
    from reviews.commands import pull_command_record

    def run(body: str, login: str, comment_id: int) -> str:
        event = get_provider("github").parse(
            "issue_comment", comment(body, login, comment_id)
        )
        command = pull_command_record(
            pull_request=asked, comment=event.comment, followed_since=None
        )
        with responses.RequestsMock() as rsps:
            rsps.get(API, json=repo_body())
            rsps.post(COMMENTS, status=201, json={})
            assert pull_command_run(command_id=command.pk) == "refused"
            return reply_of(rsps)

    assert run("/codequest reroll", "dave", 1) == (
        "@dave: only members of Core on CodeQuest can use its commands here."
    )
    assert "there is no `dance` command. Try: reroll" in run(
        "/codequest dance", "alice", 2
    )
    # dave is asked nothing: decline and snooze are for the people asked.


def test_snooze_why_claim_and_decline(asked):
    from integrations.providers import get_provider
    from reviews.commands import pull_command_record

    def record(body: str, comment_id: int, login: str = "alice") -> PullCommand:
        event = get_provider("github").parse(
            "issue_comment", comment(body, login, comment_id)
        )
        return pull_command_record(
            pull_request=asked, comment=event.comment, followed_since=None
        )

    # snooze: no reminders until then; "tomorrow" is the next working morning.
    identity = ProviderIdentity.objects.get(login="alice")
    ReviewerProfile.objects.create(identity=identity, timezone="Europe/Paris")
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, json={})
        assert (
            pull_command_run(
                command_id=record("/codequest snooze tomorrow", 10).pk, now=friday
            )
            == "done"
        )
        assert "no reminders until Mon 07 Dec, 09:00 (Europe/Paris)" in reply_of(rsps)
    assert ReviewRequest.objects.get().snoozed_until == datetime(
        2026, 12, 7, 8, 0, tzinfo=UTC
    )
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, json={})
        assert (
            pull_command_run(command_id=record("/codequest snooze 3 weeks", 11).pk)
            == "refused"
        )
        assert "snooze for how long?" in reply_of(rsps)

    # why: the stored explanation.
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, json={})
        pull_command_run(command_id=record("/codequest why", 12).pk)
        reply = reply_of(rsps)
    assert "- @alice: code owner (*.py)" in reply
    assert "Left out: Codertocat (author)." in reply

    # claim: only where a team is asked; then the person is requested.
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, json={})
        assert (
            pull_command_run(command_id=record("/codequest claim", 13).pk) == "refused"
        )
    PullRequest.objects.update(requested_teams=["octo/backend"])
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(REQUESTED, status=201, json={})
        rsps.post(COMMENTS, status=201, json={})
        assert pull_command_run(command_id=record("/codequest claim", 14).pk) == "done"
        assert reply_of(rsps) == "@alice takes this review (asked of @octo/backend)."

    # decline with a reason: someone else, the reason kept in the explanation.
    with responses.RequestsMock() as rsps:
        mock_provider(rsps, "*.py @octo/backend\n")
        rsps.delete(REQUESTED, json={})
        rsps.post(COMMENTS, status=201, json={})
        assert (
            pull_command_run(command_id=record("/codequest decline on leave", 15).pk)
            == "done"
        )
        assert reply_of(rsps) == "@alice declined. Asked @bob instead."
    latest = ReviewAssignment.objects.latest("pk")
    assert latest.explanation["filtered"]["alice"] == "unavailable: declined: on leave"


def test_old_comments_bots_and_replies_run_nothing(asked):
    from integrations.providers import get_provider
    from reviews.commands import pull_command_record

    event = get_provider("github").parse(
        "issue_comment", comment("/codequest reroll", "alice", 20)
    )
    old = replace(event.comment, created_at=timezone.now() - timedelta(days=2))
    assert (
        pull_command_record(pull_request=asked, comment=old, followed_since=None)
        is None
    )
    assert (
        pull_command_record(
            pull_request=asked,
            comment=event.comment,
            followed_since=timezone.now() + timedelta(minutes=1),
        )
        is None
    )


@pytest.mark.skipif(
    not (SHARED_FIXTURES / "gitlab").exists(), reason="payload corpus not found"
)
def test_commands_on_gitlab_are_answered_with_a_merge_request_note(settings):
    """A recorded note hook on the documented project: /codequest why is
    answered with a note (POST …/merge_requests/:iid/notes)."""
    from integrations.models import ProviderCredential
    from integrations.providers import get_provider
    from reviews.commands import pull_command_record
    from tests.integrations.test_connect_repo_gitlab import BASE, recorded

    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.example.com"]
    team = Organization.objects.create(name="Core", slug="core")
    credential = ProviderCredential(
        provider="gitlab", api_url=BASE, kind="access_token"
    )
    credential.token = "glpat-commands"
    credential.save()
    project = ConnectedRepository.objects.create(
        organization=team,
        provider="gitlab",
        host="gitlab.example.com",
        external_id=3,
        full_name="diaspora/diaspora-project-site",
        credential=credential,
    )
    user = get_user_model().objects.create_user("root", password="pw")
    OrganizationMembership.objects.create(organization=team, user=user)
    person = Member.objects.create(display_name="root", user=user)
    ProviderIdentity.objects.create(
        provider="gitlab", host="gitlab.example.com", login="root", member=person
    )
    payload = load_payload("gitlab", "note.create.1.json")
    payload["object_attributes"].update(
        note="/codequest why", created_at=timezone.now().isoformat()
    )
    event = get_provider("gitlab").parse("Note Hook", payload)
    pull = PullRequest.objects.create(
        repository=project,
        number=event.pull_request.number,
        state="open",
        author_login="someone",
    )
    command = pull_command_record(
        pull_request=pull, comment=event.comment, followed_since=None
    )
    assert (command.author_login, command.name) == ("root", "why")
    notes = f"{BASE}/api/v4/projects/3/merge_requests/{pull.number}/notes"
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site",
            json=recorded("project.json"),
        )
        rsps.post(notes, status=201, json=recorded("merge_request_note.json"))
        assert pull_command_run(command_id=command.pk) == "done"
        body = json.loads(rsps.calls[-1].request.body)["body"]
    assert body == "@root: CodeQuest has not chosen reviewers here; asked: nobody yet."
