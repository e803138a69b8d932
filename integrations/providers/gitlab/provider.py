"""GitLab (gitlab.com and self-managed): webhook verification and normalization.

Payload shapes: https://docs.gitlab.com/user/project/integrations/webhook_events/
The API client is in ``client.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.providers.base import (
    AppAuth,
    Capability,
    CommentKind,
    CommentSnapshot,
    EventKind,
    Headers,
    IssueSnapshot,
    NormalizedEvent,
    Payload,
    PayloadError,
    ProviderUnsupportedError,
    PullRequestSnapshot,
    PullState,
    PushSnapshot,
    RepositorySnapshot,
    ReviewSnapshot,
    ReviewState,
    TokenGrant,
    UserRef,
    closing_references,
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
from integrations.providers.gitlab.client import HOOK_EVENTS, GitLabClient
from integrations.providers.gitlab.shapes import (
    MERGE_REQUEST_STATES,
    diff_position,
    merged_commit,
    user_ref,
)
from integrations.providers.oauth import refresh_grant, revoke_request

logger = logging.getLogger(__name__)

MERGE_REQUEST_HOOK = "Merge Request Hook"
NOTE_HOOK = "Note Hook"
PUSH_HOOK = "Push Hook"
ISSUE_HOOK = "Issue Hook"

# ``object_attributes.action`` of a Merge Request Hook.
_MR_ACTIONS = {
    "open": EventKind.PR_OPENED,
    "reopen": EventKind.PR_REOPENED,
    "close": EventKind.PR_CLOSED,
    "merge": EventKind.PR_MERGED,
    "update": EventKind.PR_UPDATED,  # refined by _update_kind()
    "approved": EventKind.REVIEW_SUBMITTED,
    "approval": EventKind.REVIEW_SUBMITTED,
    "unapproved": EventKind.REVIEW_DISMISSED,
    "unapproval": EventKind.REVIEW_DISMISSED,
    "": EventKind.PR_UPDATED,  # very old payloads carry no action
}
_NOTE_ACTIONS = {
    "create": EventKind.COMMENT_CREATED,
    "update": EventKind.COMMENT_EDITED,
    "": EventKind.COMMENT_CREATED,  # before GitLab 15.x notes had no action
}
_HANDLED = {
    MERGE_REQUEST_HOOK: _MR_ACTIONS,
    NOTE_HOOK: _NOTE_ACTIONS,
    PUSH_HOOK: {"": EventKind.PUSH},
    ISSUE_HOOK: dict.fromkeys(("open", "close", "reopen", "update"), EventKind.ISSUE),
}
IGNORED = {"Tag Push Hook", "Pipeline Hook", "Job Hook", "Wiki Page Hook"}
SIGNATURE_TOLERANCE_SECONDS = 300


class GitLabProvider:
    """gitlab.com and self-managed GitLab (``GITLAB_URL``)."""

    slug = "gitlab"
    name = "GitLab"
    # GitLab keeps no list of failed deliveries to ask for again (it retries by
    # itself) and has no App installations.
    capabilities: frozenset[Capability] = frozenset(
        {Capability.HOOK_PING, Capability.BUSY_STATUS, Capability.TEAM_MEMBERS}
    )
    webhook_content_types: tuple[str, ...] = ("application/json",)
    hook_permission = "the Maintainer role on the project (token scope api)"
    hook_events: tuple[str, ...] = HOOK_EVENTS
    codeowners_dialect = "gitlab"
    app: AppAuth | None = None

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def api_url(self) -> str:
        """The GitLab base; the client adds ``/api/v4`` itself."""
        return str(settings.GITLAB_URL)

    def web_url(self) -> str:
        return str(settings.GITLAB_URL)

    def webhook_secret(self) -> str:
        return str(settings.GITLAB_WEBHOOK_SECRET or "")

    def account_login(self, account_data: Mapping[str, Any]) -> str:
        """The username in allauth's copy of ``GET /api/v4/user``."""
        return text(account_data.get("username"))

    def is_team_reference(self, owner: str) -> bool:
        """Any ``@path`` may be a group (or a person; the API tells which)."""
        return owner.startswith("@") and not owner.startswith("@@")

    def repository_namespace(self, source_path: str) -> str:
        """A group, subgroups included, holds projects itself."""
        return source_path

    def token_refresh(
        self, *, refresh_token: str, client_id: str, client_secret: str
    ) -> TokenGrant:
        """GitLab access tokens live two hours; the refresh must name the same
        redirect URI as the grant. https://docs.gitlab.com/api/oauth2/"""
        callback = f"{settings.PUBLIC_URL}/accounts/gitlab/login/callback/"
        return refresh_grant(
            provider=self.slug,
            url=f"{settings.GITLAB_URL}/oauth/token",
            form={
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": refresh_token,
                "redirect_uri": callback,
            },
        )

    def grant_revoke(self, *, token: str, client_id: str, client_secret: str) -> None:
        """RFC 7009 revocation of the access token (its refresh token goes with
        it): https://docs.gitlab.com/api/oauth2/#revoke-a-token"""
        revoke_request(
            provider=self.slug,
            method="POST",
            url=f"{str(settings.GITLAB_URL).rstrip('/')}/oauth/revoke",
            data={
                "client_id": client_id,
                "client_secret": client_secret,
                "token": token,
            },
        )

    def hook_source_ranges(self) -> tuple[str, ...]:
        """GitLab publishes no such list through its API (self-managed hooks
        come from wherever the instance runs): configure the addresses."""
        raise ProviderUnsupportedError("GitLab publishes no hook addresses")

    def verify(
        self,
        headers: Headers,
        body: bytes,
        secret: str,
        *,
        signing_secret: str = "",
        now: float | None = None,
    ) -> bool:
        """``X-Gitlab-Token`` in constant time; Standard Webhooks signature if sent."""
        token = headers.get("X-Gitlab-Token", "")
        if not secret or not token:
            return False
        if not hmac.compare_digest(secret.encode(), token.encode("utf-8", "replace")):
            return False
        if "webhook-signature" not in _lower(headers):
            return True
        return verify_signature(
            headers, body, signing_secret or secret, now=now or time.time()
        )

    def event_name(self, headers: Headers) -> str:
        return headers.get("X-Gitlab-Event", "").strip()

    def configured_urls(self) -> tuple[str, ...]:
        """The GitLab base from configuration (the host we link to and call)."""
        return (self.api_url(),)

    def client(self, token: str, base_url: str | None = None) -> GitLabClient:
        """An API client for one token (``GITLAB_URL`` unless ``base_url``)."""
        return GitLabClient(token, base_url or self.api_url())

    def delivery_id(self, headers: Headers, body: bytes) -> str:
        """``Idempotency-Key`` (kept across retries), else event UUID, else a hash."""
        for name in ("Idempotency-Key", "X-Gitlab-Event-UUID"):
            value = headers.get(name, "").strip()
            if value:
                return value
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def summarize(self, event: str, payload: Payload) -> tuple[str, str]:
        action = text(optional(payload, "object_attributes", "action"))
        return action, text(optional(payload, "project", "path_with_namespace"))

    def is_handled(self, event: str, action: str) -> bool:
        actions = _HANDLED.get(event)
        if actions is None:
            return False
        return action in actions or event == PUSH_HOOK

    def parse(self, event: str, payload: Payload) -> NormalizedEvent | None:
        """Pure: payload -> NormalizedEvent, or None for what we do not act on."""
        action = text(optional(payload, "object_attributes", "action"))
        if event == PUSH_HOOK:
            return _parse_push(payload)
        kind = _HANDLED.get(event, {}).get(action)
        if kind is None:
            if event not in IGNORED:
                logger.info(
                    "integrations.gitlab.unhandled_event",
                    extra={"event": event, "action": action},
                )
            return None
        if event == NOTE_HOOK:
            return _parse_note(kind, payload)
        if event == ISSUE_HOOK:
            return _parse_issue(kind, payload)
        return _parse_merge_request(kind, action, payload)


