"""A small GitLab on loopback for browser walk-throughs: the OAuth web flow and
the REST endpoints connecting a project calls (user, projects, hooks and their
test delivery, merge requests, approvals, notes). Every answer is a recorded
response (tests/provider_responses/gitlab, ../shared/fixtures/gitlab) with its
names, ids and URLs changed to this server's."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import requests

from tests.conftest import load_payload
from tests.loopback_fake import LoopbackFake

RECORDED = Path(__file__).resolve().parent / "provider_responses" / "gitlab"


def _recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


class FakeGitLabServer(LoopbackFake):
    def __init__(self) -> None:
        super().__init__(signing_in="john_smith")
        self.projects: dict[int, dict] = {}
        self.merge_requests: dict[int, list[dict]] = {}
        self.hooks: dict[int, dict[int, dict]] = {}
        self.tokens: dict[int, str] = {}
        self.tests: list[int] = []  # status of each test delivery sent back

    def project(self, path: str) -> dict:
        item = copy.deepcopy(_recorded("project.json"))
        number = self.next_id()
        namespace, _, name = path.rpartition("/")
        item.update(
            id=number,
            name=name,
            path=name,
            path_with_namespace=path,
            name_with_namespace=path.replace("/", " / "),
            web_url=f"{self.base}/{path}",
            visibility="private",
        )
        item["namespace"] = {**item["namespace"], "full_path": namespace}
        # The person is a Maintainer there (may add hooks).
        item["permissions"] = {
            "project_access": {"access_level": 40, "notification_level": 3},
            "group_access": None,
        }
        self.projects[number] = item
        self.merge_requests[number] = []
        self.hooks[number] = {}
        return item

    def merge_request(self, project: dict, iid: int, title: str, author: str) -> dict:
        item = copy.deepcopy(_recorded("merge_requests.json")[0])
        item.update(
            id=self.next_id(),
            iid=iid,
            project_id=project["id"],
            source_project_id=project["id"],
            target_project_id=project["id"],
            title=title,
            state="opened",
            draft=False,
            work_in_progress=False,
            merged_at=None,
            closed_at=None,
            reviewers=[],
            web_url=f"{project['web_url']}/-/merge_requests/{iid}",
        )
        item["author"] = {**item["author"], "username": author}
        self.merge_requests[project["id"]].append(item)
        return item

    def routes(self, method: str) -> list[tuple[str, Any]]:
        project = r"/api/v4/projects/([^/]+)"
        merge_request = rf"{project}/merge_requests/(\d+)"
        return {
            "GET": [
                (r"/api/v4/user", self._user),
                (r"/api/v4/projects", self._project_list),
                (project, self._project),
                (rf"{project}/hooks", self._hook_list),
                (rf"{project}/hooks/(\d+)", self._hook),
                (rf"{project}/merge_requests", self._merge_request_list),
                (merge_request, self._merge_request),
                (rf"{merge_request}/approvals", self._approvals),
                (rf"{merge_request}/(?:notes|commits|diffs)", self._empty),
            ],
            "POST": [
                (r"/oauth/token", self._token),
                (rf"{project}/hooks", self._hook_create),
                (rf"{project}/hooks/(\d+)/test/([a-z_]+)", self._hook_test),
            ],
            "PUT": [(rf"{project}/hooks/(\d+)", self._hook_edit)],
        }.get(method, [])

    def _find(self, key: str) -> dict | None:
        key = unquote(key)
        if key.isdigit():
            return self.projects.get(int(key))
        return next(
            (
                item
                for item in self.projects.values()
                if item["path_with_namespace"] == key
            ),
            None,
        )

    def _token(self, *, query, body, headers):
        code = (body or {}).get("code", [""])
        login = (code[0] if isinstance(code, list) else code).removeprefix("code-")
        return 200, {**_recorded("oauth_token.json"), "access_token": f"token-{login}"}

    def _user(self, *, query, body, headers):
        token = query.get("access_token", [""])[0] or (
            headers.get("Authorization") or ""
        ).removeprefix("Bearer ")
        login = token.removeprefix("token-")
        user = _recorded("user.json")
        return 200, {
            **user,
            "username": login,
            "name": login.replace("_", " ").title(),
            "email": f"{login}@example.com",
            "id": 10_000 + len(login),
        }

    def _project_list(self, *, query, body, headers):
        page = int(query.get("page", ["1"])[0])
        return 200, list(self.projects.values()) if page == 1 else []

    def _project(self, key, *, query, body, headers):
        item = self._find(key)
        return (200, item) if item else (404, {"message": "404 Project Not Found"})

    def _hook_list(self, key, *, query, body, headers):
        return 200, list(self.hooks[self._find(key)["id"]].values())

    def _hook(self, key, hook_id, *, query, body, headers):
        hook = self.hooks[self._find(key)["id"]].get(int(hook_id))
        return (200, hook) if hook else (404, {"message": "404 Not found"})

    def _hook_create(self, key, *, query, body, headers):
        project = self._find(key)
        hook = copy.deepcopy(_recorded("hook.json"))
        settings = dict(body)
        hook_id = self.next_id()
        self.tokens[hook_id] = settings.pop("token", "")
        hook.update(settings, id=hook_id, project_id=project["id"])
        self.hooks[project["id"]][hook_id] = hook
        return 201, hook

    def _hook_edit(self, key, hook_id, *, query, body, headers):
        hook = self.hooks[self._find(key)["id"]][int(hook_id)]
        settings = dict(body)
        if "token" in settings:
            self.tokens[int(hook_id)] = settings.pop("token")
        hook.update(settings)
        return 200, hook

    def _hook_test(self, key, hook_id, trigger, *, query, body, headers):
        project = self._find(key)
        hook = self.hooks[project["id"]][int(hook_id)]
        threading.Thread(
            target=self._deliver_test, args=(project, hook), daemon=True
        ).start()
        return 201, {"message": "201 Created"}

    def _deliver_test(self, project: dict, hook: dict) -> None:
        """GitLab's "Test" button: a push event to the hook, with its token."""
        payload = copy.deepcopy(load_payload("gitlab", "push.default.1.json"))
        payload["project_id"] = project["id"]
        payload["project"] = {
            **payload["project"],
            "id": project["id"],
            "path_with_namespace": project["path_with_namespace"],
            "web_url": project["web_url"],
        }
        answer = requests.post(
            hook["url"],
            data=json.dumps(payload).encode(),
            headers={
                "Content-Type": "application/json",
                "X-Gitlab-Event": "Push Hook",
                "X-Gitlab-Token": self.tokens[hook["id"]],
                "X-Gitlab-Event-UUID": str(uuid.uuid4()),
            },
            timeout=10,
        )
        self.tests.append(answer.status_code)

    def _merge_request_list(self, key, *, query, body, headers):
        state = query.get("state", ["all"])[0]
        page = int(query.get("page", ["1"])[0])
        items = [
            item
            for item in self.merge_requests[self._find(key)["id"]]
            if state == "all" or item["state"] == state
        ]
        return 200, items if page == 1 else []

    def _merge_request(self, key, iid, *, query, body, headers):
        items = self.merge_requests[self._find(key)["id"]]
        item = next((i for i in items if i["iid"] == int(iid)), None)
        return (200, item) if item else (404, {"message": "404 Not found"})

    def _approvals(self, key, iid, *, query, body, headers):
        return 200, {**_recorded("approvals.json"), "approved_by": []}

    def _empty(self, *args, query, body, headers):
        return 200, []
