"""The one contract the rest of the code knows about code hosts.

Adapters (``github.py``, ``gitlab.py``) turn a provider's payloads into the plain
dataclasses below. Nothing outside ``integrations/providers`` reads a raw payload.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

Headers = Mapping[str, str]
Payload = dict[str, Any]


class ProviderError(Exception):
    """A provider answered in a way we cannot use."""


class ProviderNotFoundError(ProviderError):
    """404: the thing does not exist, or the token may not see it."""


class ProviderAuthError(ProviderError):
    """Credentials were refused (401/403 bad credentials)."""


class ProviderConflictError(ProviderError):
    """The thing to create exists already (a repository name that is taken)."""


class ProviderTemporaryError(ProviderError):
    """Worth retrying later: 5xx, timeouts, secondary rate limits."""


class ProviderUnsupportedError(ProviderError):
    """The provider has no such operation (its capabilities say so)."""


class CircuitOpenError(ProviderTemporaryError):
    """The provider failed repeatedly; calls are paused for a while."""


class PayloadError(ValueError):
    """A webhook payload lacks a field we need or has one of the wrong type."""


class EventKind(StrEnum):
    PR_OPENED = "pr_opened"
    PR_UPDATED = "pr_updated"
    PR_READY = "pr_ready"
    PR_CONVERTED_TO_DRAFT = "pr_converted_to_draft"
    PR_SYNCHRONIZED = "pr_synchronized"
    PR_REVIEW_REQUESTED = "pr_review_requested"
    PR_CLOSED = "pr_closed"
    PR_MERGED = "pr_merged"
    PR_REOPENED = "pr_reopened"
    REVIEW_SUBMITTED = "review_submitted"
    REVIEW_EDITED = "review_edited"
    REVIEW_DISMISSED = "review_dismissed"
    COMMENT_CREATED = "comment_created"
    COMMENT_EDITED = "comment_edited"
    COMMENT_DELETED = "comment_deleted"
    THREAD_RESOLVED = "thread_resolved"
    THREAD_UNRESOLVED = "thread_unresolved"
    PUSH = "push"
    PING = "ping"
    INSTALLATION = "installation"
    ISSUE = "issue"  # opened, edited, closed, reopened, relabelled, deleted


class PullState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class ReviewState(StrEnum):
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    DISMISSED = "dismissed"


class CommentKind(StrEnum):
    REVIEW_COMMENT = "review_comment"  # GitHub inline diff comment
    ISSUE_COMMENT = "issue_comment"  # GitHub conversation comment on a PR
    NOTE = "note"  # GitLab note on a merge request


@dataclass(frozen=True, slots=True)
class UserRef:
    login: str
    external_id: str = ""
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class RepositorySnapshot:
    provider: str
    host: str
    external_id: int | None
    full_name: str
    default_branch: str | None = None
    web_url: str = ""
    is_private: bool | None = None


@dataclass(frozen=True, slots=True)
class PullRequestSnapshot:
    """The provider's state of one PR/MR at ``updated_at``.

    ``None`` means "this payload does not say"; apply leaves such fields alone.
    ``updated_at`` is the version guard: an older snapshot never overwrites a
    newer one. A snapshot with ``updated_at=None`` only fills a missing row.
    """

    number: int
    title: str
    state: PullState
    url: str
    external_id: int | None = None
    author: UserRef | None = None
    author_external_id: str = ""
    draft: bool | None = None
    head_sha: str | None = None
    head_ref: str | None = None
    base_ref: str | None = None
    requested_reviewers: tuple[str, ...] | None = None
    requested_teams: tuple[str, ...] | None = None
    assignees: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    merged_by: str | None = None
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None
    # The commit the merge put on the base branch (merged only; a squash's
    # commit when there is no merge commit).
    merge_commit_sha: str | None = None
    # Issues of the same repository the description closes ("fixes #12").
    closes: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class IssueSnapshot:
    """An issue (not a pull request) as the provider states it at ``updated_at``."""

    number: int
    title: str
    state: str  # "open" | "closed"
    url: str
    updated_at: datetime
    author: UserRef | None = None
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None
    closed_at: datetime | None = None
    is_deleted: bool = False


# GitHub's and GitLab's closing keywords, then "#<number>" of the same
# repository: "Fixes #12", "closes: #3", "Resolving #7", "Implements #9".
_CLOSING = re.compile(
    r"\b(?:clos(?:e|es|ed|ing)|fix(?:|es|ed|ing)|resolv(?:e|es|ed|ing)"
    r"|implement(?:|s|ed|ing))\b:?\s+#(\d{1,9})\b",
    re.IGNORECASE,
)


def closing_references(description: object) -> tuple[int, ...] | None:
    """The issue numbers a pull request's description closes, in order, once
    each; None when the payload carries no description."""
    if not isinstance(description, str):
        return None
    numbers = (int(match) for match in _CLOSING.findall(description[:65536]))
    return tuple(dict.fromkeys(number for number in numbers if number > 0))


@dataclass(frozen=True, slots=True)
class ReviewSnapshot:
    external_id: str
    reviewer: UserRef
    state: ReviewState
    submitted_at: datetime
    body: str = ""
    commit_sha: str = ""


@dataclass(frozen=True, slots=True)
class CommentSnapshot:
    external_id: str
    kind: CommentKind
    author: UserRef
    body: str
    created_at: datetime
    updated_at: datetime
    review_external_id: str = ""
    is_deleted: bool = False
    # Where an inline (diff) comment sits: the file and its line in the new
    # version; "" / None for a conversation comment.
    path: str = ""
    line: int | None = None


@dataclass(frozen=True, slots=True)
class PushSnapshot:
    ref: str
    before: str
    after: str
    # True/False as the provider states it; None when the payload does not say
    # (GitLab): ask the provider whether ``before`` is still an ancestor.
    is_forced: bool | None = False
    # Every path the push added, changed or removed; None when the payload
    # does not list them all (too many commits, a forced push).
    paths: tuple[str, ...] | None = None


def pushed_paths(commits: object, *, complete: bool) -> tuple[str, ...] | None:
    """The paths of a push payload's ``commits`` (GitHub and GitLab list
    ``added``/``modified``/``removed`` per commit alike); None unless the
    list is ``complete`` and every commit says."""
    if not complete or not isinstance(commits, list):
        return None
    paths: dict[str, None] = {}
    for commit in commits:
        if not isinstance(commit, dict):
            return None
        for key in ("added", "modified", "removed"):
            items = commit.get(key)
            if not isinstance(items, list):
                return None
            paths.update((item, None) for item in items if isinstance(item, str))
    return tuple(paths)


@dataclass(frozen=True, slots=True)
class InstallationSnapshot:
    """A GitHub App installation and the repositories it gained or lost."""

    installation_id: int
    account_login: str
    action: str
    added: tuple[RepositorySnapshot, ...] = ()
    removed: tuple[RepositorySnapshot, ...] = ()
    replaces_all: bool = False  # ``created``: ``added`` is the complete list


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    kind: EventKind
    provider: str
    occurred_at: datetime
    actor: UserRef | None = None
    repository: RepositorySnapshot | None = None
    pull_request: PullRequestSnapshot | None = None
    review: ReviewSnapshot | None = None
    comment: CommentSnapshot | None = None
    push: PushSnapshot | None = None
    installation: InstallationSnapshot | None = None
    issue: IssueSnapshot | None = None
    thread_comment_ids: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        # Every road (webhook, sync, replay) builds its events here, so this is
        # the one place a value no provider sends is refused, naming the field.
        # occurred_at comes last: it is derived from a snapshot's own field.
        names = sorted(
            self.__dataclass_fields__, key=lambda name: name == "occurred_at"
        )
        for name in names:
            values_check(getattr(self, name), name)


# Values no provider sends, refused at the edge rather than in the database.
MAX_ID = 2**63 - 1  # PostgreSQL bigint
EARLIEST, LATEST = 1970, 2999


def values_check(value: Any, path: str = "") -> None:
    """PayloadError naming the field for NUL text, ids past bigint, odd years."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PayloadError(f"payload field {path} contains a NUL character")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not 0 <= value <= MAX_ID:
            raise PayloadError(f"payload field {path} is out of range: {value}")
    elif isinstance(value, datetime):
        if not EARLIEST <= value.year <= LATEST:
            raise PayloadError(f"payload field {path} is not a plausible time")
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            values_check(item, f"{path}[{index}]")
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            values_check(getattr(value, name), f"{path}.{name}" if path else name)


