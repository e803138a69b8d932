"""GitHub's JSON objects (user, repository, pull request) as our snapshots.

Shared by the webhook parser and the API client: both read the same shapes.
https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request
"""

from __future__ import annotations

from integrations.providers.base import (
    MERGE_METHODS,
    CommentKind,
    CommentSnapshot,
    IssueInfo,
    Payload,
    PayloadError,
    PullRequestSnapshot,
    PullState,
    RepositoryInfo,
    RepositorySnapshot,
    ReviewState,
    UserRef,
    WorkflowInfo,
    closing_references,
    logins,
    optional,
    parse_optional_time,
    parse_time,
    require_int,
    require_str,
    text,
)

REVIEW_STATES = {
    "approved": ReviewState.APPROVED,
    "changes_requested": ReviewState.CHANGES_REQUESTED,
    "commented": ReviewState.COMMENTED,
    "dismissed": ReviewState.DISMISSED,
}


def user_from(data: object, name: str) -> UserRef:
    if not isinstance(data, dict) or not isinstance(data.get("login"), str):
        raise PayloadError(f"payload has no {name}.login")
    return UserRef(
        login=data["login"],
        external_id=str(data.get("id") or ""),
        is_bot=data.get("type") == "Bot" or data["login"].endswith("[bot]"),
    )


def user_or_none(data: object) -> UserRef | None:
    if isinstance(data, dict) and isinstance(data.get("login"), str):
        return user_from(data, "user")
    return None


def repository_from(repo: Payload, host: str) -> RepositorySnapshot:
    private = repo.get("private")
    return RepositorySnapshot(
        provider="github",
        host=host,
        external_id=require_int(repo, "id", at="repository"),
        full_name=require_str(repo, "full_name", at="repository"),
        default_branch=repo.get("default_branch")
        if isinstance(repo.get("default_branch"), str)
        else None,
        web_url=text(repo.get("html_url")),
        is_private=private if isinstance(private, bool) else None,
    )


def info_from(repo: Payload) -> RepositoryInfo:
    """The operations API's view of a REST repository object."""
    allowed = {
        "merge": repo.get("allow_merge_commit"),
        "squash": repo.get("allow_squash_merge"),
        "rebase": repo.get("allow_rebase_merge"),
    }
    visibility = text(repo.get("visibility")) or (
        "private" if repo.get("private") is True else "public"
    )
    return RepositoryInfo(
        full_name=require_str(repo, "full_name", at="repository"),
        description=text(repo.get("description")),
        default_branch=text(repo.get("default_branch")),
        visibility=visibility,
        web_url=text(repo.get("html_url")),
        open_issues=_count(repo, "open_issues_count"),
        stars=_count(repo, "stargazers_count"),
        forks=_count(repo, "forks_count"),
        archived=repo.get("archived") is True,
        merge_methods=tuple(name for name in MERGE_METHODS if allowed[name] is True),
        delete_branch_on_merge=repo.get("delete_branch_on_merge")
        if isinstance(repo.get("delete_branch_on_merge"), bool)
        else None,
        pushed_at=parse_optional_time(repo.get("pushed_at"), "repository.pushed_at"),
    )


def issue_from(issue: Payload) -> IssueInfo:
    """A REST issue object (the list's items)."""
    user = issue.get("user")
    user = user if isinstance(user, dict) else {}
    labels = issue.get("labels")
    labels = labels if isinstance(labels, list) else []
    return IssueInfo(
        number=require_int(issue, "number", at="issue"),
        title=text(issue.get("title")),
        author=text(user.get("login")),
        labels=tuple(
            text(label.get("name")) for label in labels if isinstance(label, dict)
        ),
        comments=_count(issue, "comments"),
        created_at=parse_optional_time(issue.get("created_at"), "issue.created_at"),
        updated_at=parse_optional_time(issue.get("updated_at"), "issue.updated_at"),
        web_url=text(issue.get("html_url")),
    )


