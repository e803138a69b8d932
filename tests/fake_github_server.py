"""A small GitHub on loopback for browser walk-throughs: the OAuth web flow, the
REST endpoints CodeQuest calls (user, repositories, hooks and their ping,
pull requests, reviews, comments, organization members), and the ping delivery
back to the webhook URL it was given, signed with the hook's secret.

Every answer is a recorded response (tests/provider_responses/github, and the
real webhook deliveries in ../shared/fixtures) with its names, ids and URLs
changed; API URLs inside bodies point back here, as a GitHub Enterprise server's
would.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.conftest import load_payload

RECORDED = Path(__file__).resolve().parent / "provider_responses" / "github"


def _recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


class FakeGitHubServer:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.api = f"{self.base}/api/v3"
        self.signing_in = "mona"  # who approves the next OAuth consent
        self.repositories: dict[str, dict] = {}  # full_name -> REST object
        self.pulls: dict[str, dict[int, dict]] = {}
        self.hooks: dict[str, dict[int, dict]] = {}
        self.secrets: dict[int, str] = {}
        self.orgs: dict[str, list[str]] = {}
        self.unknown: list[str] = []  # requests this fake did not know
        self.pings: list[int] = []  # status of each ping delivered back
        self._ids = 900_000
        self._lock = threading.Lock()

    # --- the provider's truth ----------------------------------------------------

    def repository(self, full_name: str, *, admin: bool = True) -> dict:
        item = self._rewrite(_recorded("repo.json"))
        owner, name = full_name.split("/")
        item.update(
            id=self._id(),
            name=name,
            full_name=full_name,
            html_url=f"https://github.com/{full_name}",
            url=f"{self.api}/repos/{full_name}",
            hooks_url=f"{self.api}/repos/{full_name}/hooks",
            pulls_url=f"{self.api}/repos/{full_name}/pulls{{/number}}",
        )
        item["owner"] = {**item["owner"], "login": owner}
        item["permissions"] = {**item["permissions"], "admin": admin}
        self.repositories[full_name] = item
        self.pulls[full_name] = {}
        self.hooks[full_name] = {}
        return item

    def pull(self, full_name: str, number: int, title: str, author: str) -> dict:
        template = load_payload("github", "pull_request.opened.1.json")["pull_request"]
        pull = self._rewrite(copy.deepcopy(template))
        pull.update(
            number=number,
            id=self._id(),
            title=title,
            state="open",
            draft=False,
            merged=False,
            merged_at=None,
            closed_at=None,
            requested_reviewers=[],
            html_url=f"https://github.com/{full_name}/pull/{number}",
            url=f"{self.api}/repos/{full_name}/pulls/{number}",
        )
        pull["user"] = {**pull["user"], "login": author}
        pull["head"] = {**pull["head"], "sha": f"{number:040x}"}
        pull["base"] = {**pull["base"], "repo": self.repositories[full_name]}
        self.pulls[full_name][number] = pull
        return pull

    # --- HTTP ----------------------------------------------------------------------

    def start(self) -> FakeGitHubServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def answer(self, method: str, path: str, query: dict, body: Any, headers) -> tuple:
        """(status, body) for one request; unknown ones are remembered, 404."""
        for pattern, handler in self._routes(method):
            found = re.fullmatch(pattern, path)
            if found:
                return handler(*found.groups(), query=query, body=body, headers=headers)
        self.unknown.append(f"{method} {path}")
        return 404, {"message": "Not Found"}

    def _routes(self, method: str) -> list[tuple[str, Any]]:
        repo = r"/api/v3/repos/([^/]+/[^/]+)"
        return {
            "GET": [
                (r"/api/v3/user", self._user),
                (r"/api/v3/user/repos", self._user_repos),
                (r"/api/v3/orgs/([^/]+)/members", self._members),
                (rf"{repo}", self._repo),
                (rf"{repo}/hooks", self._hook_list),
                (rf"{repo}/hooks/(\d+)", self._hook),
                (rf"{repo}/pulls", self._pull_list),
                (rf"{repo}/pulls/(\d+)", self._pull),
                (
                    rf"{repo}/pulls/(\d+)/(?:reviews|comments|commits|files)",
                    self._empty,
                ),
                (rf"{repo}/issues/(\d+)/comments", self._empty),
            ],
            "POST": [
                (r"/login/oauth/access_token", self._token),
                (rf"{repo}/hooks", self._hook_create),
                (rf"{repo}/hooks/(\d+)/pings", self._ping),
            ],
            "PATCH": [(rf"{repo}/hooks/(\d+)", self._hook_edit)],
        }.get(method, [])

    def _token(self, *, query, body, headers):
        code = (body or {}).get("code", [""])[0]
        login = code.removeprefix("code-")
        token = _recorded("oauth_access_token.json")
        return 200, {**token, "access_token": f"token-{login}"}

    def _who(self, headers) -> str:
        return (headers.get("Authorization") or "").split("token-")[-1]

    def _user(self, *, query, body, headers):
        login = self._who(headers)
        user = _recorded("user.json")
        number = int(hashlib.sha256(login.encode()).hexdigest()[:6], 16)
        return 200, {
            **user,
            "login": login,
            "id": number,
            "name": login.title(),
            "email": f"{login}@example.com",
        }

    def _user_repos(self, *, query, body, headers):
        page = int(query.get("page", ["1"])[0])
        return 200, list(self.repositories.values()) if page == 1 else []

    def _members(self, org, *, query, body, headers):
        template = _recorded("team_members.json")[0]
        page = int(query.get("page", ["1"])[0])
        logins = self.orgs.get(org, []) if page == 1 else []
        return 200, [{**template, "login": login} for login in logins]

    def _repo(self, full_name, *, query, body, headers):
        item = self.repositories.get(full_name)
        return (200, item) if item else (404, {"message": "Not Found"})

    def _hook_list(self, full_name, *, query, body, headers):
        return 200, list(self.hooks.get(full_name, {}).values())

    def _hook(self, full_name, hook_id, *, query, body, headers):
        hook = self.hooks.get(full_name, {}).get(int(hook_id))
        return (200, hook) if hook else (404, {"message": "Not Found"})

    def _hook_create(self, full_name, *, query, body, headers):
        hook = self._rewrite(_recorded("hook_created.json"))
        hook_id = self._id()
        config = dict(body["config"])
        self.secrets[hook_id] = config.pop("secret", "")
        hook.update(
            id=hook_id,
            active=body.get("active", True),
            events=body.get("events", ["push"]),
            config={**config, "insecure_ssl": "0"},
            url=f"{self.api}/repos/{full_name}/hooks/{hook_id}",
            ping_url=f"{self.api}/repos/{full_name}/hooks/{hook_id}/pings",
            test_url=f"{self.api}/repos/{full_name}/hooks/{hook_id}/test",
        )
        self.hooks[full_name][hook_id] = hook
        return 201, hook

    def _hook_edit(self, full_name, hook_id, *, query, body, headers):
        hook = self.hooks[full_name][int(hook_id)]
        config = dict(body.get("config") or hook["config"])
        if "secret" in config:
            self.secrets[int(hook_id)] = config.pop("secret")
        hook.update(config=config, active=body.get("active", hook["active"]))
        return 200, hook

    def _ping(self, full_name, hook_id, *, query, body, headers):
        hook = self.hooks[full_name][int(hook_id)]
        threading.Thread(
            target=self._deliver_ping, args=(full_name, hook), daemon=True
        ).start()
        return 204, None

    def _deliver_ping(self, full_name: str, hook: dict) -> None:
        """What GitHub does after a ping request: POST the ping event, signed."""
        payload = copy.deepcopy(load_payload("github", "ping.default.1.json"))
        payload.update(hook_id=hook["id"], hook=hook)
        payload["repository"] = self.repositories[full_name]
        raw = json.dumps(payload).encode()
        secret = self.secrets[hook["id"]].encode()
        signature = hmac.new(secret, raw, hashlib.sha256).hexdigest()
        answer = requests.post(
            hook["config"]["url"],
            data=raw,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "ping",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": f"sha256={signature}",
            },
            timeout=10,
        )
        self.pings.append(answer.status_code)

    def _pull_list(self, full_name, *, query, body, headers):
        state = query.get("state", ["open"])[0]
        page = int(query.get("page", ["1"])[0])
        pulls = [
            pull
            for pull in self.pulls.get(full_name, {}).values()
            if state == "all" or pull["state"] == state
        ]
        return 200, pulls if page == 1 else []

    def _pull(self, full_name, number, *, query, body, headers):
        pull = self.pulls.get(full_name, {}).get(int(number))
        return (200, pull) if pull else (404, {"message": "Not Found"})

    def _empty(self, *args, query, body, headers):
        return 200, []

    def _rewrite(self, value: Any) -> Any:
        """Recorded API URLs point here."""
        text = json.dumps(value).replace("https://api.github.com/", f"{self.api}/")
        return json.loads(text)

    def _id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids


def _handler_for(fake: FakeGitHubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            if url.path == "/login/oauth/authorize":
                # The person signing in approves at once: back with a code.
                query = parse_qs(url.query)
                code = f"code-{fake.signing_in}"
                target = (
                    query["redirect_uri"][0]
                    + "?"
                    + urlencode({"code": code, "state": query["state"][0]})
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
                return
            self._answer("GET", None)

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST", self._body())

        def do_PATCH(self) -> None:  # noqa: N802
            self._answer("PATCH", self._body())

        def _body(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "json" in (self.headers.get("Content-Type") or ""):
                return json.loads(raw or b"{}")
            return parse_qs(raw.decode())

        def _answer(self, method: str, body: Any) -> None:
            url = urlsplit(self.path)
            status, payload = fake.answer(
                method, url.path, parse_qs(url.query), body, self.headers
            )
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in {
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "4990",
                "X-RateLimit-Reset": "1900000000",
                "X-RateLimit-Resource": "core",
            }.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
