"""GitLab's JSON values shared by the webhook parser and the API client."""

from __future__ import annotations

from integrations.providers.base import PullState

# A merge request's ``state`` (webhook ``object_attributes.state`` and the API).
MERGE_REQUEST_STATES = {
    "opened": PullState.OPEN,
    "reopened": PullState.OPEN,
    "locked": PullState.OPEN,  # transient state while merging
    "closed": PullState.CLOSED,
    "merged": PullState.MERGED,
}
