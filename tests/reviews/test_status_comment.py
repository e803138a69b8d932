"""The status comment: one per pull request where the repository asks for it,
made once, edited in place as the state changes, never rewritten when nothing
changed, made again when someone deleted it; GitHub and GitLab answered with
their recorded shapes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from integrations.models import ConnectedRepository, ProviderCredential
from reviews.models import (
    PullRequest,
    RepositoryReviewSettings,
    Review,
    ReviewAssignment,
    ReviewRequest,
    StatusComment,
)
from reviews.status_comment import status_comments_follow
from tests.conftest import load_payload
from tests.reviews.test_assignment_flow import API, repo_body
from tests.reviews.test_assignment_flow import (
    pytestmark as corpus_marks,
)
from tests.reviews.test_assignment_flow import (
    repository as repository,  # noqa: F401 (fixture)
)

pytestmark = corpus_marks
COMMENTS = f"{API}/issues/2/comments"


def recorded_comment(**changes) -> dict:
    """GitHub's issue comment object (the webhook carries the REST shape)."""
    comment = load_payload("github", "issue_comment.created.1.json")["comment"]
    return {**comment, **changes}


@pytest.fixture
def asked(repository):  # noqa: F811
    """#2, where CodeQuest chose alice an hour ago; the repository asks for a
    status comment."""
    RepositoryReviewSettings.objects.filter(repository=repository).update(
        status_comment=True
    )
    pull = PullRequest.objects.create(
        repository=repository,
        number=2,
        state="open",
        author_login="Codertocat",
        title="Update the README",
        requested_teams=["backend"],
    )
    ReviewAssignment.objects.create(
        pull_request=pull,
        trigger="opened",
        strategy="least_loaded",
        status="requested",
        reviewers=["alice"],
        explanation={
            "strategy": "least_loaded",
            "chosen": ["alice"],
            "pool": {"alice": ["code owner (@octo/backend)"]},
        },
    )
    ReviewRequest.objects.create(
        pull_request=pull,
        reviewer_login="alice",
        requested_at=timezone.now() - timedelta(hours=1),
    )
    return pull


def written(rsps) -> list[tuple[str, str]]:
    return [
        (call.request.method, json.loads(call.request.body)["body"])
        for call in rsps.calls
        if call.request.method in ("POST", "PATCH")
    ]


def test_made_once_edited_in_place_and_left_alone_when_nothing_changed(asked):
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, json=recorded_comment())
        assert status_comments_follow() == {"written": 1}
        ((method, body),) = written(rsps)
    assert method == "POST"
    assert "| `alice` | code owner (octo/backend); best least loaded score |" in body
    (row_line,) = [line for line in body.splitlines() if line.startswith("| `alice`")]
    assert row_line.endswith("| waiting |")
    assert "Asked of team backend: whoever answers first takes it" in body
    assert "@" not in body  # nobody is mentioned, so no edit notifies anyone
    row = StatusComment.objects.get()
    assert row.external_id == "492700400"

    # Nothing changed: no call at all (an unmatched call would fail here).
    with responses.RequestsMock():
        assert status_comments_follow() == {"unchanged": 1}

    # alice approves: the same comment is edited.
    Review.objects.create(
        pull_request=asked,
        external_id="9",
        reviewer_login="alice",
        state="approved",
        submitted_at=timezone.now(),
    )
    ReviewRequest.objects.update(responded_at=timezone.now())
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.patch(f"{API}/issues/comments/492700400", json=recorded_comment())
        assert status_comments_follow() == {"written": 1}
        ((method, body),) = written(rsps)
    assert method == "PATCH" and "| approved |" in body

    # Merged: its last word, once.
    PullRequest.objects.update(state="merged")
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.patch(f"{API}/issues/comments/492700400", json=recorded_comment())
        status_comments_follow()
        ((_, body),) = written(rsps)
    assert body.startswith("### Review status (CodeQuest)\n\nMerged.")
    assert "Asked of team" not in body
    with responses.RequestsMock():
        assert status_comments_follow() == {"unchanged": 1}


