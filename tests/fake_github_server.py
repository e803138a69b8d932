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
import threading
import uuid
from pathlib import Path
from typing import Any

import requests

from tests.conftest import load_payload
from tests.loopback_fake import LoopbackFake

RECORDED = Path(__file__).resolve().parent / "provider_responses" / "github"


def _recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


class FakeGitHubServer(LoopbackFake):
    authorize_path = "/login/oauth/authorize"
    extra_headers = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4990",
        "X-RateLimit-Reset": "1900000000",
        "X-RateLimit-Resource": "core",
    }

    def __init__(self) -> None:
        super().__init__(signing_in="mona")
        self.api = f"{self.base}/api/v3"
        self.repositories: dict[str, dict] = {}  # full_name -> REST object
        self.pulls: dict[str, dict[int, dict]] = {}
        self.hooks: dict[str, dict[int, dict]] = {}
        self.secrets: dict[int, str] = {}
        self.orgs: dict[str, list[str]] = {}
        self.pings: list[int] = []  # status of each ping delivered back

    # --- the provider's truth ----------------------------------------------------

    def repository(self, full_name: str, *, admin: bool = True) -> dict:
        item = self._rewrite(_recorded("repo.json"))
        owner, name = full_name.split("/")
        item.update(
            id=self.next_id(),
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
            id=self.next_id(),
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

    def routes(self, method: str) -> list[tuple[str, Any]]:
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
        hook_id = self.next_id()
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
