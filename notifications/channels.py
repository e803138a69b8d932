"""Team channels: which webhook URLs a team may register, and what each kind
of channel is sent (README "Team channels").

A URL a person types is called only when its host is one we know for that kind
of channel (Microsoft Teams and Discord publish theirs) or one an operator
named in ``CODEQUEST_NOTIFY_WEBHOOK_HOSTS`` (a Mattermost server, a JSON
endpoint). Nothing else, so a form cannot point CodeQuest at an internal
address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from notifications.models import Notification, TeamChannel

Kind = TeamChannel.Kind
# Host suffixes each service sends its incoming-webhook URLs from.
KNOWN_HOSTS: dict[str, tuple[str, ...]] = {
    Kind.TEAMS: (".webhook.office.com", ".logic.azure.com", ".api.powerplatform.com"),
    Kind.DISCORD: ("discord.com", "discordapp.com"),
}
DISCORD_LIMIT = 2000  # characters in a message


class ChannelUrlError(ValueError):
    """Why a webhook URL was refused, for the person who typed it."""


def channel_url_check(kind: str, url: str) -> str:
    """The URL, stripped, when CodeQuest may post to it; else ChannelUrlError."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ChannelUrlError("That is not a URL.") from None
    if parts.username is not None or parts.password is not None or not host:
        raise ChannelUrlError("That is not a webhook URL.")
    configured = _configured(host, port)
    if parts.scheme != "https" and not (parts.scheme == "http" and configured):
        raise ChannelUrlError("Webhook URLs must start with https://.")
    if configured:
        return url
    suffixes = KNOWN_HOSTS.get(kind, ())
    if port not in (None, 443) or not any(
        host == suffix.lstrip(".") or host.endswith(suffix) for suffix in suffixes
    ):
        named = " or ".join(suffix.lstrip(".") for suffix in suffixes) or "a host"
        raise ChannelUrlError(
            f"{host} is not a {TeamChannel.Kind(kind).label} address ({named}); "
            "an operator can allow a server with CODEQUEST_NOTIFY_WEBHOOK_HOSTS."
        )
    if kind == Kind.DISCORD and not parts.path.startswith("/api/webhooks/"):
        raise ChannelUrlError("A Discord webhook URL has /api/webhooks/ in it.")
    return url


def _configured(host: str, port: int | None) -> bool:
    allowed = set(settings.CODEQUEST_NOTIFY_WEBHOOK_HOSTS)
    return host in allowed or (port is not None and f"{host}:{port}" in allowed)


def channel_payload(channel: TeamChannel, row: Notification) -> dict[str, Any]:
    """What each kind of channel is sent for one message."""
    text = f"**{row.subject}**\n\n{row.body}"
    if channel.kind == Kind.TEAMS:  # an Adaptive Card, as workflows expect
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": row.subject,
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "TextBlock", "text": row.body, "wrap": True},
        ]
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        }
        if row.url:
            card["actions"] = [
                {
                    "type": "Action.OpenUrl",
                    "title": "Open the pull request",
                    "url": row.url,
                }
            ]
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    if channel.kind == Kind.MATTERMOST:
        return {"text": text, "username": "CodeQuest"}
    if channel.kind == Kind.DISCORD:
        return {
            "content": text[:DISCORD_LIMIT],
            "username": "CodeQuest",
            "allowed_mentions": {"parse": []},  # a title cannot ping @everyone
        }
    return {
        "kind": row.kind,
        "subject": row.subject,
        "body": row.body,
        "url": row.url,
        "team": channel.organization.slug,
        "created_at": row.created_at.isoformat(),
    }


class ChannelGone(Exception):
    """The service says the webhook no longer exists (404, 410): final."""


def channel_post(channel: TeamChannel, row: Notification) -> None:
    """POST the message; a 2xx is sent, 404/410 final, anything else retried."""
    answer = requests.post(
        channel.url,
        json=channel_payload(channel, row),
        timeout=10,
        allow_redirects=False,
    )
    if 200 <= answer.status_code < 300:
        return
    if answer.status_code in (401, 403, 404, 410):
        raise ChannelGone(f"{channel.host} answered {answer.status_code}")
    raise RuntimeError(f"{channel.host} answered {answer.status_code}")