def test_a_deleted_comment_is_made_again_and_a_refusal_is_retried(asked):
    StatusComment.objects.create(pull_request=asked, external_id="111", digest="old")
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.patch(
            f"{API}/issues/comments/111",
            status=404,
            json={
                "message": "Not Found",
                "documentation_url": "https://docs.github.com",
            },
        )
        rsps.post(COMMENTS, status=201, json=recorded_comment(id=222))
        assert status_comments_follow() == {"written": 1}
    assert StatusComment.objects.get().external_id == "222"

    ReviewRequest.objects.update(requested_at=timezone.now() - timedelta(days=3))
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.patch(
            f"{API}/issues/comments/222",
            status=403,
            json={"message": "Resource not accessible by integration"},
        )
        assert status_comments_follow() == {"failed": 1}
    row = StatusComment.objects.get()
    assert "Resource not accessible" in row.error and row.external_id == "222"
    with responses.RequestsMock() as rsps:  # the next run tries again
        rsps.get(API, json=repo_body())
        rsps.patch(f"{API}/issues/comments/222", json=recorded_comment(id=222))
        assert status_comments_follow() == {"written": 1}
        ((_, body),) = written(rsps)
    assert "| overdue |" in body
    assert StatusComment.objects.get().error == ""


def test_only_where_asked_for_and_only_plain_logins(asked):
    ReviewRequest.objects.create(
        pull_request=asked,
        reviewer_login="x|<img src=x>`y`",
        requested_at=timezone.now(),
    )
    RepositoryReviewSettings.objects.update(status_comment=False)
    with responses.RequestsMock():
        assert status_comments_follow() == {}
    RepositoryReviewSettings.objects.update(status_comment=True)
    with responses.RequestsMock() as rsps:
        rsps.get(API, json=repo_body())
        rsps.post(COMMENTS, status=201, json=recorded_comment())
        status_comments_follow()
        ((_, body),) = written(rsps)
    assert "| `ximgsrcxy` | requested on the pull request |" in body
    assert "<img" not in body and "`y`" not in body
    # Nobody asked on an open pull request: no comment.
    ReviewRequest.objects.all().delete()
    PullRequest.objects.update(requested_teams=[])
    StatusComment.objects.all().delete()
    with responses.RequestsMock():
        assert status_comments_follow() == {"unchanged": 1}


def test_gitlab_notes_are_made_and_edited_in_place(settings):
    from tests.integrations.test_connect_repo_gitlab import BASE, recorded

    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.example.com"]
    credential = ProviderCredential(
        provider="gitlab", api_url=BASE, kind="access_token"
    )
    credential.token = "glpat-status"
    credential.save()
    project = ConnectedRepository.objects.create(
        provider="gitlab",
        host="gitlab.example.com",
        external_id=3,
        full_name="diaspora/diaspora-project-site",
        credential=credential,
    )
    RepositoryReviewSettings.objects.create(repository=project, status_comment=True)
    pull = PullRequest.objects.create(repository=project, number=2, state="open")
    ReviewRequest.objects.create(
        pull_request=pull, reviewer_login="pipin", requested_at=timezone.now()
    )
    notes = f"{BASE}/api/v4/projects/3/merge_requests/2/notes"
    project_url = f"{BASE}/api/v4/projects/diaspora%2Fdiaspora-project-site"
    with responses.RequestsMock() as rsps:
        rsps.get(project_url, json=recorded("project.json"))
        rsps.post(notes, status=201, json=recorded("merge_request_note.json"))
        assert status_comments_follow() == {"written": 1}
    assert StatusComment.objects.get().external_id == "301"
    ReviewRequest.objects.update(is_active=False)
    with responses.RequestsMock() as rsps:
        rsps.get(project_url, json=recorded("project.json"))
        rsps.put(f"{notes}/301", json=recorded("merge_request_note.json"))
        assert status_comments_follow() == {"written": 1}
        body = json.loads(rsps.calls[-1].request.body)["body"]
    assert "| `pipin` | requested on the pull request |" in body
    assert "| no longer asked |" in body
