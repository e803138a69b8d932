"""GitLab's JSON values shared by the webhook parser and the API client."""

from __future__ import annotations

from integrations.providers.base import Payload, PullState

# A merge request's ``state`` (webhook ``object_attributes.state`` and the API).
MERGE_REQUEST_STATES = {
    "opened": PullState.OPEN,
    "reopened": PullState.OPEN,
    "locked": PullState.OPEN,  # transient state while merging
    "closed": PullState.CLOSED,
    "merged": PullState.MERGED,
}


def merged_commit(attributes: Payload, state: PullState) -> str | None:
    """The commit a merge put on the target branch: the merge commit, else the
    squash commit (fast-forward with squash); None unless merged."""
    if state is not PullState.MERGED:
        return None
    for key in ("merge_commit_sha", "squash_commit_sha"):
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value[:64]
    return None
