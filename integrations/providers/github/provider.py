"""GitHub: the provider, its webhook verification and payload normalization.

Payload shapes: https://docs.github.com/en/webhooks/webhook-events-and-payloads
The API client is in ``client.py``, App authentication in ``app.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests
from django.conf import settings

from integrations.providers.base import (
    AppAuth,
    Capability,
    CommentKind,
    CommentSnapshot,
    EventKind,
    Headers,
    InstallationSnapshot,
    IssueSnapshot,
    NormalizedEvent,
    Payload,
    PayloadError,
    ProviderError,
    ProviderTemporaryError,
    PullRequestSnapshot,
    PullState,
    PushSnapshot,
    RepositorySnapshot,
    ReviewSnapshot,
    ReviewState,
    TokenGrant,
    host_of,
    logins,
    optional,
    parse_optional_time,
    parse_time,
    pushed_paths,
    require_int,
    require_object,
    require_str,
    text,
)
from integrations.providers.github.app import GitHubApp
from integrations.providers.github.client import HOOK_EVENTS, GitHubClient
from integrations.providers.github.shapes import (
    REVIEW_STATES,
    comment_from,
    pull_request_from,
    repository_from,
    user_from,
    user_or_none,
)
from integrations.providers.oauth import refresh_grant, revoke_request

logger = logging.getLogger(__name__)

_PR_ACTIONS = {
    "opened": EventKind.PR_OPENED,
    "reopened": EventKind.PR_REOPENED,
    "closed": EventKind.PR_CLOSED,  # PR_MERGED when pull_request.merged is true
    "synchronize": EventKind.PR_SYNCHRONIZED,
    "ready_for_review": EventKind.PR_READY,
    "converted_to_draft": EventKind.PR_CONVERTED_TO_DRAFT,
    "review_requested": EventKind.PR_REVIEW_REQUESTED,
}
# Actions that only change fields the snapshot carries (title, labels, people...).
_PR_UPDATES = [
    "edited",
    "review_request_removed",
    "assigned",
    "unassigned",
    "labeled",
    "unlabeled",
    "locked",
    "unlocked",
    "milestoned",
    "demilestoned",
    "auto_merge_enabled",
    "auto_merge_disabled",
    "enqueued",
    "dequeued",
]
_COMMENT_ACTIONS = {
    "created": EventKind.COMMENT_CREATED,
    "edited": EventKind.COMMENT_EDITED,
    "deleted": EventKind.COMMENT_DELETED,
}

_KINDS: dict[tuple[str, str], EventKind] = {
    **{("pull_request", action): kind for action, kind in _PR_ACTIONS.items()},
    **{("pull_request", action): EventKind.PR_UPDATED for action in _PR_UPDATES},
    ("pull_request_review", "submitted"): EventKind.REVIEW_SUBMITTED,
    ("pull_request_review", "edited"): EventKind.REVIEW_EDITED,
    ("pull_request_review", "dismissed"): EventKind.REVIEW_DISMISSED,
    **{("pull_request_review_comment", a): k for a, k in _COMMENT_ACTIONS.items()},
    **{("issue_comment", a): k for a, k in _COMMENT_ACTIONS.items()},
    ("pull_request_review_thread", "resolved"): EventKind.THREAD_RESOLVED,
    ("pull_request_review_thread", "unresolved"): EventKind.THREAD_UNRESOLVED,
    ("push", ""): EventKind.PUSH,
    ("ping", ""): EventKind.PING,
    **{
        ("installation", action): EventKind.INSTALLATION
        for action in (
            ["created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"]
        )
    },
    ("installation_repositories", "added"): EventKind.INSTALLATION,
    ("installation_repositories", "removed"): EventKind.INSTALLATION,
    **{
        ("issues", action): EventKind.ISSUE
        for action in (
            "opened",
            "edited",
            "closed",
            "reopened",
            "labeled",
            "unlabeled",
            "deleted",
            "transferred",
        )
    },
}
# Events whose payload has no ``action`` (or one we do not key on).
_ACTIONLESS = {"push", "ping"}
# Events (or, for ``issues``, the other actions: assignees, milestones, pins)
# GitHub sends a hook subscribed to "everything" that we store but skip.
IGNORED = {"check_run", "check_suite", "status", "create", "delete", "issues", "star"}


class GitHubProvider:
    """github.com and GitHub Enterprise Server."""

    slug = "github"
    name = "GitHub"
    capabilities: frozenset[Capability] = frozenset(
        Capability
    )  # every capability we know of
    # A hook may be set to send its JSON as the form field ``payload``.
    webhook_content_types: tuple[str, ...] = (
        "application/json",
        "application/x-www-form-urlencoded",
    )
    hook_permission = (
        "admin access to the repository (classic token scope admin:repo_hook, "
        "or fine-grained 'Webhooks: read and write')"
    )
    hook_events: tuple[str, ...] = HOOK_EVENTS
    codeowners_dialect = "github"

    def __init__(self) -> None:
        self.app: AppAuth | None = GitHubApp()

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def api_url(self) -> str:
        return str(settings.GITHUB_API_URL)

    def web_url(self) -> str:
        return str(settings.GITHUB_WEB_URL)

    def webhook_secret(self) -> str:
        return str(settings.GITHUB_WEBHOOK_SECRET or "")

    def account_login(self, account_data: Mapping[str, Any]) -> str:
        """The login in allauth's copy of ``GET /user``."""
        return text(account_data.get("login"))

    def is_team_reference(self, owner: str) -> bool:
        """A team is ``@org/team``; a bare ``@name`` is a person."""
        return owner.startswith("@") and not owner.startswith("@@") and "/" in owner

    def repository_namespace(self, source_path: str) -> str:
        """A team ("acme/web") has no repositories of its own: its organization."""
        return source_path.split("/", 1)[0]

    def token_refresh(
        self, *, refresh_token: str, client_id: str, client_secret: str
    ) -> TokenGrant:
        """GitHub App user tokens expire after 8 hours; refresh tokens after 6
        months. https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens"""
        return refresh_grant(
            provider=self.slug,
            url=f"{settings.GITHUB_WEB_URL}/login/oauth/access_token",
            form={
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": refresh_token,
            },
        )

    def grant_revoke(self, *, token: str, client_id: str, client_secret: str) -> None:
        """Deletes the whole grant (every token of our app for that person):
        https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization"""
        revoke_request(
            provider=self.slug,
            method="DELETE",
            url=f"{self.api_url().rstrip('/')}/applications/{client_id}/grant",
            auth=(client_id, client_secret),
            json={"access_token": token},
            headers={"Accept": "application/vnd.github+json"},
        )

    def hook_source_ranges(self) -> tuple[str, ...]:
        """``hooks`` of ``GET /meta`` (no token needed; GitHub Enterprise Server
        answers for itself): https://docs.github.com/en/rest/meta/meta"""
        url = f"{self.api_url().rstrip('/')}/meta"
        try:
            response = requests.get(
                url, headers={"Accept": "application/vnd.github+json"}, timeout=5
            )
        except requests.RequestException as exc:
            raise ProviderTemporaryError(
                f"reading GitHub's hook addresses: {exc.__class__.__name__}"
            ) from None
        if response.status_code != 200:
            raise ProviderTemporaryError(
                f"reading GitHub's hook addresses: HTTP {response.status_code}"
            )
        try:
            ranges = response.json().get("hooks")
        except (ValueError, AttributeError):
            ranges = None
        if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
            raise ProviderError("GitHub's meta answer has no list of hook addresses")
        return tuple(ranges)

    def verify(self, headers: Headers, body: bytes, secret: str) -> bool:
        """HMAC-SHA256 of the raw body vs ``X-Hub-Signature-256``, constant time."""
        given = headers.get("X-Hub-Signature-256", "")
        if not secret or not given:
            return False
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        expected = f"sha256={digest}".encode()
        return hmac.compare_digest(expected, given.strip().encode("utf-8", "replace"))

    def event_name(self, headers: Headers) -> str:
        return headers.get("X-GitHub-Event", "").strip()

    def delivery_id(self, headers: Headers, body: bytes) -> str:
        return headers.get("X-GitHub-Delivery", "").strip()

    def summarize(self, event: str, payload: Payload) -> tuple[str, str]:
        """(action, repository full name) for the delivery's columns."""
        action = "" if event in _ACTIONLESS else text(payload.get("action"))
        return action, text(optional(payload, "repository", "full_name"))

    def is_handled(self, event: str, action: str) -> bool:
        return (event, "" if event in _ACTIONLESS else action) in _KINDS

    def configured_urls(self) -> tuple[str, ...]:
        """The API and web bases from configuration (hosts we link to and call)."""
        return (self.api_url(), self.web_url())

    def client(self, token: str, base_url: str | None = None) -> GitHubClient:
        """An API client for one token (``GITHUB_API_URL`` unless ``base_url``)."""
        return GitHubClient(
            token,
            base_url or settings.GITHUB_API_URL,
            throttle=settings.GITHUB_SECONDS_BETWEEN_REQUESTS,
        )

    def parse(self, event: str, payload: Payload) -> NormalizedEvent | None:
        """Pure: payload -> NormalizedEvent, or None for what we do not act on."""
        action = "" if event in _ACTIONLESS else text(payload.get("action"))
        kind = _KINDS.get((event, action))
        if kind is None:
            if event not in IGNORED:
                logger.info(
                    "integrations.github.unhandled_event",
                    extra={"event": event, "action": action},
                )
            return None
        parser = _PARSERS[event]
        return parser(kind, payload)