def verify_signature(headers: Headers, body: bytes, secret: str, *, now: float) -> bool:
    """Standard Webhooks: base64 HMAC-SHA256 of ``id.timestamp.body``.

    https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
    """
    lowered = _lower(headers)
    message_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    # Seconds since the epoch: plain ASCII digits, a sane length (int() would
    # take other scripts' digits, and a 400-digit value overflows a float).
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    sent_at = int(timestamp)
    if not message_id or abs(now - sent_at) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    key = secret.encode()
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret[len("whsec_") :])
        except binascii.Error:
            return False
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    found = False
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value.encode()):
            found = True
    return found


def _lower(headers: Headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _user(payload: Payload) -> UserRef:
    user = require_object(payload, "user")
    username = require_str(user, "username", at="user")
    return user_ref(username, user.get("id"), bot=bool(user.get("bot")))


def _repository(payload: Payload) -> RepositorySnapshot:
    project = require_object(payload, "project")
    web_url = text(project.get("web_url"))
    external_id = project.get("id")
    if not isinstance(external_id, int):
        external_id = payload.get("project_id")
    return RepositorySnapshot(
        provider="gitlab",
        host=host_of(web_url) or "gitlab.com",
        external_id=external_id if isinstance(external_id, int) else None,
        full_name=require_str(project, "path_with_namespace", at="project"),
        default_branch=text(project.get("default_branch")) or None,
        web_url=web_url,
        is_private=_visibility(project),
    )


def _visibility(project: Payload) -> bool | None:
    level = project.get("visibility_level")
    return level == 0 if isinstance(level, int) else None


def _merge_request(
    attributes: Payload,
    payload: Payload,
    *,
    with_people: bool,
    is_open_action: bool,
    at: str = "object_attributes",
) -> PullRequestSnapshot:
    """One MR from ``object_attributes`` (MR hook) or ``merge_request`` (note hook)."""
    state_text = require_str(attributes, "state", at=at)
    state = MERGE_REQUEST_STATES.get(state_text)
    if state is None:
        raise PayloadError(f"merge request state {state_text!r} is unknown")
    actor = _user(payload)
    author_id = attributes.get("author_id")
    # Hooks name the author only by id: the acting user is the author when the ids
    # match, or when the action is "open" (older payloads carry no user id).
    same_id = author_id is not None and str(author_id) == actor.external_id
    author = actor if same_id or is_open_action else None
    draft = attributes.get("draft")
    if not isinstance(draft, bool):
        draft = attributes.get("work_in_progress")
    updated_at = parse_time(attributes.get("updated_at"), "merge_request.updated_at")
    return PullRequestSnapshot(
        number=require_int(attributes, "iid", at=at),
        external_id=attributes.get("id")
        if isinstance(attributes.get("id"), int)
        else None,
        title=text(attributes.get("title")),
        state=state,
        url=text(attributes.get("url")),
        author=author,
        author_external_id=str(author_id) if author_id is not None else "",
        draft=draft if isinstance(draft, bool) else None,
        head_sha=text(optional(attributes, "last_commit", "id")) or None,
        head_ref=text(attributes.get("source_branch")) or None,
        base_ref=text(attributes.get("target_branch")) or None,
        # GitLab leaves out `reviewers`/`assignees` when the list is empty.
        requested_reviewers=logins(payload.get("reviewers"), "username")
        if with_people
        else None,
        assignees=logins(payload.get("assignees"), "username") if with_people else None,
        labels=logins(payload.get("labels"), "title") if with_people else None,
        created_at=parse_optional_time(attributes.get("created_at"), "created_at"),
        updated_at=updated_at,
        merged_at=parse_optional_time(attributes.get("merged_at"), "merged_at")
        or (updated_at if state is PullState.MERGED else None),
        closed_at=parse_optional_time(attributes.get("closed_at"), "closed_at")
        or (updated_at if state is not PullState.OPEN else None),
        merge_commit_sha=merged_commit(attributes, state),
        closes=closing_references(attributes.get("description")),
    )


def _update_kind(payload: Payload) -> EventKind:
    """What an ``update`` did: new commits, draft toggles, reviewer changes."""
    attributes = optional(payload, "object_attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    changes = optional(payload, "changes")
    changes = changes if isinstance(changes, dict) else {}
    if attributes.get("oldrev"):
        return EventKind.PR_SYNCHRONIZED
    for key in ("draft", "work_in_progress"):
        change = changes.get(key)
        if isinstance(change, dict) and "current" in change:
            return (
                EventKind.PR_CONVERTED_TO_DRAFT
                if change["current"]
                else EventKind.PR_READY
            )
    if "reviewers" in changes:
        return EventKind.PR_REVIEW_REQUESTED
    return EventKind.PR_UPDATED


def _parse_merge_request(
    kind: EventKind, action: str, payload: Payload
) -> NormalizedEvent:
    attributes = require_object(payload, "object_attributes")
    pr = _merge_request(
        attributes, payload, with_people=True, is_open_action=action == "open"
    )
    if action == "update":
        kind = _update_kind(payload)
    if action == "merge":
        pr = _with_merged_by(pr, _user(payload).login)
    moment = pr.updated_at or _now()
    review = None
    if kind in (EventKind.REVIEW_SUBMITTED, EventKind.REVIEW_DISMISSED):
        # An approval is a review: one per approver and MR, toggled by unapproval.
        approver = _user(payload)
        review = ReviewSnapshot(
            external_id=f"approval:{approver.external_id or approver.login}",
            reviewer=approver,
            state=ReviewState.APPROVED
            if kind is EventKind.REVIEW_SUBMITTED
            else ReviewState.DISMISSED,
            submitted_at=moment,
            commit_sha=pr.head_sha or "",
        )
    return NormalizedEvent(
        kind=kind,
        provider="gitlab",
        occurred_at=moment,
        actor=_user(payload),
        repository=_repository(payload),
        pull_request=pr,
        review=review,
    )


def _with_merged_by(pr: PullRequestSnapshot, login: str) -> PullRequestSnapshot:
    return replace(pr, merged_by=login)


def _parse_note(kind: EventKind, payload: Payload) -> NormalizedEvent | None:
    attributes = require_object(payload, "object_attributes")
    if attributes.get("noteable_type") != "MergeRequest" or attributes.get("system"):
        return None
    pr = _merge_request(
        require_object(payload, "merge_request"),
        payload,
        with_people=False,
        is_open_action=False,
        at="merge_request",
    )
    created = parse_time(attributes.get("created_at"), "object_attributes.created_at")
    path, line = diff_position(attributes)
    comment = CommentSnapshot(
        external_id=str(require_int(attributes, "id", at="object_attributes")),
        kind=CommentKind.NOTE,
        author=_user(payload),
        body=text(attributes.get("note")),
        created_at=created,
        updated_at=parse_optional_time(attributes.get("updated_at")) or created,
        path=path,
        line=line,
    )
    return NormalizedEvent(
        kind=kind,
        provider="gitlab",
        occurred_at=comment.updated_at,
        actor=comment.author,
        repository=_repository(payload),
        pull_request=pr,
        comment=comment,
    )


def _parse_issue(kind: EventKind, payload: Payload) -> NormalizedEvent | None:
    """An issue (``object_kind`` issue; other work items are not kept)."""
    if text(payload.get("object_kind")) != "issue":
        return None
    attributes = require_object(payload, "object_attributes")
    updated = parse_time(attributes.get("updated_at"), "issue.updated_at")
    actor = _user(payload)
    author_id = attributes.get("author_id")
    labels = payload.get("labels")
    snapshot = IssueSnapshot(
        number=require_int(attributes, "iid", at="object_attributes"),
        title=text(attributes.get("title")),
        state="closed" if text(attributes.get("state")) == "closed" else "open",
        url=text(attributes.get("url")),
        updated_at=updated,
        author=actor
        if author_id is not None and str(author_id) == actor.external_id
        else None,
        labels=logins(labels, "title") if isinstance(labels, list) else (),
        created_at=parse_optional_time(attributes.get("created_at"), "created_at"),
        closed_at=parse_optional_time(attributes.get("closed_at"), "closed_at"),
    )
    return NormalizedEvent(
        kind=kind,
        provider="gitlab",
        occurred_at=updated,
        actor=actor,
        repository=_repository(payload),
        issue=snapshot,
    )


def _parse_push(payload: Payload) -> NormalizedEvent:
    commits = optional(payload, "commits")
    commits = commits if isinstance(commits, list) else []
    stamps = [
        parse_optional_time(item.get("timestamp"))
        for item in commits
        if isinstance(item, dict)
    ]
    occurred = max((stamp for stamp in stamps if stamp), default=None)
    username = text(payload.get("user_username"))
    return NormalizedEvent(
        kind=EventKind.PUSH,
        provider="gitlab",
        occurred_at=occurred or _now(),
        actor=user_ref(username, payload.get("user_id")) if username else None,
        repository=_repository(payload),
        push=PushSnapshot(
            ref=require_str(payload, "ref"),
            before=text(payload.get("before")),
            after=text(payload.get("after")),
            is_forced=None,  # GitLab does not say; see Provider.is_ancestor
            # GitLab lists at most 20 commits of a push.
            paths=pushed_paths(
                commits,
                complete=payload.get("total_commits_count") == len(commits),
            ),
        ),
    )


def _now() -> datetime:
    return timezone.now()
