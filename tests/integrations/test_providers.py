"""Provider adapters are pure: payload in, NormalizedEvent (or a clear error) out."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from integrations.providers import get_provider
from integrations.providers.base import (
    CommentKind,
    EventKind,
    PayloadError,
    PullState,
    ReviewState,
    parse_time,
)
from integrations.providers.gitlab import verify_signature
from tests.conftest import SHARED_FIXTURES, load_payload, standard_webhook_headers

github = get_provider("github")
gitlab = get_provider("gitlab")
needs_corpus = pytest.mark.skipif(
    not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
)


def test_github_published_test_vector_verifies():
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    headers = {
        "X-Hub-Signature-256": "sha256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }
    assert github.verify(headers, b"Hello, World!", "It's a Secret to Everybody")
    assert not github.verify(headers, b"Hello, World?", "It's a Secret to Everybody")
    assert not github.verify(headers, b"Hello, World!", "another secret")
    assert not github.verify({}, b"Hello, World!", "It's a Secret to Everybody")


def test_github_verify_refuses_an_empty_secret():
    assert not github.verify({"X-Hub-Signature-256": "sha256="}, b"", "")


def test_gitlab_token_and_signature():
    body = b'{"object_kind": "push"}'
    headers = {"X-Gitlab-Token": "tok", **standard_webhook_headers(body, "tok")}
    assert gitlab.verify(headers, body, "tok")
    assert not gitlab.verify({**headers, "X-Gitlab-Token": "tok2"}, body, "tok")
    assert not gitlab.verify(headers, body + b"x", "tok")


def test_standard_webhooks_whsec_secret_and_multiple_signatures():
    import base64

    key = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    body = b"{}"
    good = standard_webhook_headers(body, "0123456789abcdef0123456789abcdef", at=1000)
    headers = {**good, "webhook-signature": f"v1,bm90LWl0 {good['webhook-signature']}"}
    assert verify_signature(headers, body, f"whsec_{key}", now=1000)
    assert not verify_signature(headers, body, f"whsec_{key}", now=1000 + 301)
    assert not verify_signature(
        {**headers, "webhook-timestamp": "soon"}, body, "x", now=1000
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-05-15T15:20:33Z", datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)),
        ("2017-12-10 17:02:46 UTC", datetime(2017, 12, 10, 17, 2, 46, tzinfo=UTC)),
        ("2015-04-08T21:00:25-07:00", datetime(2015, 4, 9, 4, 0, 25, tzinfo=UTC)),
        ("2018-12-12 16:15:21 +0100", datetime(2018, 12, 12, 15, 15, 21, tzinfo=UTC)),
    ],
)
def test_timestamps_of_both_providers(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", [None, "", "yesterday", 1558000000])
def test_bad_timestamps_are_payload_errors(value):
    with pytest.raises(PayloadError):
        parse_time(value, "pull_request.updated_at")


@needs_corpus
def test_github_opened_normalizes_exactly():
    event = github.parse(
        "pull_request", load_payload("github", "pull_request.opened.2.json")
    )
    assert event is not None
    assert event.kind is EventKind.PR_OPENED
    pr = event.pull_request
    assert (pr.number, pr.state, pr.draft, pr.author.login) == (
        2,
        PullState.OPEN,
        False,
        "Codertocat",
    )
    assert pr.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert pr.base_ref == "master"
    assert pr.requested_reviewers == ("octocat",)
    assert pr.updated_at == datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)
    assert event.repository.full_name == "Codertocat/Hello-World"
    assert event.repository.host == "github.com"


@needs_corpus
@pytest.mark.parametrize(
    ("_case", "name", "kind", "state"),
    [
        (
            "closed unmerged",
            "pull_request.closed.1.json",
            EventKind.PR_CLOSED,
            "closed",
        ),
        ("merged", "pull_request.closed.4.json", EventKind.PR_MERGED, "merged"),
        (
            "draft",
            "pull_request.converted_to_draft.1.json",
            EventKind.PR_CONVERTED_TO_DRAFT,
            "open",
        ),
        ("ready", "pull_request.ready_for_review.1.json", EventKind.PR_READY, "open"),
        ("labeled", "pull_request.labeled.1.json", EventKind.PR_UPDATED, "open"),
        ("push", "pull_request.synchronize.1.json", EventKind.PR_SYNCHRONIZED, "open"),
    ],
)
def test_github_pull_request_kinds(_case, name, kind, state):
    event = github.parse("pull_request", load_payload("github", name))
    assert event.kind is kind
    assert event.pull_request.state == state


@needs_corpus
def test_github_review_and_comment():
    review = github.parse(
        "pull_request_review",
        load_payload("github", "pull_request_review.submitted.1.json"),
    )
    assert review.kind is EventKind.REVIEW_SUBMITTED
    assert review.review.state is ReviewState.COMMENTED
    assert review.review.external_id == "237895671"
    comment = github.parse(
        "pull_request_review_comment",
        load_payload("github", "pull_request_review_comment.created.1.json"),
    )
    assert comment.comment.kind is CommentKind.REVIEW_COMMENT
    assert comment.comment.review_external_id == "237895671"


@needs_corpus
def test_github_issue_comment_on_plain_issue_is_not_ours():
    payload = load_payload("github", "issue_comment.created.1.json")
    assert github.parse("issue_comment", payload) is None


@needs_corpus
def test_github_fork_pull_request_keeps_base_repository():
    payload = load_payload("github", "pull_request.opened.1.json")
    fork = copy.deepcopy(payload)
    fork["pull_request"]["head"]["repo"] = {
        "id": 1,
        "full_name": "someone/Hello-World",
        "fork": True,
    }
    fork["pull_request"]["head"]["label"] = "someone:changes"
    event = github.parse("pull_request", fork)
    assert event.repository.full_name == "Codertocat/Hello-World"


@needs_corpus
def test_github_unicode_and_null_optional_fields():
    payload = copy.deepcopy(load_payload("github", "pull_request.opened.1.json"))
    pr = payload["pull_request"]
    pr.update(title="Ünïcødé ✓ 修正", body=None, milestone=None, assignees=None)
    pr.pop("requested_teams")
    pr.pop("draft")
    event = github.parse("pull_request", payload)
    assert event.pull_request.title == "Ünïcødé ✓ 修正"
    assert event.pull_request.draft is None
    assert event.pull_request.assignees is None
    assert event.pull_request.requested_teams is None


@needs_corpus
@pytest.mark.parametrize(
    ("_case", "mutate", "message"),
    [
        ("no pull_request", lambda p: p.pop("pull_request"), "pull_request"),
        ("no number", lambda p: p["pull_request"].pop("number"), "number"),
        ("number is text", lambda p: p["pull_request"].update(number="2"), "number"),
        ("bad state", lambda p: p["pull_request"].update(state="weird"), "state"),
        (
            "no updated_at",
            lambda p: p["pull_request"].update(updated_at=None),
            "updated_at",
        ),
        ("no repository", lambda p: p.pop("repository"), "repository"),
        ("user is a list", lambda p: p["pull_request"].update(user=[]), "user"),
        (
            "pull_request is text",
            lambda p: p.update(pull_request="#2"),
            "pull_request is not an object",
        ),
        (
            "repository is a list",
            lambda p: p.update(repository=[]),
            "repository is not an object",
        ),
    ],
)
def test_github_malformed_payloads_fail_clearly(_case, mutate, message):
    payload = copy.deepcopy(load_payload("github", "pull_request.opened.1.json"))
    mutate(payload)
    with pytest.raises(PayloadError, match=message):
        github.parse("pull_request", payload)


def test_github_unknown_event_returns_none():
    assert github.parse("deployment", {"action": "created"}) is None
    assert not github.is_handled("deployment", "created")
    assert github.is_handled("push", "push")  # a stray "action" on push is ignored


@needs_corpus
def test_gitlab_merge_request_open():
    event = gitlab.parse(
        "Merge Request Hook", load_payload("gitlab", "merge_request.open.2.json")
    )
    assert event.kind is EventKind.PR_OPENED
    assert event.repository.full_name == "group1/group2/group3/grp2repo"
    assert event.pull_request.author.login == "sytses"
    assert event.pull_request.state is PullState.OPEN


@needs_corpus
@pytest.mark.parametrize(
    ("_case", "name", "kind"),
    [
        ("to draft", "merge_request.update.1.json", EventKind.PR_CONVERTED_TO_DRAFT),
        ("labels", "merge_request.update.4.json", EventKind.PR_UPDATED),
        ("reviewers", "merge_request.update.7.json", EventKind.PR_REVIEW_REQUESTED),
        ("merge", "merge_request.merge.1.json", EventKind.PR_MERGED),
        ("unapproved", "merge_request.unapproved.1.json", EventKind.REVIEW_DISMISSED),
    ],
)
def test_gitlab_kinds(_case, name, kind):
    event = gitlab.parse("Merge Request Hook", load_payload("gitlab", name))
    assert event.kind is kind


@needs_corpus
def test_gitlab_new_commits_are_a_synchronize():
    payload = copy.deepcopy(load_payload("gitlab", "merge_request.update.5.json"))
    payload["object_attributes"]["oldrev"] = "a" * 40
    assert gitlab.parse("Merge Request Hook", payload).kind is EventKind.PR_SYNCHRONIZED


@needs_corpus
def test_gitlab_approval_is_an_approved_review():
    payload = copy.deepcopy(load_payload("gitlab", "merge_request.unapproved.1.json"))
    payload["object_attributes"]["action"] = "approval"
    event = gitlab.parse("Merge Request Hook", payload)
    assert event.kind is EventKind.REVIEW_SUBMITTED
    assert event.review.state is ReviewState.APPROVED
    assert event.review.reviewer.login == "eeshangargtest"


@needs_corpus
def test_gitlab_note_on_issue_is_not_ours():
    payload = copy.deepcopy(load_payload("gitlab", "note.create.1.json"))
    payload["object_attributes"]["noteable_type"] = "Issue"
    assert gitlab.parse("Note Hook", payload) is None


@needs_corpus
def test_gitlab_malformed_merge_request_fails_clearly():
    payload = copy.deepcopy(load_payload("gitlab", "merge_request.open.1.json"))
    payload["object_attributes"]["state"] = "exploded"
    with pytest.raises(PayloadError, match="state"):
        gitlab.parse("Merge Request Hook", payload)
    payload["object_attributes"].pop("iid")
    payload["object_attributes"]["state"] = "opened"
    with pytest.raises(PayloadError, match="iid"):
        gitlab.parse("Merge Request Hook", payload)
    payload["object_attributes"] = ["not", "an", "object"]
    with pytest.raises(PayloadError, match="object_attributes is not an object"):
        gitlab.parse("Merge Request Hook", payload)