def _repository(payload: Payload) -> RepositorySnapshot:
    repo = require_object(payload, "repository")
    return repository_from(repo, host_of(repo.get("html_url")) or "github.com")


def _event(
    kind: EventKind, payload: Payload, occurred_at: datetime, **parts: Any
) -> NormalizedEvent:
    return NormalizedEvent(
        kind=kind,
        provider="github",
        occurred_at=occurred_at,
        actor=user_or_none(payload.get("sender")),
        repository=_repository(payload),
        **parts,
    )


def _parse_pull_request(kind: EventKind, payload: Payload) -> NormalizedEvent:
    pr = pull_request_from(require_object(payload, "pull_request"))
    if kind is EventKind.PR_CLOSED and pr.state is PullState.MERGED:
        kind = EventKind.PR_MERGED
    return _event(kind, payload, pr.updated_at or _now(), pull_request=pr)


def _parse_review(kind: EventKind, payload: Payload) -> NormalizedEvent:
    pr = pull_request_from(require_object(payload, "pull_request"))
    review = require_object(payload, "review")
    state_text = require_str(review, "state", at="review").lower()
    state = REVIEW_STATES.get(state_text)
    if state is None:
        raise PayloadError(f"review.state {state_text!r} is not a submitted state")
    if kind is EventKind.REVIEW_DISMISSED:
        state = ReviewState.DISMISSED
    submitted = parse_time(review.get("submitted_at"), "review.submitted_at")
    snapshot = ReviewSnapshot(
        external_id=str(require_int(review, "id", at="review")),
        reviewer=user_from(review.get("user"), "review.user"),
        state=state,
        submitted_at=submitted,
        body=text(review.get("body")),
        commit_sha=text(review.get("commit_id")),
    )
    occurred = pr.updated_at or submitted
    return _event(kind, payload, occurred, pull_request=pr, review=snapshot)


