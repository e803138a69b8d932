"""A fake GitHub on loopback for the reconciliation benchmark.

Serves ``GET /repos/{owner}/{name}/pulls`` (state=all, sorted by update,
newest first, paginated, ETag + 304) and ``GET …/pulls/{n}/reviews`` for many
repositories, rendered from a recorded ``pull_request`` object
(``../shared/fixtures/github/pull_request.opened.1.json``) and a recorded
review (``tests/provider_responses/github/reviews.json``). Counts requests
and primary rate-limit points (every answer but a 304), and sends GitHub's
rate-limit headers.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
PULL = json.loads(
    (ROOT.parent / "shared/fixtures/github/pull_request.opened.1.json").read_text()
)["pull_request"]
REVIEW = json.loads(
    (ROOT / "tests/provider_responses/github/reviews.json").read_text()
)[0]
# Large enough that the reserve never defers a run: the budget check is tested
# in tests/integrations/test_sync.py; here we measure what a round spends.
BUDGET = 1_000_000
LIST = re.compile(r"^/repos/([^/]+/[^/]+)/pulls$")
REVIEWS = re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews$")
COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/(pulls|issues)/(\d+)/comments$")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Truth:
    """Every repository's pull requests and reviews, and the rendered pages."""

    def __init__(self, repositories: int, pulls: int) -> None:
        start = datetime.now(UTC) - timedelta(days=20)
        self.pulls: dict[str, list[dict]] = {}
        self.reviews: dict[tuple[str, int], list[dict]] = {}
        self.pages: dict[str, bytes] = {}
        self.lock = threading.Lock()
        for index in range(repositories):
            name = f"bench/service-{index:03d}"
            self.pulls[name] = [
                self._pull(name, number, start + timedelta(minutes=index + number))
                for number in range(1, pulls + 1)
            ]

    def _pull(self, name: str, number: int, when: datetime) -> dict:
        pull = copy.copy(PULL)
        pull.update(
            number=number,
            id=number,
            title=f"Change {number}",
            state="open",
            draft=False,
            merged_at=None,
            closed_at=None,
            requested_reviewers=[],
            created_at=stamp(when),
            updated_at=stamp(when),
            html_url=f"https://github.com/{name}/pull/{number}",
        )
        pull["head"] = {**PULL["head"], "sha": f"{number:040x}"}
        return pull

    def change(self, rng, share: float) -> int:
        """A new review on ``share`` of all pull requests; returns how many."""
        everyone = [
            (name, pull) for name, pulls in self.pulls.items() for pull in pulls
        ]
        chosen = rng.sample(everyone, max(1, round(len(everyone) * share)))
        now = datetime.now(UTC) - timedelta(minutes=5)
        with self.lock:
            for offset, (name, pull) in enumerate(chosen):
                when = now + timedelta(seconds=offset)
                pull["updated_at"] = stamp(when)
                review = copy.deepcopy(REVIEW)
                review.update(
                    id=10_000_000 + offset,
                    submitted_at=stamp(when),
                    commit_id=pull["head"]["sha"],
                )
                self.reviews.setdefault((name, pull["number"]), []).append(review)
                self.pages.pop(name, None)
        return len(chosen)

    def page(self, name: str) -> bytes:
        with self.lock:
            if name not in self.pages:
                ordered = sorted(
                    self.pulls[name], key=lambda pull: pull["updated_at"], reverse=True
                )
                self.pages[name] = json.dumps(ordered[:100]).encode()
            return self.pages[name]


class FakeGitHubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, repositories: int, pulls: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.truth = Truth(repositories, pulls)
        self.requests = 0
        self.points = 0
        self.counter = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def change(self, rng, share: float) -> int:
        return self.truth.change(rng, share)

    def count(self, points: int) -> int:
        with self.counter:
            self.requests += 1
            self.points += points
            return BUDGET - self.points


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeGitHubServer

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if match := LIST.match(url.path):
            body = (
                self.server.truth.page(match.group(1))
                if query.get("page", ["1"])[0] == "1"
                else b"[]"
            )
            etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            if self.headers.get("If-None-Match") == etag:
                return self._answer(304, b"", {"ETag": etag})
            return self._answer(200, body, {"ETag": etag})
        if COMMENTS.match(url.path):
            # No comments here; conditional like every GitHub list.
            body = b"[]"
            etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            if self.headers.get("If-None-Match") == etag:
                return self._answer(304, b"", {"ETag": etag})
            return self._answer(200, body, {"ETag": etag})
        if match := REVIEWS.match(url.path):
            key = (match.group(1), int(match.group(2)))
            reviews = self.server.truth.reviews.get(key, [])
            return self._answer(200, json.dumps(reviews).encode())
        return self._answer(404, b'{"message": "Not Found"}')

    def _answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
        remaining = self.server.count(0 if status == 304 else 1)
        self.send_response(status)
        for name, value in {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(body)),
            "X-RateLimit-Limit": str(BUDGET),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": "1900000000",
            **(headers or {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass
