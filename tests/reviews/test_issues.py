"""Issues are kept from their events (GitHub ``issues``, GitLab Issue Hook),
in any order, deletions included; a pull request's "fixes #N" links them."""

from __future__ import annotations

import copy
import itertools
import json
import os
from pathlib import Path

import pytest

from integrations.providers import get_provider
from integrations.providers.base import EventKind
from reviews.models import Issue, PullRequest
from reviews.selectors import issues_closed_by
from tests.conftest import load_payload, octokit_examples
from tests.reviews.test_apply_order import apply_all

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses"


def github_issue_examples() -> list[dict]:
    examples = octokit_examples().get("issues", [])
    if not examples:
        if os.environ.get("CI") == "true":
            pytest.fail("@octokit/webhooks-examples is missing under CI")
        pytest.skip("@octokit/webhooks-examples not installed (make test installs it)")
    return examples


def test_every_github_issues_example_parses_to_what_it_states():
    adapter = get_provider("github")
    kept = 0
    for payload in github_issue_examples():
        event = adapter.parse("issues", payload)
        action = payload["action"]
        if not adapter.is_handled("issues", action):
            assert event is None, action  # assignees, milestones, pins
            continue
        kept += 1
        assert event.kind is EventKind.ISSUE
        issue = event.issue
        assert issue.number == payload["issue"]["number"]
        assert issue.title == payload["issue"]["title"]
        assert issue.state == payload["issue"]["state"]
        assert issue.labels == tuple(
            label["name"] for label in payload["issue"]["labels"]
        )
        assert issue.is_deleted is (action in ("deleted", "transferred"))
    assert kept >= 10


def lifecycle() -> list[tuple[str, dict]]:
    """Opened, labelled, edited, closed, reopened: one issue, later each time."""
    opened = next(p for p in github_issue_examples() if p["action"] == "opened")
    steps = []
    for minute, (action, changes) in enumerate(
        [
            ("opened", {}),
            ("labeled", {"labels": [{"name": "bug", "color": "d73a4a"}]}),
            ("edited", {"title": "Spelling error in the README file, again"}),
            ("closed", {"state": "closed", "closed_at": "2026-11-20T10:03:00Z"}),
            ("reopened", {"state": "open", "closed_at": None}),
        ]
    ):
        payload = copy.deepcopy(opened)
        payload["action"] = action
        payload["issue"].update(changes)
        if minute >= 2:
            payload["issue"]["labels"] = [{"name": "bug", "color": "d73a4a"}]
        if minute == 4:
            payload["issue"]["title"] = "Spelling error in the README file, again"
        payload["issue"]["updated_at"] = f"2026-11-20T10:0{minute}:00Z"
        steps.append(("issues", payload))
    return steps


def issue_state() -> dict:
    return dict(
        Issue.objects.values(
            "number", "title", "state", "labels", "closed_at", "author_login"
        ).get()
    )


def test_any_order_of_an_issues_events_ends_in_the_newest_state():
    steps = lifecycle()
    apply_all("github", steps)
    expected = issue_state()
    assert expected["state"] == "open" and expected["labels"] == ["bug"]
    assert expected["title"] == "Spelling error in the README file, again"
    for order in itertools.islice(itertools.permutations(steps), 0, None, 7):
        Issue.objects.all().delete()
        apply_all("github", [*order, order[0]])  # a replay too
        assert issue_state() == expected


def test_a_deleted_issue_stays_gone_whatever_comes_late():
    steps = lifecycle()
    deleted = copy.deepcopy(steps[-1][1])
    deleted["action"] = "deleted"
    deleted["issue"]["updated_at"] = "2026-11-20T10:09:00Z"
    apply_all("github", [*steps[:2], ("issues", deleted), *steps[2:]])
    assert Issue.objects.count() == 0


def test_gitlab_issue_hook_from_the_documentation():
    payload = json.loads((RECORDED / "gitlab" / "issue_hook.json").read_text())
    event = get_provider("gitlab").parse("Issue Hook", payload)
    assert event.kind is EventKind.ISSUE
    issue = event.issue
    assert (issue.number, issue.title, issue.state, issue.labels) == (
        23,
        "New API: create/update/delete file",
        "open",
        ("API",),
    )
    assert issue.author is None  # author 51 is not the acting user 1
    work_item = dict(payload, object_kind="work_item")
    assert get_provider("gitlab").parse("Issue Hook", work_item) is None
    apply_all("gitlab", [("Issue Hook", payload)])
    assert Issue.objects.get().url == "http://example.com/diaspora/issues/23"


def test_fixes_in_a_description_links_the_issues():
    pull_payload = load_payload("github", "pull_request.opened.1.json")
    pull_payload["pull_request"]["body"] = (
        "Fixes #1, and closes: #7.\n\nSee #3 (not closed by this)."
    )
    steps = lifecycle()
    apply_all("github", [steps[0], ("pull_request", pull_payload)])
    pull = PullRequest.objects.get()
    assert pull.closes_issues == [1, 7]
    [closes] = issues_closed_by([pull]).values()
    assert [(issue.number, issue.title, issue.state) for issue in closes] == [
        (1, "Spelling error in the README file", "open"),
        (7, "", ""),
    ]
    assert closes[0].link == "https://github.com/Codertocat/Hello-World/issues/1"


def test_a_gitlab_description_closes_too():
    payload = load_payload("gitlab", "merge_request.open.1.json")
    payload["object_attributes"]["description"] = "Implements #4\nResolves #5"
    event = get_provider("gitlab").parse("Merge Request Hook", payload)
    assert event.pull_request.closes == (4, 5)