def _parse_review_comment(kind: EventKind, payload: Payload) -> NormalizedEvent:
    pr = pull_request_from(require_object(payload, "pull_request"))
    comment = _comment(payload, kind, CommentKind.REVIEW_COMMENT)
    return _event(kind, payload, comment.updated_at, pull_request=pr, comment=comment)


def _parse_issue_comment(kind: EventKind, payload: Payload) -> NormalizedEvent | None:
    issue = require_object(payload, "issue")
    if not isinstance(issue.get("pull_request"), dict):
        return None  # a comment on a plain issue, not on a pull request
    state = PullState.OPEN if issue.get("state") == "open" else PullState.CLOSED
    merged_at = optional(issue, "pull_request", "merged_at")
    if merged_at:
        state = PullState.MERGED
    # An issue is only a summary of the PR: no head, no version (updated_at=None),
    # so it fills a missing row but never overwrites a pull_request snapshot.
    pr = PullRequestSnapshot(
        number=require_int(issue, "number", at="issue"),
        title=text(issue.get("title")),
        state=state,
        url=text(optional(issue, "pull_request", "html_url")),
        author=user_from(issue.get("user"), "issue.user"),
        draft=issue.get("draft") if isinstance(issue.get("draft"), bool) else None,
        created_at=parse_optional_time(issue.get("created_at"), "issue.created_at"),
        merged_at=parse_optional_time(merged_at, "issue.pull_request.merged_at"),
        closed_at=parse_optional_time(issue.get("closed_at"), "issue.closed_at"),
    )
    comment = _comment(payload, kind, CommentKind.ISSUE_COMMENT)
    return _event(kind, payload, comment.updated_at, pull_request=pr, comment=comment)


def _comment(
    payload: Payload, kind: EventKind, comment_kind: CommentKind
) -> CommentSnapshot:
    return comment_from(
        require_object(payload, "comment"),
        comment_kind,
        is_deleted=kind is EventKind.COMMENT_DELETED,
    )


