"""GitLab's JSON values shared by the webhook parser and the API client."""

from __future__ import annotations

import re

from integrations.providers.base import Payload, PullState, UserRef

# GitLab's bot users: a project's or group's access token acts as
# project_{id}_bot_{random} / group_{id}_bot_{random}; GitLab's own service
# accounts end in -bot (support-bot, alert-bot, security-bot…).
BOT_USERNAME = re.compile(r"^(project|group)_\d+_bot(_[0-9a-z]+)?$|-bot$")


def user_ref(username: str, external_id: object = "", *, bot: bool = False) -> UserRef:
    """A GitLab user; a bot when GitLab says so or its username is a bot's."""
    return UserRef(
        login=username,
        external_id=str(external_id or ""),
        is_bot=bot or bool(BOT_USERNAME.search(username)),
    )


# A merge request's ``state`` (webhook ``object_attributes.state`` and the API).
MERGE_REQUEST_STATES = {
    "opened": PullState.OPEN,
    "reopened": PullState.OPEN,
    "locked": PullState.OPEN,  # transient state while merging
    "closed": PullState.CLOSED,
    "merged": PullState.MERGED,
}


def diff_position(note: Payload) -> tuple[str, int | None]:
    """Where a diff note sits, from its ``position`` (the webhook's
    ``object_attributes`` and the Notes/Discussions API carry the same object):
    the new file and line, else the old ones (a comment on a removed line)."""
    position = note.get("position")
    if not isinstance(position, dict):
        return "", None
    for path_key, line_key in (("new_path", "new_line"), ("old_path", "old_line")):
        line = position.get(line_key)
        path = position.get(path_key)
        if isinstance(line, int) and not isinstance(line, bool) and line > 0:
            return (path if isinstance(path, str) else "")[:1024], line
    path = position.get("new_path")
    return (path if isinstance(path, str) else "")[:1024], None


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
