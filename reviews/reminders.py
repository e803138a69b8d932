"""Whether people of a repository's team get chat messages, asked by the SLA
reminder to decide whether a comment on the pull request is still needed.

The domain does not know how messages are sent: the notifications app
registers its check here when it starts (``NotificationsConfig.ready``), and
without one, nothing reaches people by chat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_CHECKS: list[Callable[[Any], bool]] = []


def chat_reaches_register(check: Callable[[Any], bool]) -> None:
    if check not in _CHECKS:
        _CHECKS.append(check)


def chat_reaches(repository: Any) -> bool:
    """Some chat channel reaches the people of ``repository`` (a
    ConnectedRepository): Slack direct messages, or a channel of its team."""
    return any(check(repository) for check in _CHECKS)