def _parse_thread(kind: EventKind, payload: Payload) -> NormalizedEvent:
    pr = pull_request_from(require_object(payload, "pull_request"))
    comments = optional(payload, "thread", "comments") or []
    ids = tuple(
        str(item["id"])
        for item in comments
        if isinstance(item, dict) and isinstance(item.get("id"), int)
    )
    occurred = pr.updated_at or _now()
    return _event(kind, payload, occurred, pull_request=pr, thread_comment_ids=ids)


def _parse_push(kind: EventKind, payload: Payload) -> NormalizedEvent:
    occurred = parse_optional_time(optional(payload, "head_commit", "timestamp"))
    forced = payload.get("forced") is True
    push = PushSnapshot(
        ref=require_str(payload, "ref"),
        before=text(payload.get("before")),
        after=text(payload.get("after")),
        is_forced=forced,
        # A webhook lists up to 2,048 commits; a forced push rewrote history,
        # so its commits do not say what changed against before.
        paths=pushed_paths(
            payload.get("commits"),
            complete=not forced
            and isinstance(payload.get("commits"), list)
            and len(payload["commits"]) < 2048,
        ),
    )
    return _event(kind, payload, occurred or _now(), push=push)


def _parse_ping(kind: EventKind, payload: Payload) -> NormalizedEvent:
    repo = payload.get("repository")
    repository = _repository(payload) if isinstance(repo, dict) else None
    return NormalizedEvent(
        kind=kind,
        provider="github",
        occurred_at=_now(),
        actor=user_or_none(payload.get("sender")),
        repository=repository,
    )


def _parse_installation(kind: EventKind, payload: Payload) -> NormalizedEvent:
    installation = require_object(payload, "installation")
    account = installation.get("account") if isinstance(installation, dict) else None
    host = (
        host_of(optional(installation, "html_url"))
        or host_of(optional(account, "html_url"))
        or host_of(optional(payload, "sender", "html_url"))
        or "github.com"
    )
    action = require_str(payload, "action")
    if "repositories_added" in payload or "repositories_removed" in payload:
        added = _installation_repos(payload.get("repositories_added"), host)
        removed = _installation_repos(payload.get("repositories_removed"), host)
        replaces_all = False
    else:
        added = _installation_repos(payload.get("repositories"), host)
        removed = ()
        replaces_all = action == "created"
    snapshot = InstallationSnapshot(
        installation_id=require_int(installation, "id", at="installation"),
        account_login=text(optional(account, "login")),
        action=action,
        added=added if action != "deleted" else (),
        removed=removed,
        replaces_all=replaces_all,
    )
    return NormalizedEvent(
        kind=kind,
        provider="github",
        occurred_at=_now(),
        actor=user_or_none(payload.get("sender")),
        installation=snapshot,
    )


def _installation_repos(items: object, host: str) -> tuple[RepositorySnapshot, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        repository_from(item, host) for item in items if isinstance(item, dict)
    )


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def _parse_issue(kind: EventKind, payload: Payload) -> NormalizedEvent:
    """An issue's state; deleted or transferred away, it is gone from here."""
    issue = require_object(payload, "issue")
    action = text(payload.get("action"))
    updated = parse_time(issue.get("updated_at"), "issue.updated_at")
    snapshot = IssueSnapshot(
        number=require_int(issue, "number", at="issue"),
        title=text(issue.get("title")),
        state="closed" if text(issue.get("state")) == "closed" else "open",
        url=text(issue.get("html_url")),
        updated_at=updated,
        author=user_or_none(issue.get("user")),
        labels=logins(issue.get("labels"), "name")
        if isinstance(issue.get("labels"), list)
        else (),
        created_at=parse_optional_time(issue.get("created_at"), "issue.created_at"),
        closed_at=parse_optional_time(issue.get("closed_at"), "issue.closed_at"),
        is_deleted=action in ("deleted", "transferred"),
    )
    return _event(kind, payload, updated, issue=snapshot)


_PARSERS = {
    "pull_request": _parse_pull_request,
    "pull_request_review": _parse_review,
    "pull_request_review_comment": _parse_review_comment,
    "pull_request_review_thread": _parse_thread,
    "issue_comment": _parse_issue_comment,
    "push": _parse_push,
    "ping": _parse_ping,
    "installation": _parse_installation,
    "installation_repositories": _parse_installation,
    "issues": _parse_issue,
}