@dataclass(frozen=True, slots=True)
class RepositoryAccess:
    """What a token can do on one repository."""

    repository: RepositorySnapshot
    can_manage_hooks: bool


MERGE_METHODS = ("merge", "squash", "rebase")


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    """A repository as its provider describes it now (the operations API)."""

    full_name: str
    description: str
    default_branch: str
    visibility: str  # public | private | internal
    web_url: str
    open_issues: int | None
    stars: int | None
    forks: int | None
    archived: bool
    merge_methods: tuple[str, ...]  # of MERGE_METHODS, in that order
    delete_branch_on_merge: bool | None
    pushed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RepositorySettings:
    """What a team admin may change; ``None`` leaves a setting as it is."""

    description: str | None = None
    default_branch: str | None = None
    merge_methods: tuple[str, ...] | None = None
    delete_branch_on_merge: bool | None = None


@dataclass(frozen=True, slots=True)
class IssueInfo:
    """An open issue, as listed by the operations API."""

    number: int
    title: str
    author: str
    labels: tuple[str, ...]
    comments: int | None
    created_at: datetime | None
    updated_at: datetime | None
    web_url: str


@dataclass(frozen=True, slots=True)
class WorkflowInfo:
    """A GitHub Actions workflow, or a GitLab pipeline (the latest runs)."""

    id: int
    kind: str  # workflow | pipeline
    name: str
    state: str  # GitHub: active, disabled_…; GitLab: the pipeline's status
    ref: str
    web_url: str
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class LabelInfo:
    name: str
    color: str  # six hex digits, lowercase, no "#"
    description: str


