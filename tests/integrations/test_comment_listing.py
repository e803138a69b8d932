"""Comment lists as the APIs return them: what becomes a comment, and what a
listing proves about the comments we hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrations.providers.base import (
    CommentKind,
    CommentListing,
    PayloadError,
    PullRequestSnapshot,
    PullState,
)
from integrations.providers.github.shapes import comment_from
from integrations.providers.gitlab.client import note_from_api
from integrations.services.sync import _deleted
from tests.conftest import SHARED_FIXTURES, load_payload
from tests.factories import CommentFactory, PullRequestFactory

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses"


def documented_note() -> dict:
    return json.loads((RECORDED / "gitlab" / "merge_request_note.json").read_text())


def test_a_documented_gitlab_note_becomes_a_note():
    note = note_from_api(documented_note())
    assert (note.external_id, note.kind, note.author.login, note.body) == (
        "301",
        CommentKind.NOTE,
        "pipin",
        "Comment for MR",
    )
    assert note.created_at == datetime(2013, 10, 2, 8, 57, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("_case", "change"),
    [
        ("system note", {"system": True}),
        ("no author", {"author": None}),
        ("author without username", {"author": {"id": 1}}),
    ],
)
def test_gitlab_notes_nobody_wrote_are_left_out(_case, change):
    assert note_from_api({**documented_note(), **change}) is None


def test_a_gitlab_note_without_an_id_names_the_field():
    broken = documented_note()
    del broken["id"]
    with pytest.raises(PayloadError, match="note.id"):
        note_from_api(broken)


@pytest.mark.skipif(
    not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
)
def test_a_github_review_comment_keeps_its_review():
    raw = load_payload("github", "pull_request_review_comment.created.1.json")
    comment = comment_from(raw["comment"], CommentKind.REVIEW_COMMENT)
    assert (comment.external_id, comment.author.login) == (
        str(raw["comment"]["id"]),
        "Codertocat",
    )
    assert comment.review_external_id == "237895671"
    assert not comment.is_deleted


@pytest.mark.django_db
def test_only_a_complete_listing_proves_a_deletion():
    pull = PullRequestFactory()
    repository = pull.repository
    long_ago = datetime.now(UTC) - timedelta(days=2)
    CommentFactory(
        pull_request=pull,
        kind="note",
        external_id="7",
        author_login="kim",
        provider_created_at=long_ago,
        provider_updated_at=long_ago,
    )
    snapshot = PullRequestSnapshot(
        number=pull.number, title=pull.title, state=PullState.OPEN, url=""
    )
    now = datetime.now(UTC)
    cut = CommentListing([], (CommentKind.NOTE,), complete=False)
    assert _deleted(repository, snapshot, cut, now) == []
    whole = CommentListing([], (CommentKind.NOTE,))
    [gone] = _deleted(repository, snapshot, whole, now)
    assert (gone.external_id, gone.is_deleted, gone.author.login) == ("7", True, "kim")
    other_kinds = CommentListing([], (CommentKind.ISSUE_COMMENT,))
    assert _deleted(repository, snapshot, other_kinds, now) == []
