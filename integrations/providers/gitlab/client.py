"""The Gitlab API client: everything CodeQuest asks of the provider.

Webhook verification and payload parsing live in ``gitlab.py``; this module
only talks to the API (through python-gitlab) and returns our dataclasses.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import gitlab
import requests

from integrations.providers.base import (
    MERGE_METHODS,
    CommentKind,
    CommentListing,
    CommentSnapshot,
    IssueInfo,
    LabelInfo,
    Payload,
    PayloadError,
    ProviderAuthError,
    ProviderConflictError,
    ProviderError,
    ProviderNotFoundError,
    ProviderTemporaryError,
    ProviderUnsupportedError,
    PullListing,
    PullRequestSnapshot,
    PullRequestWithReviews,
    RateLimit,
    RepositoryAccess,
    RepositoryInfo,
    RepositorySettings,
    RepositorySnapshot,
    ReviewSnapshot,
    ReviewState,
    Usage,
    WorkflowInfo,
    answer_excerpt,
    closing_references,
    host_of,
    label_from,
    logins,
    parse_optional_time,
    parse_time,
    require_int,
    require_object,
    require_str,
    text,
)
from integrations.providers.calls import recorded_call
from integrations.providers.gitlab.shapes import (
    MERGE_REQUEST_STATES,
    diff_position,
    merged_commit,
    user_ref,
)

logger = logging.getLogger(__name__)


NOTE_PAGES = 30  # at most 3,000 notes are read for one merge request
MAINTAINER = 40  # GitLab access level needed to manage a project's webhooks


@contextmanager
def _translated(operation: str, what: str) -> Iterator[None]:
    """Record the operation; python-gitlab errors become Provider*Error."""
    with recorded_call("gitlab", operation), _translating(what):
        yield


@contextmanager
def _translating(what: str) -> Iterator[None]:
    try:
        yield
    except gitlab.exceptions.GitlabAuthenticationError:
        raise ProviderAuthError(f"{what}: GitLab refused the token (401)") from None
    except gitlab.exceptions.GitlabError as exc:
        code = exc.response_code or 0
        if code == 404:
            raise ProviderNotFoundError(
                f"{what}: not found, or the token cannot see it"
            ) from None
        error = ProviderTemporaryError if code >= 500 or code == 429 else ProviderError
        message = answer_excerpt(exc.error_message)
        raise error(f"{what}: GitLab answered {code} {message}".rstrip()) from None
    except requests.RequestException as exc:
        raise ProviderTemporaryError(f"{what}: {exc.__class__.__name__}") from None


# The events our hook subscribes to unless its configuration names fewer; each
# is the hook's ``<name>_events`` flag
# (https://docs.gitlab.com/user/project/integrations/webhook_events/).
HOOK_EVENTS = ("merge_requests", "note", "push", "issues")


def _hook_settings(
    url: str, secret: str, events: Sequence[str], active: bool
) -> dict[str, Any]:
    """A GitLab hook has no "active" switch: a paused hook has every flag off."""
    subscribed = set(events or HOOK_EVENTS) if active else set()
    return {
        "url": url,
        "token": secret,
        **{f"{name}_events": name in subscribed for name in HOOK_EVENTS},
        "enable_ssl_verification": url.startswith("https://"),
    }


class GitLabClient:
    """GitLab REST v4 through python-gitlab, for one token (any GitLab host)."""

    def __init__(self, token: str, base_url: str) -> None:
        self._gl = gitlab.Gitlab(
            base_url,
            private_token=token,
            timeout=10,
            retry_transient_errors=True,
            keep_base_url=True,
        )
        self._projects: dict[str, Any] = {}
        self.usage = Usage()
        self._rate_limit: RateLimit | None = None
        self._gl.session.hooks["response"].append(self._count)

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Every request counts against GitLab's limits; keep its RateLimit-*."""
        self.usage.calls += 1
        self.usage.points += 1
        headers = response.headers
        if "RateLimit-Limit" in headers and "RateLimit-Remaining" in headers:
            try:
                reset = headers.get("RateLimit-Reset")
                self._rate_limit = RateLimit(
                    "core",
                    int(headers["RateLimit-Limit"]),
                    int(headers["RateLimit-Remaining"]),
                    datetime.fromtimestamp(int(reset), UTC) if reset else None,
                )
            except ValueError:
                pass  # a proxy's odd header must not break the call

    def _project(self, full_name: str) -> Any:
        if full_name not in self._projects:
            with _translated("repository", f"project {full_name}"):
                self._projects[full_name] = self._gl.projects.get(full_name)
        return self._projects[full_name]

    def repository(self, full_name: str) -> RepositoryAccess:
        attrs = self._project(full_name).attributes
        permissions = attrs.get("permissions") or {}
        levels = [
            (permissions.get(kind) or {}).get("access_level") or 0
            for kind in ("project_access", "group_access")
        ]
        return RepositoryAccess(
            repository=_project_snapshot(attrs),
            can_manage_hooks=max(levels) >= MAINTAINER,
        )

    def repositories_administered(
        self, *, max_pages: int = 10
    ) -> list[RepositorySnapshot]:
        """Projects where the person is Maintainer or Owner (who may add hooks).

        https://docs.gitlab.com/api/projects/#list-all-projects
        """
        snapshots: list[RepositorySnapshot] = []
        for page in range(1, max_pages + 1):
            with _translated("repositories", "your projects"):
                batch = self._gl.projects.list(
                    min_access_level=MAINTAINER,
                    archived="false",
                    order_by="path",
                    sort="asc",
                    per_page=100,
                    page=page,
                )
            snapshots.extend(_project_snapshot(item.attributes) for item in batch)
            if len(batch) < 100:
                break
        return snapshots

    def hook_ensure(
        self,
        full_name: str,
        *,
        url: str,
        secret: str,
        events: Sequence[str] = (),
        active: bool = True,
    ) -> int:
        """Create our hook, or update the one already pointing at ``url``."""
        settings_ = _hook_settings(url, secret, events, active)
        project = self._project(full_name)
        with _translated("hooks", f"webhooks of {full_name}"):
            for hook in project.hooks.list(get_all=True):
                if hook.attributes.get("url") == url:
                    for key, value in settings_.items():
                        setattr(hook, key, value)
                    hook.save()
                    return int(hook.get_id())
            return int(project.hooks.create(settings_).get_id())

    def hook_update(
        self,
        full_name: str,
        hook_id: int,
        *,
        url: str,
        secret: str,
        events: Sequence[str] = (),
        active: bool = True,
    ) -> None:
        """One ``PUT`` of the hook's URL, token and event flags
        (https://docs.gitlab.com/api/project_webhooks/#edit-a-project-webhook)."""
        settings_ = _hook_settings(url, secret, events, active)
        project = self._project(full_name)
        with _translated("hook_update", f"updating webhook {hook_id}"):
            project.hooks.update(hook_id, settings_)

    def ping(self) -> list[RateLimit]:
        """The token works (``GET /user``), with the RateLimit-* it reports."""
        with _translated("ping", "current user"):
            self._gl.http_get("/user")
        return [self._rate_limit] if self._rate_limit else []

    def hook_state(self, full_name: str, hook_id: int) -> str:
        """ "active", "disabled" (GitLab stopped delivering after failures) or
        "missing" (https://docs.gitlab.com/user/project/integrations/webhooks/)."""
        project = self._gl.projects.get(full_name, lazy=True)
        try:
            with _translated("hook_state", f"webhook of {full_name}"):
                hook = project.hooks.get(hook_id)
        except ProviderNotFoundError:
            return "missing"
        alert = hook.attributes.get("alert_status")
        return "disabled" if alert in ("disabled", "temporarily_disabled") else "active"

    def hook_ping(self, full_name: str, hook_id: int) -> None:
        """GitLab's "Test" button: it sends a Push Hook to the URL."""
        project = self._project(full_name)
        with _translated("hook_ping", f"test of webhook {hook_id}"):
            project.hooks.get(hook_id, lazy=True).test("push_events")

    def hook_redeliver_failed(
        self, full_name: str, hook_id: int, *, known: set[str], limit: int = 20
    ) -> list[str]:
        """GitLab retries failed deliveries itself and lists none to ask for."""
        raise ProviderUnsupportedError("GitLab has no webhook redelivery to ask for")

    def hook_delete(self, full_name: str, hook_id: int) -> None:
        with _translated("hook_delete", f"deleting webhook {hook_id}"):
            self._project(full_name).hooks.delete(hook_id)

    def pull_requests(
        self, full_name: str, *, updated_since: datetime
    ) -> Iterator[PullRequestWithReviews]:
        """Every open MR, and the others updated since then, with approvals."""
        project = self._project(full_name)
        with _translated("pull_requests", f"merge requests of {full_name}"):
            opened = project.mergerequests.list(state="opened", iterator=True)
            recent = project.mergerequests.list(
                updated_after=updated_since.isoformat(),
                order_by="updated_at",
                iterator=True,
            )
            seen: set[int] = set()
            for merge_request in (*opened, *recent):
                attrs = merge_request.attributes
                if attrs.get("iid") in seen:
                    continue
                seen.add(attrs.get("iid"))
                snapshot = merge_request_from_api(attrs)
                yield snapshot, self._approvals(merge_request, snapshot)

    def repository_info(self, full_name: str) -> RepositoryInfo:
        """``GET /projects/:id``, fresh."""
        with _translated("repository_info", f"project {full_name}"):
            attrs = self._gl.projects.get(full_name).attributes
        return _project_info(attrs)

    def repository_settings_update(
        self, full_name: str, changes: RepositorySettings
    ) -> RepositoryInfo:
        """One ``PUT /projects/:id``. GitLab's merge method is one choice plus a
        squash option, not three switches: changing it here is refused.

        https://docs.gitlab.com/api/projects/#edit-a-project
        """
        if changes.merge_methods is not None:
            raise ProviderUnsupportedError(
                "GitLab sets one merge method per project (merge commit, merge "
                "commit with rebase, or fast-forward); change it in GitLab"
            )
        body: dict[str, Any] = {}
        if changes.description is not None:
            body["description"] = changes.description
        if changes.default_branch is not None:
            body["default_branch"] = changes.default_branch
        if changes.delete_branch_on_merge is not None:
            body["remove_source_branch_after_merge"] = changes.delete_branch_on_merge
        with _translated("repository_update", f"settings of {full_name}"):
            attrs = self._gl.http_put(_project_path(full_name), post_data=body)
        if not isinstance(attrs, dict):
            raise ProviderError(f"GitLab answered the settings of {full_name} oddly")
        return _project_info(attrs)

    def pulls_open(
        self, full_name: str, *, limit: int = 100
    ) -> list[PullRequestSnapshot]:
        """Opened merge requests, most recently updated first (one page)."""
        project = self._gl.projects.get(full_name, lazy=True)
        with _translated("pulls_open", f"open merge requests of {full_name}"):
            items = project.mergerequests.list(
                state="opened",
                order_by="updated_at",
                sort="desc",
                per_page=min(limit, 100),
                page=1,
            )
            return [merge_request_from_api(item.attributes) for item in items]

    def issues_open(self, full_name: str, *, limit: int = 100) -> list[IssueInfo]:
        """Opened issues, most recently updated first (one page)."""
        project = self._gl.projects.get(full_name, lazy=True)
        with _translated("issues_open", f"open issues of {full_name}"):
            items = project.issues.list(
                state="opened",
                order_by="updated_at",
                sort="desc",
                per_page=min(limit, 100),
                page=1,
            )
            return [_issue_info(item.attributes) for item in items]

    def workflows(self, full_name: str, *, limit: int = 20) -> list[WorkflowInfo]:
        """The most recent pipelines (GitLab's runs; it has no workflow objects).

        https://docs.gitlab.com/api/pipelines/#list-project-pipelines
        """
        project = self._gl.projects.get(full_name, lazy=True)
        with _translated("workflows", f"pipelines of {full_name}"):
            items = project.pipelines.list(
                order_by="id", sort="desc", per_page=min(limit, 100), page=1
            )
            return [_pipeline_info(item.attributes) for item in items]

    def label_create(
        self, full_name: str, *, name: str, color: str, description: str = ""
    ) -> LabelInfo:
        """``POST /projects/:id/labels`` (GitLab wants the "#")."""
        body = {"name": name, "color": f"#{color}", "description": description}
        with _translated("label_create", f"label {name} of {full_name}"):
            attrs = self._gl.http_post(
                f"{_project_path(full_name)}/labels", post_data=body
            )
        return label_from(attrs, "GitLab")

    def label_update(
        self,
        full_name: str,
        name: str,
        *,
        new_name: str | None = None,
        color: str | None = None,
        description: str | None = None,
    ) -> LabelInfo:
        """``PUT /projects/:id/labels/:label_id``."""
        body: dict[str, Any] = {}
        if new_name is not None:
            body["new_name"] = new_name
        if color is not None:
            body["color"] = f"#{color}"
        if description is not None:
            body["description"] = description
        with _translated("label_update", f"label {name} of {full_name}"):
            attrs = self._gl.http_put(_label_path(full_name, name), post_data=body)
        return label_from(attrs, "GitLab")

    def label_delete(self, full_name: str, name: str) -> None:
        """``DELETE /projects/:id/labels/:label_id``."""
        with _translated("label_delete", f"label {name} of {full_name}"):
            self._gl.http_delete(_label_path(full_name, name))

    def pull_requests_since(
        self, full_name: str, *, since: datetime, etag: str = ""
    ) -> PullListing:
        """MRs updated at or after ``since``, newest first (``updated_after``).

        GitLab answers list requests without ETags, so an unchanged project
        costs one request that returns an empty page.
        """
        project = self._gl.projects.get(full_name, lazy=True)
        with _translated("pull_requests_since", f"merge requests of {full_name}"):
            items = project.mergerequests.list(
                updated_after=since.isoformat(),
                order_by="updated_at",
                sort="desc",
                per_page=100,
                iterator=True,
            )
            pulls = [merge_request_from_api(item.attributes) for item in items]
        return PullListing(pulls)

    def reviews(
        self, full_name: str, snapshot: PullRequestSnapshot
    ) -> list[ReviewSnapshot]:
        """Approvals of one MR, as reviews (one call)."""
        project = self._gl.projects.get(full_name, lazy=True)
        with _translated("reviews", f"approvals of {full_name}!{snapshot.number}"):
            merge_request = project.mergerequests.get(snapshot.number, lazy=True)
            reviews: list[ReviewSnapshot] = self._approvals(merge_request, snapshot)
            return reviews

    def comments(self, full_name: str, snapshot: PullRequestSnapshot) -> CommentListing:
        """Every person's note on an MR now (system notes, GitLab's own "added
        a commit" lines, are left out), all pages up to NOTE_PAGES."""
        # The project read earlier by this client, else addressed by its path.
        project = self._projects.get(full_name) or self._gl.projects.get(
            full_name, lazy=True
        )
        found: list[CommentSnapshot] = []
        seen = 0
        with _translated("comments", f"notes of {full_name}!{snapshot.number}"):
            merge_request = project.mergerequests.get(snapshot.number, lazy=True)
            for item in merge_request.notes.list(per_page=100, iterator=True):
                seen += 1
                if seen > NOTE_PAGES * 100:
                    return CommentListing(found, (CommentKind.NOTE,), complete=False)
                note = note_from_api(item.attributes)
                if note is not None:
                    found.append(note)
        return CommentListing(found, (CommentKind.NOTE,))

    def rate_limit(self) -> RateLimit | None:
        """GitLab's RateLimit-* headers of the last answer (None if it sent none)."""
        return self._rate_limit

    def file_read(self, full_name: str, path: str, ref: str) -> str | None:
        """A text file at ``ref`` (CODEOWNERS), or None when it does not exist."""
        project = self._project(full_name)
        try:
            with _translated("file_read", f"{path} of {full_name}"):
                raw = project.files.raw(file_path=path, ref=ref)
        except ProviderNotFoundError:
            return None
        return bytes(raw).decode("utf-8", "replace")

    def changed_files(self, full_name: str, number: int) -> list[str]:
        """Paths an MR changes, from its diffs (GitLab 15.7+), all pages."""
        project = self._project(full_name)
        with _translated("changed_files", f"files of {full_name}!{number}"):
            diffs = self._gl.http_list(
                f"/projects/{project.get_id()}/merge_requests/{number}/diffs",
                iterator=True,
            )
            return [item["new_path"] for item in diffs]

    def reviewers_request(
        self, full_name: str, number: int, *, logins: list[str], teams: list[str]
    ) -> None:
        """Add reviewers to the MR's reviewer_ids (GitLab has no team reviewers)."""
        project = self._project(full_name)
        with _translated("reviewers_request", f"reviewers of {full_name}!{number}"):
            merge_request = project.mergerequests.get(number)
            ids = [
                reviewer["id"]
                for reviewer in merge_request.attributes.get("reviewers") or []
            ]
            for login in logins:
                users = self._gl.users.list(username=login, get_all=False)
                if users and users[0].id not in ids:
                    ids.append(users[0].id)
            merge_request.reviewer_ids = ids
            merge_request.save()

    def committers(self, full_name: str, number: int) -> list[str]:
        """Usernames behind the MR's commit emails (GitLab gives no usernames).

        Each distinct email (10 at most) is looked up with ``GET /users?search=``;
        an email that matches no one, or several people, is skipped.
        """
        project = self._project(full_name)
        with _translated("committers", f"commits of {full_name}!{number}"):
            commits = project.mergerequests.get(number, lazy=True).commits(get_all=True)
            emails = sorted(
                {
                    email
                    for commit in commits
                    for email in (
                        commit.attributes.get("author_email"),
                        commit.attributes.get("committer_email"),
                    )
                    if isinstance(email, str) and "@" in email
                }
            )[:10]
            usernames = set()
            for email in emails:
                users = self._gl.users.list(search=email, get_all=False)
                if len(users) == 1:
                    usernames.add(users[0].username)
        return sorted(usernames)

    def reviewers_remove(
        self, full_name: str, number: int, *, logins: list[str]
    ) -> None:
        """Drop these users from the MR's reviewer_ids (reassignment)."""
        project = self._project(full_name)
        with _translated("reviewers_remove", f"reviewers of {full_name}!{number}"):
            merge_request = project.mergerequests.get(number)
            merge_request.reviewer_ids = [
                reviewer["id"]
                for reviewer in merge_request.attributes.get("reviewers") or []
                if reviewer.get("username") not in logins
            ]
            merge_request.save()

    def pull_labels_change(
        self,
        full_name: str,
        number: int,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> tuple[str, ...]:
        """``PUT /projects/:id/merge_requests/:iid`` with ``add_labels`` and
        ``remove_labels`` (one request; removing one not there is fine)."""
        body = {"add_labels": ",".join(add), "remove_labels": ",".join(remove)}
        with _translated("pull_labels_change", f"labels of {full_name}!{number}"):
            attrs = self._gl.http_put(
                f"{_project_path(full_name)}/merge_requests/{number}",
                post_data={key: value for key, value in body.items() if value},
            )
        labels = attrs.get("labels") if isinstance(attrs, dict) else None
        if not isinstance(labels, list):
            return ()
        return tuple(label for label in labels if isinstance(label, str))

    def pull_line_counts(self, full_name: str, number: int) -> tuple[int, int]:
        """Counted in the merge request's diffs (GitLab states no line counts):
        lines that start with + or -, file headers excluded."""
        project = self._project(full_name)
        added = deleted = 0
        with _translated("pull_line_counts", f"{full_name}!{number}"):
            diffs = self._gl.http_list(
                f"/projects/{project.get_id()}/merge_requests/{number}/diffs",
                iterator=True,
            )
            for item in diffs:
                text = item.get("diff") if isinstance(item, dict) else None
                for line in (text or "").splitlines():
                    if line.startswith("+") and not line.startswith("+++"):
                        added += 1
                    elif line.startswith("-") and not line.startswith("---"):
                        deleted += 1
        return added, deleted

    def branch_head(self, full_name: str, branch: str) -> str | None:
        """``GET /projects/:id/repository/branches/:branch``."""
        try:
            with _translated("branch_head", f"branch {branch} of {full_name}"):
                data = self._gl.http_get(
                    f"{_project_path(full_name)}/repository/branches/"
                    f"{quote(branch, safe='')}"
                )
        except ProviderNotFoundError:
            return None
        return str(require_str(require_object(data, "commit"), "id"))

    def commit_files(
        self,
        full_name: str,
        *,
        branch: str,
        parent: str,
        message: str,
        files: Mapping[str, str],
        existing: Collection[str] = (),
        create_branch: bool = False,
    ) -> str:
        """``POST /projects/:id/repository/commits``: one request, the files as
        actions, the commit made on ``parent`` (``start_sha``); ``force``
        moves a branch of ours onto it."""
        actions = [
            {
                "action": "update" if path in existing else "create",
                "file_path": path,
                "content": text,
            }
            for path, text in files.items()
        ]
        body = {
            "branch": branch,
            "commit_message": message,
            "actions": actions,
            "start_sha": parent,
            "force": not create_branch,
        }
        with _translated("commit_files", f"commit to {branch} of {full_name}"):
            data = self._gl.http_post(
                f"{_project_path(full_name)}/repository/commits", post_data=body
            )
        return str(require_str(data, "id"))

    def pull_create(
        self, full_name: str, *, head: str, base: str, title: str, body: str
    ) -> tuple[int, str]:
        """``POST /projects/:id/merge_requests`` (the branch removed on merge)."""
        with _translated("pull_create", f"merge request on {full_name}"):
            data = self._gl.http_post(
                f"{_project_path(full_name)}/merge_requests",
                post_data={
                    "source_branch": head,
                    "target_branch": base,
                    "title": title,
                    "description": body,
                    "remove_source_branch": True,
                },
            )
        if not isinstance(data, dict):
            raise PayloadError("GitLab's merge request answer is not an object")
        snapshot = merge_request_from_api(data)
        return snapshot.number, snapshot.url

    def repository_create(
        self, owner: str, name: str, *, description: str
    ) -> RepositorySnapshot:
        """``POST /projects``, private, with a README so the default branch
        exists; a group ``owner`` is looked up first (``GET /namespaces/:path``).

        https://docs.gitlab.com/api/projects/#create-a-project
        """
        where = f"new project {owner + '/' if owner else ''}{name}"
        body: dict[str, Any] = {
            "name": name,
            "path": name,
            "description": description,
            "visibility": "private",
            "initialize_with_readme": True,
        }
        with _translated("repository_create", where):
            if owner:
                namespace = self._gl.http_get(f"/namespaces/{quote(owner, safe='')}")
                if not isinstance(namespace, dict):
                    raise PayloadError("GitLab's namespace answer is not an object")
                body["namespace_id"] = require_int(namespace, "id", at="namespace")
            try:
                data = self._gl.http_post("/projects", post_data=body)
            except gitlab.exceptions.GitlabError as exc:
                if exc.response_code == 400 and "already been taken" in str(
                    exc.error_message
                ):
                    raise ProviderConflictError(
                        f"{where}: GitLab says the name is taken"
                    ) from None
                raise
        if not isinstance(data, dict):
            raise PayloadError("GitLab's new project answer is not an object")
        return _project_snapshot(data)

    def is_ancestor(self, full_name: str, ancestor: str, descendant: str) -> bool:
        """``GET /projects/:id/repository/merge_base``: the merge base of the two
        is ``ancestor`` exactly when it is an ancestor. An unknown commit (gone
        after a rewrite) is not one."""
        try:
            with _translated("is_ancestor", f"history of {full_name}"):
                base = self._gl.http_get(
                    f"{_project_path(full_name)}/repository/merge_base",
                    query_data={"refs[]": [ancestor, descendant]},
                )
        except ProviderNotFoundError:
            return False
        return isinstance(base, dict) and base.get("id") == ancestor

    def comment_create(self, full_name: str, number: int, body: str) -> None:
        """A note on the merge request."""
        project = self._project(full_name)
        with _translated("comment_create", f"note on {full_name}!{number}"):
            project.mergerequests.get(number, lazy=True).notes.create({"body": body})

    def comment_put(
        self, full_name: str, number: int, body: str, *, comment_id: str = ""
    ) -> str:
        """Edit a merge request note in place, or make it (deleted on GitLab:
        made again). ``PUT …/merge_requests/:iid/notes/:note_id``."""
        notes = self._project(full_name).mergerequests.get(number, lazy=True).notes
        if comment_id.isdigit():
            try:
                with _translated("comment_update", f"note on {full_name}!{number}"):
                    data = notes.update(int(comment_id), {"body": body})
                return _note_id(data)
            except ProviderNotFoundError:
                pass
        with _translated("comment_create", f"note on {full_name}!{number}"):
            note = notes.create({"body": body})
        return _note_id(note.attributes)

    def team_members(self, full_name: str, team: str) -> list[str]:
        """Usernames of group ``@group/sub`` including inherited members."""
        path = team.lstrip("@")
        with _translated("team_members", f"members of {team}"):
            members = self._gl.groups.get(path, lazy=True).members_all.list(
                get_all=True
            )
        return [member.username for member in members if member.state == "active"]

    def users_busy(self, logins: list[str]) -> dict[str, str]:
        """Who set "Busy" on GitLab: username -> status message.

        https://docs.gitlab.com/api/users/#get-the-status-of-a-user
        """
        busy = {}
        for login in logins:
            with _translated("users_busy", f"status of {login}"):
                status = self._gl.http_get(f"/users/{quote(login, safe='')}/status")
            if isinstance(status, dict) and status.get("availability") == "busy":
                busy[login] = text(status.get("message")) or "busy"
        return busy

    def _approvals(
        self, merge_request: Any, snapshot: PullRequestSnapshot
    ) -> list[ReviewSnapshot]:
        approvals = merge_request.approvals.get().attributes
        # The approvals API gives no time; the MR's is the best bound.
        moment = snapshot.updated_at or snapshot.created_at
        if moment is None:
            raise PayloadError("merge request has no updated_at to date approvals")
        reviews = []
        for entry in approvals.get("approved_by") or []:
            user = entry.get("user") if isinstance(entry, dict) else None
            if not isinstance(user, dict) or not isinstance(user.get("username"), str):
                continue
            approver = user_ref(user["username"], user.get("id"))
            reviews.append(
                ReviewSnapshot(
                    external_id=f"approval:{approver.external_id or approver.login}",
                    reviewer=approver,
                    state=ReviewState.APPROVED,
                    submitted_at=moment,
                    commit_sha=snapshot.head_sha or "",
                )
            )
        return reviews


def merge_request_from_api(attrs: Payload) -> PullRequestSnapshot:
    """A merge request as the REST API returns it (not the hook shape)."""
    state_text = require_str(attrs, "state", at="merge_request")
    state = MERGE_REQUEST_STATES.get(state_text)
    if state is None:
        raise PayloadError(f"merge request state {state_text!r} is unknown")
    author: Payload = attrs["author"] if isinstance(attrs.get("author"), dict) else {}
    draft = attrs.get("draft")
    if not isinstance(draft, bool):
        draft = attrs.get("work_in_progress")
    labels = attrs.get("labels")
    labels = labels if isinstance(labels, list) else []
    merged_by = attrs.get("merge_user") or attrs.get("merged_by")
    merged_by = merged_by if isinstance(merged_by, dict) else {}
    return PullRequestSnapshot(
        number=require_int(attrs, "iid", at="merge_request"),
        external_id=attrs.get("id") if isinstance(attrs.get("id"), int) else None,
        title=text(attrs.get("title")),
        state=state,
        url=text(attrs.get("web_url")),
        author=user_ref(author["username"], author.get("id"))
        if isinstance(author.get("username"), str)
        else None,
        draft=draft if isinstance(draft, bool) else None,
        head_sha=text(attrs.get("sha")) or None,
        head_ref=text(attrs.get("source_branch")) or None,
        base_ref=text(attrs.get("target_branch")) or None,
        requested_reviewers=logins(attrs.get("reviewers"), "username"),
        assignees=logins(attrs.get("assignees"), "username"),
        labels=tuple(sorted(label for label in labels if isinstance(label, str))),
        created_at=parse_optional_time(attrs.get("created_at"), "created_at"),
        updated_at=parse_time(attrs.get("updated_at"), "merge_request.updated_at"),
        merged_at=parse_optional_time(attrs.get("merged_at"), "merged_at"),
        closed_at=parse_optional_time(attrs.get("closed_at"), "closed_at"),
        merged_by=text(merged_by.get("username"))
        if isinstance(merged_by, dict)
        else None,
        merge_commit_sha=merged_commit(attrs, state),
        closes=closing_references(attrs.get("description")),
    )


def note_from_api(attrs: Payload) -> CommentSnapshot | None:
    """A merge request note as the Notes API returns it; None for a system note
    or one without an author. https://docs.gitlab.com/api/notes/"""
    if attrs.get("system") is True:
        return None
    author = attrs.get("author")
    if not isinstance(author, dict):
        return None
    login = author.get("username")
    if not isinstance(login, str) or not login:
        return None
    created = parse_time(attrs.get("created_at"), "note.created_at")
    path, line = diff_position(attrs)
    return CommentSnapshot(
        external_id=str(require_int(attrs, "id", at="note")),
        kind=CommentKind.NOTE,
        author=user_ref(login, author.get("id")),
        body=text(attrs.get("body")),
        created_at=created,
        updated_at=parse_optional_time(attrs.get("updated_at"), "note.updated_at")
        or created,
        path=path,
        line=line,
    )


def _project_snapshot(attrs: dict[str, Any]) -> RepositorySnapshot:
    web_url = text(attrs.get("web_url"))
    return RepositorySnapshot(
        provider="gitlab",
        host=host_of(web_url) or "gitlab.com",
        external_id=require_int(attrs, "id", at="project"),
        full_name=require_str(attrs, "path_with_namespace", at="project"),
        default_branch=text(attrs.get("default_branch")) or None,
        web_url=web_url,
        is_private=attrs.get("visibility") == "private"
        if isinstance(attrs.get("visibility"), str)
        else None,
    )


def _project_info(attrs: dict[str, Any]) -> RepositoryInfo:
    """The operations API's view of a project. Merge methods in GitHub's words:
    a merge commit (``merge``, ``rebase_merge``), linear history (``ff``),
    squashing unless it is ``never``."""
    method = text(attrs.get("merge_method"))
    allowed = {
        "merge": method in ("merge", "rebase_merge"),
        "squash": text(attrs.get("squash_option")) not in ("", "never"),
        "rebase": method == "ff",
    }
    counts = {
        key: value if isinstance(value, int) and not isinstance(value, bool) else None
        for key, value in (
            ("open_issues", attrs.get("open_issues_count")),
            ("stars", attrs.get("star_count")),
            ("forks", attrs.get("forks_count")),
        )
    }
    return RepositoryInfo(
        full_name=require_str(attrs, "path_with_namespace", at="project"),
        description=text(attrs.get("description")),
        default_branch=text(attrs.get("default_branch")),
        visibility=text(attrs.get("visibility")) or "private",
        web_url=text(attrs.get("web_url")),
        open_issues=counts["open_issues"],
        stars=counts["stars"],
        forks=counts["forks"],
        archived=attrs.get("archived") is True,
        merge_methods=tuple(name for name in MERGE_METHODS if allowed[name]),
        delete_branch_on_merge=attrs.get("remove_source_branch_after_merge")
        if isinstance(attrs.get("remove_source_branch_after_merge"), bool)
        else None,
        pushed_at=parse_optional_time(
            attrs.get("last_activity_at"), "project.last_activity_at"
        ),
    )


def _issue_info(attrs: dict[str, Any]) -> IssueInfo:
    author = attrs.get("author")
    labels = attrs.get("labels")
    return IssueInfo(
        number=require_int(attrs, "iid", at="issue"),
        title=text(attrs.get("title")),
        author=text(author.get("username")) if isinstance(author, dict) else "",
        labels=tuple(text(name) for name in labels) if isinstance(labels, list) else (),
        comments=attrs.get("user_notes_count")
        if isinstance(attrs.get("user_notes_count"), int)
        else None,
        created_at=parse_optional_time(attrs.get("created_at"), "issue.created_at"),
        updated_at=parse_optional_time(attrs.get("updated_at"), "issue.updated_at"),
        web_url=text(attrs.get("web_url")),
    )


def _pipeline_info(attrs: dict[str, Any]) -> WorkflowInfo:
    return WorkflowInfo(
        id=require_int(attrs, "id", at="pipeline"),
        kind="pipeline",
        name=text(attrs.get("name")),
        state=text(attrs.get("status")),
        ref=text(attrs.get("ref")),
        web_url=text(attrs.get("web_url")),
        updated_at=parse_optional_time(attrs.get("updated_at"), "pipeline.updated_at"),
    )


def _project_path(full_name: str) -> str:
    return f"/projects/{quote(full_name, safe='')}"


def _label_path(full_name: str, name: str) -> str:
    return f"{_project_path(full_name)}/labels/{quote(name, safe='')}"


def _note_id(data: Any) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise PayloadError("GitLab's note answer has no id")
    return str(data["id"])