PullRequestWithReviews = tuple[PullRequestSnapshot, list[ReviewSnapshot]]


@dataclass(frozen=True, slots=True)
class CommentListing:
    """Every comment on one pull request now; ``complete`` is False when the
    list was cut at the page limit (then a missing comment proves nothing)."""

    comments: list[CommentSnapshot]
    kinds: tuple[CommentKind, ...]  # the kinds of comment the listing covers
    complete: bool = True


@dataclass
class Usage:
    """What one client spent: requests made and primary rate-limit points.

    GitHub charges a point for every answer except a 304 to a conditional
    request; GitLab counts every request.
    """

    calls: int = 0
    points: int = 0


@dataclass(frozen=True, slots=True)
class RateLimit:
    resource: str
    limit: int
    remaining: int
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class PullListing:
    """Pull requests updated since a moment, newest first, from the list endpoint."""

    pulls: list[PullRequestSnapshot]
    etag: str = ""
    not_modified: bool = False  # 304: nothing changed since ``etag``


class RepoClient(Protocol):
    """One provider's API for one token; every method may raise Provider*Error."""

    def repository(self, full_name: str) -> RepositoryAccess: ...

    def repositories_administered(
        self, *, max_pages: int = 10
    ) -> list[RepositorySnapshot]:
        """Repositories whose webhooks this token's person may manage, by path
        (100 per page, at most ``max_pages`` pages)."""
        ...

    def repository_info(self, full_name: str) -> RepositoryInfo:
        """The repository as the provider describes it now (never cached here)."""
        ...

    def repository_settings_update(
        self, full_name: str, changes: RepositorySettings
    ) -> RepositoryInfo:
        """Change the repository's settings; the provider's answer after."""
        ...

    def pulls_open(
        self, full_name: str, *, limit: int = 100
    ) -> list[PullRequestSnapshot]:
        """The open pull requests, most recently updated first (one page)."""
        ...

    def issues_open(self, full_name: str, *, limit: int = 100) -> list[IssueInfo]:
        """Open issues (not pull requests), most recently updated first."""
        ...

    def workflows(self, full_name: str, *, limit: int = 20) -> list[WorkflowInfo]:
        """GitHub Actions workflows, or GitLab's most recent pipelines."""
        ...

    def label_create(
        self, full_name: str, *, name: str, color: str, description: str = ""
    ) -> LabelInfo:
        """A new label on the repository."""
        ...

    def label_update(
        self,
        full_name: str,
        name: str,
        *,
        new_name: str | None = None,
        color: str | None = None,
        description: str | None = None,
    ) -> LabelInfo:
        """Rename, recolour or redescribe a label (ProviderNotFoundError if none)."""
        ...

    def label_delete(self, full_name: str, name: str) -> None:
        """Remove a label (ProviderNotFoundError if there is none)."""
        ...

    def pull_labels_change(
        self,
        full_name: str,
        number: int,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> tuple[str, ...]:
        """Put labels on a pull request and take others off (one that is not
        there is fine); the pull request's labels after."""
        ...

    def pull_line_counts(self, full_name: str, number: int) -> tuple[int, int]:
        """(added, deleted) lines of a pull request as it stands."""
        ...

    def branch_head(self, full_name: str, branch: str) -> str | None:
        """The commit a branch points at; None when there is no such branch."""
        ...

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
        """One commit on top of ``parent`` writing ``files`` (path -> text;
        ``existing``: those already there), and ``branch`` moved to it
        (created when ``create_branch``; otherwise moved even when that is not
        a fast-forward, the branch being ours). Returns the new commit."""
        ...

    def pull_create(
        self, full_name: str, *, head: str, base: str, title: str, body: str
    ) -> tuple[int, str]:
        """Open a pull request from ``head`` into ``base``: (number, web URL)."""
        ...

    def repository_create(
        self, owner: str, name: str, *, description: str
    ) -> RepositorySnapshot:
        """A new private repository ``name`` under ``owner`` (an organization or
        group path; "" for the token's own account), started with a README so
        it has a default branch. A taken name is ProviderConflictError."""
        ...

    def is_ancestor(self, full_name: str, ancestor: str, descendant: str) -> bool:
        """Whether commit ``ancestor`` is in the history of ``descendant`` (a
        commit that no longer exists is not); for providers whose push
        payloads do not say whether a push rewrote the branch."""
        ...

    def hook_ensure(
        self,
        full_name: str,
        *,
        url: str,
        secret: str,
        events: Sequence[str] = (),
        active: bool = True,
    ) -> int: ...

    def hook_update(
        self,
        full_name: str,
        hook_id: int,
        *,
        url: str,
        secret: str,
        events: Sequence[str] = (),
        active: bool = True,
    ) -> None: ...

    def hook_ping(self, full_name: str, hook_id: int) -> None: ...

    def hook_delete(self, full_name: str, hook_id: int) -> None: ...

    def pull_requests(
        self, full_name: str, *, updated_since: datetime
    ) -> Iterator[PullRequestWithReviews]: ...

    def file_read(self, full_name: str, path: str, ref: str) -> str | None: ...

    def changed_files(self, full_name: str, number: int) -> list[str]: ...

    def pull_requests_since(
        self, full_name: str, *, since: datetime, etag: str = ""
    ) -> PullListing: ...

    def reviews(
        self, full_name: str, snapshot: PullRequestSnapshot
    ) -> list[ReviewSnapshot]: ...

    def comments(
        self, full_name: str, snapshot: PullRequestSnapshot
    ) -> CommentListing: ...

    def rate_limit(self) -> RateLimit | None: ...

    def ping(self) -> list[RateLimit]: ...

    def hook_state(self, full_name: str, hook_id: int) -> str: ...

    def hook_redeliver_failed(
        self, full_name: str, hook_id: int, *, known: set[str], limit: int = 20
    ) -> list[str]: ...

    def committers(self, full_name: str, number: int) -> list[str]: ...

    def reviewers_request(
        self, full_name: str, number: int, *, logins: list[str], teams: list[str]
    ) -> None: ...

    def reviewers_remove(
        self, full_name: str, number: int, *, logins: list[str]
    ) -> None: ...

    def comment_create(self, full_name: str, number: int, body: str) -> None: ...

    def comment_put(
        self, full_name: str, number: int, body: str, *, comment_id: str = ""
    ) -> str:
        """A conversation comment edited in place (``comment_id``), or made
        when there is none or it was deleted; returns the comment's id."""
        ...

    def team_members(self, full_name: str, team: str) -> list[str]: ...

    def users_busy(self, logins: list[str]) -> dict[str, str]: ...


class Capability(StrEnum):
    """What a provider can do beyond the operations every provider has.

    Code outside ``integrations/providers`` asks ``provider.can(...)``; it never
    compares provider names.
    """

    HOOK_PING = "hook_ping"  # ask the provider to send our hook a test delivery
    HOOK_REDELIVERY = "hook_redelivery"  # ask again for deliveries that failed
    BUSY_STATUS = "busy_status"  # people mark themselves busy on the provider
    TEAM_MEMBERS = "team_members"  # an @team owner expands to its people
    INSTALLATIONS = "installations"  # an App installation grants repositories
    # The provider publishes the addresses its hooks are sent from.
    HOOK_SOURCE_RANGES = "hook_source_ranges"


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """An OAuth access token from a refresh, with what to keep for the next one."""

    access_token: str
    refresh_token: str = ""
    expires_in: int | None = None  # seconds; None: the token does not expire


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class InstallationInfo:
    """An App installation a person can access, as the provider lists it."""

    installation_id: int
    account_login: str
    is_suspended: bool


class AppAuth(Protocol):
    """A provider App: installation tokens and the installations behind them."""

    def is_configured(self) -> bool: ...

    def token_mint(self, installation_id: int) -> MintedToken: ...

    def user_installations(self, user_token: str) -> list[InstallationInfo]: ...

    def installation_repositories(
        self, installation_token: str
    ) -> list[RepositorySnapshot]: ...

    def install_url(self) -> str: ...


class Provider(Protocol):
    """Everything one code host knows, behind one interface (see the README's
    "Adding a provider")."""

    slug: str
    name: str  # shown to people: "GitHub"
    capabilities: frozenset[Capability]
    webhook_content_types: tuple[str, ...]
    hook_permission: str  # what a token needs to register our hook, in words
    # The hook events we act on, in the provider's own names; a hook subscribes
    # to all of them unless its configuration names fewer.
    hook_events: tuple[str, ...]
    codeowners_dialect: str  # "github" or "gitlab" rules for CODEOWNERS
    app: AppAuth | None

    def can(self, capability: Capability) -> bool: ...

    def api_url(self) -> str: ...

    def web_url(self) -> str: ...

    def configured_urls(self) -> tuple[str, ...]: ...

    def webhook_secret(self) -> str: ...

    def client(self, token: str, base_url: str | None = None) -> RepoClient: ...

    def verify(self, headers: Headers, body: bytes, secret: str) -> bool: ...

    def event_name(self, headers: Headers) -> str: ...

    def delivery_id(self, headers: Headers, body: bytes) -> str: ...

    def summarize(self, event: str, payload: Payload) -> tuple[str, str]: ...

    def is_handled(self, event: str, action: str) -> bool: ...

    def parse(self, event: str, payload: Payload) -> NormalizedEvent | None: ...

    def account_login(self, account_data: Mapping[str, Any]) -> str: ...

    def is_team_reference(self, owner: str) -> bool: ...

    def repository_namespace(self, source_path: str) -> str:
        """Where a team following ``source_path`` (an organization, team or
        group) creates repositories."""
        ...

    def token_refresh(
        self, *, refresh_token: str, client_id: str, client_secret: str
    ) -> TokenGrant: ...

    def grant_revoke(self, *, token: str, client_id: str, client_secret: str) -> None:
        """Revoke the person's grant to our OAuth app (nothing left is fine)."""
        ...

    def hook_source_ranges(self) -> tuple[str, ...]:
        """The CIDR blocks the provider sends hook deliveries from, as it
        publishes them now (Capability.HOOK_SOURCE_RANGES)."""
        ...


# --- small, strict payload readers shared by the adapters -------------------------


def require(data: Any, *path: str, at: str = "") -> Any:
    """``data[path[0]][path[1]]...``; PayloadError naming the path when absent.

    ``at`` names where ``data`` sits in the payload, for the message only.
    """
    current = data
    for depth, key in enumerate(path):
        if not isinstance(current, dict) or current.get(key) is None:
            raise PayloadError(f"payload has no {_dotted(at, path[: depth + 1])}")
        current = current[key]
    return current


def _dotted(at: str, path: tuple[str, ...]) -> str:
    return ".".join((at, *path) if at else path)


def optional(data: Any, *path: str) -> Any:
    current = data
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def require_int(data: Any, *path: str, at: str = "") -> int:
    value = require(data, *path, at=at)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"payload field {_dotted(at, path)} is not an integer")
    return value