def workflow_from(workflow: Payload) -> WorkflowInfo:
    """A GitHub Actions workflow object."""
    return WorkflowInfo(
        id=require_int(workflow, "id", at="workflow"),
        kind="workflow",
        name=text(workflow.get("name")),
        state=text(workflow.get("state")),
        ref=text(workflow.get("path")),
        web_url=text(workflow.get("html_url")),
        updated_at=parse_optional_time(
            workflow.get("updated_at"), "workflow.updated_at"
        ),
    )


def pull_request_from(pr: Payload) -> PullRequestSnapshot:
    merged_at = parse_optional_time(pr.get("merged_at"), "pull_request.merged_at")
    state_text = require_str(pr, "state", at="pull_request")
    if pr.get("merged") is True or merged_at is not None:
        state = PullState.MERGED
    elif state_text == "closed":
        state = PullState.CLOSED
    elif state_text == "open":
        state = PullState.OPEN
    else:
        raise PayloadError(f"pull_request.state {state_text!r} is not open/closed")
    head: Payload = pr["head"] if isinstance(pr.get("head"), dict) else {}
    base: Payload = pr["base"] if isinstance(pr.get("base"), dict) else {}
    has_reviewers = isinstance(pr.get("requested_reviewers"), list)
    return PullRequestSnapshot(
        number=require_int(pr, "number", at="pull_request"),
        external_id=pr.get("id") if isinstance(pr.get("id"), int) else None,
        title=text(pr.get("title")),
        state=state,
        url=text(pr.get("html_url")),
        author=user_from(pr.get("user"), "pull_request.user"),
        draft=pr.get("draft") if isinstance(pr.get("draft"), bool) else None,
        head_sha=text(head.get("sha")) or None,
        head_ref=text(head.get("ref")) or None,
        base_ref=text(base.get("ref")) or None,
        requested_reviewers=logins(pr.get("requested_reviewers"), "login")
        if has_reviewers
        else None,
        requested_teams=logins(pr.get("requested_teams"), "slug")
        if isinstance(pr.get("requested_teams"), list)
        else None,
        assignees=logins(pr.get("assignees"), "login")
        if isinstance(pr.get("assignees"), list)
        else None,
        labels=logins(pr.get("labels"), "name")
        if isinstance(pr.get("labels"), list)
        else None,
        created_at=parse_optional_time(pr.get("created_at"), "pull_request.created_at"),
        updated_at=parse_time(pr.get("updated_at"), "pull_request.updated_at"),
        merged_at=merged_at,
        closed_at=parse_optional_time(pr.get("closed_at"), "pull_request.closed_at"),
        merged_by=text(optional(pr, "merged_by", "login")) or None,
        additions=_count(pr, "additions"),
        deletions=_count(pr, "deletions"),
        changed_files=_count(pr, "changed_files"),
        closes=closing_references(pr["body"]) if "body" in pr else None,
        # For an open pull request GitHub names a test merge: not ours to keep.
        merge_commit_sha=(text(pr.get("merge_commit_sha"))[:64] or None)
        if state is PullState.MERGED
        else None,
    )


def _count(pr: Payload, key: str) -> int | None:
    value = pr.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def comment_from(
    comment: Payload, kind: CommentKind, *, is_deleted: bool = False
) -> CommentSnapshot:
    """A review (inline) or conversation comment: the webhook's ``comment`` and
    the REST API's list items are the same object."""
    created = parse_time(comment.get("created_at"), "comment.created_at")
    review_id = comment.get("pull_request_review_id")
    return CommentSnapshot(
        external_id=str(require_int(comment, "id", at="comment")),
        kind=kind,
        author=user_from(comment.get("user"), "comment.user"),
        body=text(comment.get("body")),
        created_at=created,
        updated_at=parse_optional_time(comment.get("updated_at"), "comment.updated_at")
        or created,
        review_external_id=str(review_id) if isinstance(review_id, int) else "",
        is_deleted=is_deleted,
        path=text(comment.get("path"))[:1024],
        # ``line`` is null once the diff moved on (outdated): where it was made.
        line=_count(comment, "line") or _count(comment, "original_line"),
    )
