"""A small stateful GitHub for reconciliation tests, served through `responses`.

It holds the provider's truth for one repository and answers
``GET /repos/{repo}/pulls`` (sorted by update, paginated, with an ETag and a
304 to ``If-None-Match``) and ``GET …/pulls/{n}/reviews``, with GitHub's
rate-limit headers: every answer but a 304 costs one point.

Shapes are real ones: pull requests are rendered from the ``pull_request``
object of a recorded webhook delivery (``../shared/fixtures``; GitHub's REST
API returns the same object), reviews from ``tests/provider_responses``.
Scripted activity can also be delivered as webhooks built the same way.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import responses

from tests.conftest import load_payload
from tests.integrations.test_connect_repo import recorded

API = "https://api.github.com:443"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    def __init__(self, full_name: str, *, limit: int = 5000) -> None:
        self.full_name = full_name
        self.pulls: dict[int, dict] = {}
        self.reviews: dict[int, list[dict]] = {}
        self.limit, self.remaining = limit, limit
        self.reset = 1_900_000_000
        self.calls: list[tuple[str, int]] = []  # (path, status)
        # Answers to give before the truth: a status, or (status, headers, body).
        self.fail_next: list = []
        self._template = load_payload("github", "pull_request.opened.1.json")
        self._review_template = recorded("reviews.json")[0]
        self._review_ids = 1000
        # number -> kind ("review" inline, "issue" conversation) -> comments
        self.comments: dict[int, dict[str, list[dict]]] = {}
        self._comment_templates = {
            "review": load_payload(
                "github", "pull_request_review_comment.created.1.json"
            )["comment"],
            "issue": load_payload("github", "issue_comment.created.1.json")["comment"],
        }
        self._comment_ids = 5000

    # --- the provider's truth --------------------------------------------------

    def open(self, number: int, author: str, when: datetime, **changes) -> dict:
        pull = copy.deepcopy(self._template["pull_request"])
        pull.update(
            number=number,
            id=900_000 + number,
            title=changes.pop("title", f"Change {number}"),
            state="open",
            draft=changes.pop("draft", False),
            merged=False,
            merged_at=None,
            closed_at=None,
            created_at=stamp(when),
            updated_at=stamp(when),
            requested_reviewers=[],
            html_url=f"https://github.com/{self.full_name}/pull/{number}",
            url=f"https://api.github.com/repos/{self.full_name}/pulls/{number}",
        )
        pull["user"] = {**pull["user"], "login": author}
        pull["head"] = {**pull["head"], "sha": f"{number:040x}"}
        pull.update(changes)
        self.pulls[number] = pull
        self.reviews.setdefault(number, [])
        return pull

    def touch(self, number: int, when: datetime, **changes) -> dict:
        pull = self.pulls[number]
        pull.update(changes, updated_at=stamp(when))
        return pull

    def request_review(self, number: int, login: str, when: datetime) -> dict:
        people = self.pulls[number]["requested_reviewers"]
        people.append({**self._template["pull_request"]["user"], "login": login})
        return self.touch(number, when)

    def review(self, number: int, login: str, state: str, when: datetime) -> dict:
        self._review_ids += 1
        review = copy.deepcopy(self._review_template)
        review.update(
            id=self._review_ids,
            state=state.upper(),
            submitted_at=stamp(when),
            body="Looks right to me." if state == "approved" else "Please add a test.",
            commit_id=self.pulls[number]["head"]["sha"],
        )
        review["user"] = {**review["user"], "login": login, "id": hash(login) % 10**6}
        self.reviews[number].append(review)
        pull = self.pulls[number]
        pull["requested_reviewers"] = [
            person for person in pull["requested_reviewers"] if person["login"] != login
        ]
        self.touch(number, when)
        return review

    def comment(
        self, number: int, login: str, body: str, when: datetime, kind: str = "issue"
    ) -> dict:
        """A conversation ("issue") or inline ("review") comment; it bumps the
        pull request's updated_at, as GitHub does."""
        self._comment_ids += 1
        comment = copy.deepcopy(self._comment_templates[kind])
        comment.update(
            id=self._comment_ids,
            body=body,
            created_at=stamp(when),
            updated_at=stamp(when),
        )
        comment["user"] = {**comment["user"], "login": login}
        if kind == "review":
            comment["pull_request_review_id"] = None
        self.comments.setdefault(number, {"review": [], "issue": []})[kind].append(
            comment
        )
        self.touch(number, when)
        return comment

    def delete_comment(self, number: int, comment_id: int) -> None:
        """Deleted on GitHub: gone from the lists (the pull request's
        updated_at does not move)."""
        for kind, items in self.comments.get(number, {}).items():
            self.comments[number][kind] = [c for c in items if c["id"] != comment_id]

    def comment_payload(self, number: int, comment: dict, action: str) -> dict:
        payload = copy.deepcopy(load_payload("github", "issue_comment.created.1.json"))
        payload["action"] = action
        payload["repository"] = copy.deepcopy(self._template["repository"])
        payload["issue"] = {
            **payload["issue"],
            "number": number,
            "pull_request": {
                "url": self.pulls[number]["url"],
                "html_url": self.pulls[number]["html_url"],
            },
        }
        payload["comment"] = copy.deepcopy(comment)
        return payload

    def push(self, number: int, sha: str, when: datetime) -> dict:
        pull = self.pulls[number]
        pull["head"] = {**pull["head"], "sha": sha}
        return self.touch(number, when)

    def merge(self, number: int, when: datetime) -> dict:
        return self.touch(
            number,
            when,
            state="closed",
            merged=True,
            merged_at=stamp(when),
            closed_at=stamp(when),
        )

    def close(self, number: int, when: datetime) -> dict:
        return self.touch(number, when, state="closed", closed_at=stamp(when))

    def reopen(self, number: int, when: datetime) -> dict:
        return self.touch(number, when, state="open", closed_at=None)

    # --- webhooks ----------------------------------------------------------------

    def pull_payload(self, number: int, action: str) -> dict:
        payload = copy.deepcopy(self._template)
        payload["action"] = action
        payload["number"] = number
        payload["pull_request"] = copy.deepcopy(self.pulls[number])
        return payload

    def review_payload(self, number: int, review: dict) -> dict:
        payload = load_payload("github", "pull_request_review.submitted.1.json")
        payload = copy.deepcopy(payload)
        payload["repository"] = copy.deepcopy(self._template["repository"])
        payload["pull_request"] = copy.deepcopy(self.pulls[number])
        payload["review"] = {**payload["review"], **copy.deepcopy(review)}
        payload["review"]["state"] = review["state"].lower()
        return payload

    # --- the HTTP side -------------------------------------------------------------

    def install(self, rsps: responses.RequestsMock) -> None:
        repo = re.escape(f"{API}/repos/{self.full_name}")
        base = re.escape(f"{API}/repos/{self.full_name}/pulls")
        rsps.add_callback(
            responses.GET, re.compile(rf"{base}/(\d+)/reviews.*"), self._reviews
        )
        rsps.add_callback(responses.GET, re.compile(rf"{base}(\?.*)?$"), self._list)
        rsps.add_callback(
            responses.GET, re.compile(rf"{base}/(\d+)/comments.*"), self._comments
        )
        issues = re.escape(f"{API}/repos/{self.full_name}/issues")
        rsps.add_callback(
            responses.GET, re.compile(rf"{issues}/(\d+)/comments.*"), self._comments
        )
        rsps.add_callback(responses.GET, re.compile(rf"{base}/(\d+)$"), self._pull)
        rsps.add_callback(responses.GET, re.compile(rf"{repo}(\?.*)?$"), self._repo)

    def _pull(self, request):
        """One pull request read whole (what the import does for each)."""
        number = int(re.search(r"/pulls/(\d+)$", request.url).group(1))
        return self._answer("pull", 200, json.dumps(self.pulls[number]))

    def _repo(self, request):
        """The repository as the REST API shows it (the webhook carries the same
        object), for the initial import's ``GET /repos/{repo}``."""
        return self._answer("repo", 200, json.dumps(self._template["repository"]))

    def _answer(self, path: str, status: int, body, headers=None):
        if self.fail_next:
            failure = self.fail_next.pop(0)
            if isinstance(failure, int):
                failure = (failure, {}, {"message": "Server Error"})
            status, headers, message = failure
            self.calls.append((path, status))
            return status, {**self._limits(), **headers}, json.dumps(message)
        if status != 304:
            self.remaining -= 1
        self.calls.append((path, status))
        return status, {**self._limits(), **(headers or {})}, body

    def _limits(self) -> dict:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "Content-Type": "application/json; charset=utf-8",
        }

    def _list(self, request):
        query = parse_qs(urlsplit(request.url).query)
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["30"])[0])
        state = query.get("state", ["open"])[0]  # GitHub's default is open
        ordered = sorted(
            (
                pull
                for pull in self.pulls.values()
                if state == "all" or pull["state"] == state
            ),
            key=lambda pull: pull["updated_at"],
            reverse=True,
        )
        items = ordered[(page - 1) * per_page : page * per_page]
        body = json.dumps(items)
        etag = f'W/"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
        if page == 1 and request.headers.get("If-None-Match") == etag:
            return self._answer("pulls", 304, "")
        return self._answer("pulls", 200, body, {"ETag": etag})

    def _comments(self, request):
        """Both comment lists, conditional like every GitHub list: a 304 (no
        rate-limit point) when nothing changed since the ETag."""
        found = re.search(r"/(pulls|issues)/(\d+)/comments", request.url)
        kind = "review" if found.group(1) == "pulls" else "issue"
        items = self.comments.get(int(found.group(2)), {}).get(kind, [])
        body = json.dumps(items)
        etag = f'W/"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
        if request.headers.get("If-None-Match") == etag:
            return self._answer(f"{kind}_comments", 304, "")
        return self._answer(f"{kind}_comments", 200, body, {"ETag": etag})

    def _reviews(self, request):
        number = int(re.search(r"/pulls/(\d+)/reviews", request.url).group(1))
        return self._answer("reviews", 200, json.dumps(self.reviews.get(number, [])))

    @property
    def points(self) -> int:
        return self.limit - self.remaining