def require_object(data: Any, *path: str, at: str = "") -> dict[str, Any]:
    value = require(data, *path, at=at)
    if not isinstance(value, dict):
        raise PayloadError(f"payload field {_dotted(at, path)} is not an object")
    return value


def require_str(data: Any, *path: str, at: str = "") -> str:
    value = require(data, *path, at=at)
    if not isinstance(value, str):
        raise PayloadError(f"payload field {_dotted(at, path)} is not a string")
    return value


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_time(value: Any, name: str = "timestamp") -> datetime:
    """ISO 8601 and GitLab's older ``2017-12-10 17:02:46 UTC`` form, as aware UTC."""
    if not isinstance(value, str) or not value:
        raise PayloadError(f"payload field {name} is not a timestamp")
    cleaned = value.strip()
    if cleaned.endswith(" UTC"):
        cleaned = cleaned[:-4] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise PayloadError(
            f"payload field {name} is not a timestamp: {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_optional_time(value: Any, name: str = "timestamp") -> datetime | None:
    return None if value in (None, "") else parse_time(value, name)


def answer_excerpt(message: Any) -> str:
    """A provider's error message fit to show a person: one short line of text,
    never a page (an HTML or foreign body is dropped, not echoed)."""
    if not isinstance(message, str) or not message.strip():
        return ""
    line = message.strip().splitlines()[0]
    return "" if "<" in line or "{" in line else line[:200]


def host_of(url: Any) -> str:
    if not isinstance(url, str):
        return ""
    return (urlsplit(url).hostname or "").lower()


def logins(items: Any, key: str) -> tuple[str, ...]:
    """Logins from a list of user objects, skipping malformed entries."""
    if not isinstance(items, list):
        return ()
    found = (item.get(key) for item in items if isinstance(item, dict))
    return tuple(sorted({value for value in found if isinstance(value, str) and value}))


def label_from(data: Any, provider: str) -> LabelInfo:
    """A label object as GitHub and GitLab both answer it; the colour ("00ff00",
    "#5843AD") as six lowercase hex digits."""
    if not isinstance(data, dict):
        raise ProviderError(f"{provider} answered a label change with no label")
    return LabelInfo(
        name=text(data.get("name")),
        color=text(data.get("color")).lstrip("#").lower(),
        description=text(data.get("description")),
    )
