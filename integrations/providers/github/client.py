"""The GitHub API client: everything CodeQuest asks of the provider.

Webhook verification and payload parsing live in ``github.py``; this module
only talks to the API (through PyGithub) and returns our dataclasses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import github
import requests

from integrations import metrics
from integrations.providers.base import (
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
    Usage,
    WorkflowInfo,
    answer_excerpt,
    host_of,
    label_from,
    parse_time,
    require_int,
    require_object,
    require_str,
    text,
)
from integrations.providers.cache import (
    ETAG_TTL,
    PULL_LIST_TTL,
    REPOSITORY_TTL,
    cache_get,
    cache_set,
    repository_generation,
)
from integrations.providers.calls import recorded_call
from integrations.providers.github.shapes import (
    REVIEW_STATES,
    comment_from,
    info_from,
    issue_from,
    pull_request_from,
    repository_from,
    user_from,
    workflow_from,
)

logger = logging.getLogger(__name__)


# At most 3,000 comments of each kind are read for one pull request.
COMMENT_PAGES = 30

# The events our hook subscribes to unless its configuration names fewer
# (https://docs.github.com/en/webhooks/webhook-events-and-payloads).
HOOK_EVENTS = (
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
    "issue_comment",
    "issues",
    "push",
)


def _hook_config(url: str, secret: str) -> dict[str, str]:
    return {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}


@contextmanager
def translated(operation: str, what: str) -> Iterator[None]:
    """Record the operation; PyGithub/requests errors become Provider*Error.

    Messages never carry the token.
    """
    with recorded_call("github", operation), _translating(what):
        yield


@contextmanager
def _translating(what: str) -> Iterator[None]:
    try:
        yield
    except github.BadCredentialsException:
        raise ProviderAuthError(f"{what}: GitHub refused the token (401)") from None
    except github.UnknownObjectException:
        raise ProviderNotFoundError(
            f"{what}: not found, or the token cannot see it"
        ) from None
    except github.RateLimitExceededException:
        raise ProviderTemporaryError(f"{what}: GitHub rate limit exhausted") from None
    except github.GithubException as exc:
        message = answer_excerpt(
            exc.data.get("message") if isinstance(exc.data, dict) else ""
        )
        error = ProviderTemporaryError if exc.status >= 500 else ProviderError
        raise error(
            f"{what}: GitHub answered {exc.status} {message}".rstrip()
        ) from None
    except requests.exceptions.RetryError:
        message = f"{what}: GitHub kept answering with server errors; try later"
        raise ProviderTemporaryError(message) from None
    except requests.RequestException as exc:
        raise ProviderTemporaryError(f"{what}: {exc.__class__.__name__}") from None


class GitHubClient:
    """GitHub REST through PyGithub, for one token (github.com or Enterprise)."""

    def __init__(self, token: str, base_url: str, *, throttle: float | None) -> None:
        self._gh = github.Github(
            auth=github.Auth.Token(token),
            base_url=base_url,
            timeout=10,
            retry=github.GithubRetry(total=3),
            seconds_between_requests=throttle,
            seconds_between_writes=throttle,
        )
        self._repos: dict[str, Any] = {}
        self._host = host_of(base_url) or "api.github.com"
        self._token_key = hashlib.sha256(token.encode()).hexdigest()[:16]
        self.usage = Usage()

    @contextmanager
    def _call(self, operation: str, what: str) -> Iterator[None]:
        """One recorded operation; then export the rate limit GitHub reported."""
        try:
            with translated(operation, what):
                yield
        finally:
            remaining = self._gh.requester.rate_limiting[0]
            if remaining >= 0:
                metrics.provider_rate_limit_remaining.labels("github", self._host).set(
                    remaining
                )

    def _repo(self, full_name: str) -> Any:
        """The repository (metadata cached for REPOSITORY_TTL, per token)."""
        if full_name not in self._repos:
            with self._call("repository", f"repository {full_name}"):
                data = self._get_cached(
                    f"/repos/{full_name}",
                    {},
                    kind="repository",
                    ttl=REPOSITORY_TTL,
                    scope=full_name,
                )
            self._repos[full_name] = self._gh.create_from_raw_data(
                github.Repository.Repository, data
            )
        return self._repos[full_name]

    def repository(self, full_name: str) -> RepositoryAccess:
        raw = self._repo(full_name).raw_data
        permissions = raw.get("permissions") or {}
        host = host_of(raw.get("html_url")) or "github.com"
        return RepositoryAccess(
            repository=repository_from(raw, host),
            can_manage_hooks=permissions.get("admin") is True,
        )

    def repositories_administered(
        self, *, max_pages: int = 10
    ) -> list[RepositorySnapshot]:
        """The person's own and their organizations' repositories on which they
        are admin (only admins can add a webhook).

        https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user
        """
        with self._call("repositories", "your repositories"):
            items = self._pages(
                "/user/repos",
                max_pages=max_pages,
                params={
                    "affiliation": "owner,organization_member",
                    "sort": "full_name",
                },
            )
        return [
            repository_from(item, host_of(item.get("html_url")) or "github.com")
            for item in items
            if isinstance(item, dict)
            and (item.get("permissions") or {}).get("admin") is True
        ]

    def repository_info(self, full_name: str) -> RepositoryInfo:
        """``GET /repos/{owner}/{repo}``, fresh (the client's own metadata cache
        is for the sync road)."""
        with self._call("repository_info", f"repository {full_name}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", f"/repos/{quote(full_name, safe='/')}"
            )
        return info_from(data)

    def repository_settings_update(
        self, full_name: str, changes: RepositorySettings
    ) -> RepositoryInfo:
        """One ``PATCH /repos/{owner}/{repo}``.

        https://docs.github.com/en/rest/repos/repos#update-a-repository
        """
        body: dict[str, Any] = {}
        if changes.description is not None:
            body["description"] = changes.description
        if changes.default_branch is not None:
            body["default_branch"] = changes.default_branch
        if changes.merge_methods is not None:
            body.update(
                allow_merge_commit="merge" in changes.merge_methods,
                allow_squash_merge="squash" in changes.merge_methods,
                allow_rebase_merge="rebase" in changes.merge_methods,
            )
        if changes.delete_branch_on_merge is not None:
            body["delete_branch_on_merge"] = changes.delete_branch_on_merge
        with self._call("repository_update", f"settings of {full_name}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "PATCH", f"/repos/{quote(full_name, safe='/')}", input=body
            )
        self._repos.pop(full_name, None)
        return info_from(data)

    def pulls_open(
        self, full_name: str, *, limit: int = 100
    ) -> list[PullRequestSnapshot]:
        """``GET /repos/{owner}/{repo}/pulls?state=open``, first page."""
        with self._call("pulls_open", f"open pull requests of {full_name}"):
            items = self._pages(
                f"/repos/{quote(full_name, safe='/')}/pulls",
                max_pages=1,
                params={"state": "open", "sort": "updated", "direction": "desc"},
            )
        return [pull_request_from(item) for item in items[:limit]]

    def issues_open(self, full_name: str, *, limit: int = 100) -> list[IssueInfo]:
        """``GET /repos/{owner}/{repo}/issues?state=open``, first page; GitHub
        lists pull requests there too (those carry ``pull_request`` URLs)."""
        with self._call("issues_open", f"open issues of {full_name}"):
            items = self._pages(
                f"/repos/{quote(full_name, safe='/')}/issues",
                max_pages=1,
                params={"state": "open", "sort": "updated", "direction": "desc"},
            )
        issues = [
            issue_from(item)
            for item in items
            if not (item.get("pull_request") or {}).get("html_url")
        ]
        return issues[:limit]

    def workflows(self, full_name: str, *, limit: int = 20) -> list[WorkflowInfo]:
        """``GET /repos/{owner}/{repo}/actions/workflows``.

        https://docs.github.com/en/rest/actions/workflows#list-repository-workflows
        """
        with self._call("workflows", f"workflows of {full_name}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET",
                f"/repos/{quote(full_name, safe='/')}/actions/workflows",
                {"per_page": limit},
            )
        items = data.get("workflows") if isinstance(data, dict) else None
        return [workflow_from(item) for item in (items or [])[:limit]]

    def label_create(
        self, full_name: str, *, name: str, color: str, description: str = ""
    ) -> LabelInfo:
        """``POST /repos/{owner}/{repo}/labels``."""
        with self._call("label_create", f"label {name} of {full_name}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "POST",
                f"/repos/{quote(full_name, safe='/')}/labels",
                input={"name": name, "color": color, "description": description},
            )
        return label_from(data, "GitHub")

    def label_update(
        self,
        full_name: str,
        name: str,
        *,
        new_name: str | None = None,
        color: str | None = None,
        description: str | None = None,
    ) -> LabelInfo:
        """``PATCH /repos/{owner}/{repo}/labels/{name}``."""
        body = {
            key: value
            for key, value in (
                ("new_name", new_name),
                ("color", color),
                ("description", description),
            )
            if value is not None
        }
        with self._call("label_update", f"label {name} of {full_name}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "PATCH", _label_url(full_name, name), input=body
            )
        return label_from(data, "GitHub")

    def label_delete(self, full_name: str, name: str) -> None:
        """``DELETE /repos/{owner}/{repo}/labels/{name}`` (204)."""
        with self._call("label_delete", f"label {name} of {full_name}"):
            self._gh.requester.requestJsonAndCheck(
                "DELETE", _label_url(full_name, name)
            )

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
        config = _hook_config(url, secret)
        subscribed = list(events or HOOK_EVENTS)
        repo = self._repo(full_name)
        with self._call("hooks", f"webhooks of {full_name}"):
            for hook in repo.get_hooks():
                if hook.config.get("url") == url:
                    hook.edit("web", config, events=subscribed, active=active)
                    return int(hook.id)
            return int(repo.create_hook("web", config, subscribed, active=active).id)

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
        """One ``PATCH`` of the hook: its events, whether it delivers, its config
        (https://docs.github.com/en/rest/repos/webhooks#update-a-repository-webhook)."""
        body = {
            "config": _hook_config(url, secret),
            "events": list(events or HOOK_EVENTS),
            "active": active,
        }
        with self._call("hook_update", f"updating webhook {hook_id}"):
            self._gh.requester.requestJsonAndCheck(
                "PATCH", f"/repos/{full_name}/hooks/{hook_id}", input=body
            )

    def ping(self) -> list[RateLimit]:
        """The token works, and what is left of each budget: ``GET /rate_limit``.

        Answering it costs no rate limit
        (https://docs.github.com/en/rest/rate-limit/rate-limit).
        """
        with self._call("ping", "rate limit"):
            _, data = self._gh.requester.requestJsonAndCheck("GET", "/rate_limit")
        resources = data.get("resources") if isinstance(data, dict) else None
        limits = []
        for name in ("core", "search", "graphql"):
            entry = (resources or {}).get(name)
            if isinstance(entry, dict) and isinstance(entry.get("limit"), int):
                reset = entry.get("reset")
                limits.append(
                    RateLimit(
                        name,
                        entry["limit"],
                        int(entry.get("remaining") or 0),
                        datetime.fromtimestamp(reset, UTC)
                        if isinstance(reset, int)
                        else None,
                    )
                )
        return limits

    def hook_state(self, full_name: str, hook_id: int) -> str:
        """ "active", "disabled" (GitHub stops delivering) or "missing".

        Conditional (ETag kept in the Django cache): an unchanged hook costs
        no rate limit, so checking it every 5 minutes is free.
        """
        try:
            with self._call("hook_state", f"webhook of {full_name}"):
                hook = self._get_cached(f"/repos/{full_name}/hooks/{hook_id}", {})
        except ProviderNotFoundError:
            return "missing"
        return "active" if hook.get("active") else "disabled"

    def hook_redeliver_failed(
        self, full_name: str, hook_id: int, *, known: set[str], limit: int = 20
    ) -> list[str]:
        """Ask GitHub to redeliver recent deliveries that failed; their GUIDs.

        GitHub does not retry a failed delivery by itself and keeps the last
        3 days (https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks).
        A GUID we stored (``known``), or one already redelivered, is left alone.
        """
        url = f"/repos/{full_name}/hooks/{hook_id}/deliveries"
        with self._call("hook_redeliver", f"deliveries of webhook {hook_id}"):
            deliveries = self._get_cached(url, {"per_page": 100})
            # Delivered fine, or already redelivered once (asked by anyone):
            # either way, not ours to ask again.
            settled = {
                item.get("guid")
                for item in deliveries
                if item.get("redelivery")
                or 200 <= int(item.get("status_code") or 0) < 300
            }
            failed = [
                item for item in deliveries if item.get("guid") not in settled | known
            ]
            asked = []
            for item in failed[:limit]:
                self._gh.requester.requestJsonAndCheck(
                    "POST", f"{url}/{item['id']}/attempts"
                )
                asked.append(item["guid"])
        return asked

    def _get_cached(
        self,
        url: str,
        query: Payload,
        *,
        kind: str = "etag",
        ttl: int | None = None,
        scope: str = "",
    ) -> Any:
        """A conditional GET whose ETag and body live in the Django cache.

        Within ``ttl`` seconds (and while no webhook event for ``scope``, the
        repository, bumped its generation) the cached body is used without a
        request; after that the request is conditional and a 304 answers from
        the cache without spending rate limit. With the cache down the request
        is simply made in full. Keys include the token's fingerprint: what a
        token may see is not shared with another.
        """
        generation = repository_generation("github", scope) if scope else 0
        key = (
            "github-read:"
            + hashlib.sha256(
                f"{self._token_key}{self._host}{url}{sorted(query.items())}".encode()
            ).hexdigest()
        )
        cached = cache_get(key, kind)
        if cached and ttl and cached[2] == generation and time.time() - cached[3] < ttl:
            return cached[1]
        headers = {"If-None-Match": cached[0]} if cached else None
        status, response_headers, data = self._get(url, query, headers)
        if status == 304 and cached:
            data = cached[1]
        etag = response_headers.get("etag") or (cached[0] if cached else "")
        if etag:
            cache_set(key, (etag, data, generation, time.time()), ETAG_TTL)
        return data

    def hook_ping(self, full_name: str, hook_id: int) -> None:
        with self._call("hook_ping", f"ping of webhook {hook_id}"):
            self._repo(full_name).get_hook(hook_id).ping()

    def hook_delete(self, full_name: str, hook_id: int) -> None:
        """One ``DELETE`` (https://docs.github.com/en/rest/repos/webhooks#delete-a-repository-webhook)."""
        with self._call("hook_delete", f"deleting webhook {hook_id}"):
            self._gh.requester.requestJsonAndCheck(
                "DELETE", f"/repos/{full_name}/hooks/{hook_id}"
            )

    def pull_requests(
        self, full_name: str, *, updated_since: datetime
    ) -> Iterator[PullRequestWithReviews]:
        """Every open PR, and closed ones updated since then, newest first.

        Each PR is read whole (``GET /pulls/N``, one call): the list endpoint
        leaves out ``merged``, additions and deletions.
        """
        repo = self._repo(full_name)
        with self._call("pull_requests", f"pull requests of {full_name}"):
            for state in ("open", "closed"):
                pulls = repo.get_pulls(state=state, sort="updated", direction="desc")
                for pull in pulls:
                    snapshot = pull_request_from(pull.raw_data)
                    stale = snapshot.updated_at and snapshot.updated_at < updated_since
                    if state == "closed" and stale:
                        break
                    yield snapshot, self._reviews(pull)

    def pull_requests_since(
        self, full_name: str, *, since: datetime, etag: str = ""
    ) -> PullListing:
        """PRs updated at or after ``since``, from the list endpoint, newest first.

        The first page is asked with ``If-None-Match``: a 304 means no pull
        request changed and costs no primary rate limit
        (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
        Pages stop at the first PR older than ``since``.
        """
        url = f"/repos/{full_name}/pulls"
        query = {"state": "all", "sort": "updated", "direction": "desc"}
        pulls: list[PullRequestSnapshot] = []
        new_etag = ""
        fresh = (
            f"pull-list-fresh:{self._token_key}:{self._host}:{full_name}:"
            f"{repository_generation('github', full_name)}"
        )
        if etag and cache_get(fresh, "pull_list"):
            # Listed less than PULL_LIST_TTL ago and no webhook event since.
            return PullListing([], etag, not_modified=True)
        with self._call("pull_requests_since", f"pull requests of {full_name}"):
            for page in range(1, 31):
                conditional = {"If-None-Match": etag} if page == 1 and etag else None
                status, headers, items = self._get(
                    url, {**query, "per_page": 100, "page": page}, conditional
                )
                if status == 304:
                    cache_set(fresh, True, PULL_LIST_TTL)
                    return PullListing([], etag, not_modified=True)
                if page == 1:
                    new_etag = headers.get("etag", "")
                for item in items:
                    snapshot = pull_request_from(item)
                    if snapshot.updated_at and snapshot.updated_at < since:
                        cache_set(fresh, True, PULL_LIST_TTL)
                        return PullListing(pulls, new_etag)
                    pulls.append(snapshot)
                if len(items) < 100:
                    break
        cache_set(fresh, True, PULL_LIST_TTL)
        return PullListing(pulls, new_etag)

    def reviews(
        self, full_name: str, snapshot: PullRequestSnapshot
    ) -> list[ReviewSnapshot]:
        """Submitted reviews of one PR (one call up to 100 reviews)."""
        url = f"/repos/{full_name}/pulls/{snapshot.number}/reviews"
        reviews: list[ReviewSnapshot] = []
        with self._call("reviews", f"reviews of {full_name}#{snapshot.number}"):
            for page in range(1, 11):
                _, _, items = self._get(url, {"per_page": 100, "page": page})
                reviews.extend(filter(None, map(_review_from_api, items)))
                if len(items) < 100:
                    break
        return reviews

    def comments(self, full_name: str, snapshot: PullRequestSnapshot) -> CommentListing:
        """Every comment on a PR now: inline review comments and conversation
        comments, all pages. Reads are conditional: a list unchanged since the
        last read answers 304 and costs no rate limit."""
        number = snapshot.number
        lists = (
            (f"/repos/{full_name}/pulls/{number}/comments", CommentKind.REVIEW_COMMENT),
            (f"/repos/{full_name}/issues/{number}/comments", CommentKind.ISSUE_COMMENT),
        )
        found: list[CommentSnapshot] = []
        complete = True
        with self._call("comments", f"comments of {full_name}#{number}"):
            for url, kind in lists:
                for page in range(1, COMMENT_PAGES + 1):
                    items = self._get_cached(
                        url, {"per_page": 100, "page": page}, kind="comments"
                    )
                    items = items if isinstance(items, list) else []
                    found += [
                        comment_from(item, kind)
                        for item in items
                        if isinstance(item, dict)
                    ]
                    if len(items) < 100:
                        break
                else:
                    complete = False
        return CommentListing(found, tuple(kind for _, kind in lists), complete)

    def rate_limit(self) -> RateLimit | None:
        """The core limit as GitHub's last answer reported it (None before any)."""
        remaining, limit = self._gh.requester.rate_limiting
        if limit < 0:
            return None
        reset = self._gh.requester.rate_limiting_resettime
        reset_at = datetime.fromtimestamp(reset, UTC) if reset else None
        return RateLimit("core", limit, remaining, reset_at)

    def _get(
        self, url: str, query: Payload, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], Any]:
        """One counted GET: (status, headers, decoded body); errors raise."""
        requester = self._gh.requester
        status, response_headers, body = requester.requestJson(
            "GET", url, query, headers
        )
        self.usage.calls += 1
        if status == 304:
            return status, response_headers, None
        self.usage.points += 1
        data = json.loads(body) if body else None
        if status >= 400:
            raise requester.createException(status, response_headers, data or {})
        return status, response_headers, data

    def file_read(self, full_name: str, path: str, ref: str) -> str | None:
        """A text file at ``ref`` (CODEOWNERS), or None when it does not exist."""
        repo = self._repo(full_name)
        try:
            with self._call("file_read", f"{path} of {full_name}"):
                content = repo.get_contents(path, ref=ref)
        except ProviderNotFoundError:
            return None
        if isinstance(content, list):  # a directory of that name
            return None
        decoded: bytes = content.decoded_content
        return decoded.decode("utf-8", "replace")

    def changed_files(self, full_name: str, number: int) -> list[str]:
        """Paths a PR changes (renames count under their new name), all pages."""
        repo = self._repo(full_name)
        with self._call("changed_files", f"files of {full_name}#{number}"):
            # GitHub lists 3,000 files at most: 30 pages.
            items = self._pages(f"{repo.url}/pulls/{number}/files", max_pages=30)
        return [item["filename"] for item in items]

    def _pages(
        self, url: str, *, max_pages: int, params: dict[str, str] | None = None
    ) -> list[Payload]:
        """Every item of a paginated list (100 per page), up to ``max_pages``."""
        items: list[Payload] = []
        for page in range(1, max_pages + 1):
            _, batch = self._gh.requester.requestJsonAndCheck(
                "GET", url, {**(params or {}), "per_page": 100, "page": page}
            )
            items.extend(batch)
            if len(batch) < 100:
                break
        return items

    def committers(self, full_name: str, number: int) -> list[str]:
        """Logins that authored or committed the PR's commits (250 at most).

        Commits made in the web UI are committed by "web-flow", GitHub's own
        account, which is nobody who could review.
        """
        repo = self._repo(full_name)
        with self._call("committers", f"commits of {full_name}#{number}"):
            items = self._pages(f"{repo.url}/pulls/{number}/commits", max_pages=3)
        logins = [
            (item.get(role) or {}).get("login")
            for item in items
            for role in ("author", "committer")
        ]
        return sorted({login for login in logins if login and login != "web-flow"})

    def reviewers_request(
        self, full_name: str, number: int, *, logins: list[str], teams: list[str]
    ) -> None:
        """POST requested_reviewers: users by login, teams by slug (one call)."""
        repo = self._repo(full_name)
        body = {
            "reviewers": logins,
            "team_reviewers": [team.rsplit("/", 1)[-1].lstrip("@") for team in teams],
        }
        with self._call("reviewers_request", f"reviewers of {full_name}#{number}"):
            self._gh.requester.requestJsonAndCheck(
                "POST", f"{repo.url}/pulls/{number}/requested_reviewers", input=body
            )

    def reviewers_remove(
        self, full_name: str, number: int, *, logins: list[str]
    ) -> None:
        """DELETE requested_reviewers for these users (reassignment)."""
        repo = self._repo(full_name)
        with self._call("reviewers_remove", f"reviewers of {full_name}#{number}"):
            self._gh.requester.requestJsonAndCheck(
                "DELETE",
                f"{repo.url}/pulls/{number}/requested_reviewers",
                input={"reviewers": logins, "team_reviewers": []},
            )

    def pull_labels_change(
        self,
        full_name: str,
        number: int,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> tuple[str, ...]:
        """``POST …/issues/{n}/labels`` adds; ``DELETE …/issues/{n}/labels/{name}``
        takes one off (404: it was not there). Both answer the labels after."""
        path = f"/repos/{quote(full_name, safe='/')}/issues/{number}/labels"
        labels: Any = None
        with self._call("pull_labels_change", f"labels of {full_name}#{number}"):
            if add:
                _, labels = self._gh.requester.requestJsonAndCheck(
                    "POST", path, input={"labels": list(add)}
                )
            for name in remove:
                try:
                    _, labels = self._gh.requester.requestJsonAndCheck(
                        "DELETE", f"{path}/{quote(name, safe='')}"
                    )
                except github.UnknownObjectException:
                    continue
        if not isinstance(labels, list):
            return ()
        return tuple(
            item["name"]
            for item in labels
            if isinstance(item, dict) and isinstance(item.get("name"), str)
        )

    def pull_line_counts(self, full_name: str, number: int) -> tuple[int, int]:
        """``additions`` and ``deletions`` of ``GET …/pulls/{n}``."""
        with self._call("pull_line_counts", f"{full_name}#{number}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", f"/repos/{quote(full_name, safe='/')}/pulls/{number}"
            )
        snapshot = pull_request_from(data)
        return snapshot.additions or 0, snapshot.deletions or 0

    def branch_head(self, full_name: str, branch: str) -> str | None:
        """``GET /repos/{o}/{r}/git/ref/heads/{branch}``."""
        try:
            with self._call("branch_head", f"branch {branch} of {full_name}"):
                _, data = self._gh.requester.requestJsonAndCheck(
                    "GET", f"{_git_path(full_name)}/ref/heads/{quote(branch)}"
                )
        except ProviderNotFoundError:
            return None
        return str(require_str(require_object(data, "object"), "sha"))

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
        """The Git data API: the parent's tree, a tree with the files on it, a
        commit, then the branch ref created or moved (five calls, one commit
        whatever the number of files)."""
        git = _git_path(full_name)
        request = self._gh.requester.requestJsonAndCheck
        with self._call("commit_files", f"commit to {branch} of {full_name}"):
            _, base = request("GET", f"{git}/commits/{parent}")
            base_tree = require_str(require_object(base, "tree"), "sha")
            tree = [
                {"path": path, "mode": "100644", "type": "blob", "content": text}
                for path, text in files.items()
            ]
            _, made = request(
                "POST", f"{git}/trees", input={"base_tree": base_tree, "tree": tree}
            )
            _, commit = request(
                "POST",
                f"{git}/commits",
                input={
                    "message": message,
                    "tree": require_str(made, "sha"),
                    "parents": [parent],
                },
            )
            sha = require_str(commit, "sha")
            if create_branch:
                request(
                    "POST",
                    f"{git}/refs",
                    input={"ref": f"refs/heads/{branch}", "sha": sha},
                )
            else:
                request(
                    "PATCH",
                    f"{git}/refs/heads/{quote(branch)}",
                    input={"sha": sha, "force": True},
                )
        return str(sha)

    def pull_create(
        self, full_name: str, *, head: str, base: str, title: str, body: str
    ) -> tuple[int, str]:
        """``POST /repos/{o}/{r}/pulls``."""
        with self._call("pull_create", f"pull request on {full_name}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "POST",
                f"/repos/{quote(full_name, safe='/')}/pulls",
                input={"title": title, "body": body, "head": head, "base": base},
            )
        snapshot = pull_request_from(data)
        return snapshot.number, snapshot.url

    def repository_create(
        self, owner: str, name: str, *, description: str
    ) -> RepositorySnapshot:
        """``POST /orgs/{org}/repos`` (``/user/repos`` for one's own account),
        private, with ``auto_init`` so the default branch exists.

        https://docs.github.com/en/rest/repos/repos#create-an-organization-repository
        """
        path = f"/orgs/{quote(owner, safe='')}/repos" if owner else "/user/repos"
        where = f"new repository {owner + '/' if owner else ''}{name}"
        body = {
            "name": name,
            "description": description,
            "private": True,
            "auto_init": True,
        }
        with self._call("repository_create", where):
            try:
                _, data = self._gh.requester.requestJsonAndCheck(
                    "POST", path, input=body
                )
            except github.GithubException as exc:
                if exc.status == 422 and _name_taken(exc.data):
                    raise ProviderConflictError(
                        f"{where}: GitHub says the name is taken"
                    ) from None
                raise
        if not isinstance(data, dict):
            raise PayloadError("GitHub's new repository answer is not an object")
        return repository_from(data, host_of(data.get("html_url")) or "github.com")

    def is_ancestor(self, full_name: str, ancestor: str, descendant: str) -> bool:
        """GitHub's push payload says ``forced`` itself: never asked."""
        raise ProviderUnsupportedError("GitHub push payloads state whether forced")

    def comment_create(self, full_name: str, number: int, body: str) -> None:
        """A conversation comment on the pull request (issue comments API)."""
        repo = self._repo(full_name)
        with self._call("comment_create", f"comment on {full_name}#{number}"):
            self._gh.requester.requestJsonAndCheck(
                "POST", f"{repo.url}/issues/{number}/comments", input={"body": body}
            )

    def comment_put(
        self, full_name: str, number: int, body: str, *, comment_id: str = ""
    ) -> str:
        """Edit an issue comment in place, or make it (deleted on GitHub: made
        again).

        https://docs.github.com/en/rest/issues/comments#update-an-issue-comment
        """
        repo = self._repo(full_name)
        if comment_id.isdigit():
            try:
                with self._call("comment_update", f"comment on {full_name}#{number}"):
                    _, data = self._gh.requester.requestJsonAndCheck(
                        "PATCH",
                        f"{repo.url}/issues/comments/{comment_id}",
                        input={"body": body},
                    )
                return _comment_id(data)
            except ProviderNotFoundError:
                pass
        with self._call("comment_create", f"comment on {full_name}#{number}"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "POST", f"{repo.url}/issues/{number}/comments", input={"body": body}
            )
        return _comment_id(data)

    def team_members(self, full_name: str, team: str) -> list[str]:
        """Logins of ``@org/team``, or of the whole organization for ``@org``
        (all pages); private membership needs read:org or members read.

        https://docs.github.com/en/rest/orgs/members#list-organization-members
        """
        org, _, slug = team.lstrip("@").partition("/")
        url = f"/orgs/{quote(org, safe='')}/members"
        if slug:
            url = f"/orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}/members"
        with self._call("team_members", f"members of {team}"):
            items = self._pages(url, max_pages=10)
        return [item["login"] for item in items]

    def users_busy(self, logins: list[str]) -> dict[str, str]:
        """Who set "Busy" (limited availability) on GitHub: login -> message.

        One GraphQL query for everyone (aliases u0, u1, ...); REST has no status.
        https://docs.github.com/en/graphql/reference/objects#userstatus
        """
        if not logins:
            return {}
        fields = " ".join(
            f"u{index}: user(login: {json.dumps(login)}) "
            "{ status { message indicatesLimitedAvailability } }"
            for index, login in enumerate(logins)
        )
        with self._call("users_busy", "user status"):
            _, data = self._gh.requester.graphql_query(f"query {{ {fields} }}", {})
        busy = {}
        for index, login in enumerate(logins):
            user = (data.get("data") or {}).get(f"u{index}") or {}
            status = user.get("status") or {}
            if status.get("indicatesLimitedAvailability") is True:
                busy[login] = text(status.get("message")) or "busy"
        return busy

    def _reviews(self, pull: Any) -> list[ReviewSnapshot]:
        raws = (review.raw_data for review in pull.get_reviews())
        return [review for review in map(_review_from_api, raws) if review]


def _review_from_api(raw: Payload) -> ReviewSnapshot | None:
    """A review as the REST API lists it; None while it is PENDING (unsubmitted)."""
    state = REVIEW_STATES.get(text(raw.get("state")).lower())
    if state is None or not raw.get("submitted_at"):
        return None
    return ReviewSnapshot(
        external_id=str(require_int(raw, "id", at="review")),
        reviewer=user_from(raw.get("user"), "review.user"),
        state=state,
        submitted_at=parse_time(raw["submitted_at"], "review.submitted_at"),
        body=text(raw.get("body")),
        commit_sha=text(raw.get("commit_id")),
    )


def _name_taken(answer: object) -> bool:
    """A 422 whose errors say the name exists (``name already exists on this
    account``), not some other validation failure."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return any(
        isinstance(item, dict) and "already exists" in str(item.get("message", ""))
        for item in errors or []
    )


def _git_path(full_name: str) -> str:
    return f"/repos/{quote(full_name, safe='/')}/git"


def _label_url(full_name: str, name: str) -> str:
    return f"/repos/{quote(full_name, safe='/')}/labels/{quote(name, safe='')}"


def _comment_id(data: Any) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise PayloadError("GitHub's comment answer has no id")
    return str(data["id"])
