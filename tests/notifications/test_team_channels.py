"""Team channels: the webhook URLs a team may register (hosts we know or an
operator allowed, nothing else), one post per request to each channel with the
shape each service takes, local HTTP servers standing in for a Microsoft Teams
workflow and a Mattermost incoming webhook."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
)
from notifications.channels import ChannelUrlError, channel_url_check
from notifications.models import Notification, TeamChannel
from notifications.services import (
    notifications_send_due,
    review_requests_notify,
    team_channel_add,
)
from tests.notifications.test_review_requested import (
    _stored_request,
)
from tests.notifications.test_review_requested import (
    pytestmark as corpus_marks,
)

pytestmark = corpus_marks


class Hook:
    """An incoming webhook on loopback: keeps each POST, answers as told
    (Teams workflows answer 202 with no body; Mattermost 200 "ok")."""

    def __init__(self, status: int, body: bytes) -> None:
        self.posts: list[dict] = []
        self.status, self.body = status, body
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                hook.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.send_header("Content-Length", str(len(hook.body)))
                self.end_headers()
                self.wfile.write(hook.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks(settings):
    teams, mattermost = Hook(202, b""), Hook(200, b"ok")
    settings.CODEQUEST_NOTIFY_WEBHOOK_HOSTS = [
        f"127.0.0.1:{teams.port}",
        f"127.0.0.1:{mattermost.port}",
    ]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    yield teams, mattermost
    teams.close()
    mattermost.close()


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        (
            "teams",
            "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke",
        ),
        ("teams", "https://acme.webhook.office.com/webhookb2/0000/IncomingWebhook/1/2"),
        ("discord", "https://discord.com/api/webhooks/123/secret-token"),
    ],
)
def test_service_hosts_are_accepted(kind, url):
    assert channel_url_check(kind, url) == url


@pytest.mark.parametrize(
    ("kind", "url", "says"),
    [
        ("teams", "http://acme.webhook.office.com/webhookb2/1", "https://"),
        ("teams", "https://evil.example.com/webhookb2/1", "not a Microsoft Teams"),
        ("teams", "https://webhook.office.com.evil.example/1", "not a Microsoft Teams"),
        (
            "teams",
            "https://acme.webhook.office.com:8443/webhookb2/1",
            "not a Microsoft",
        ),
        ("discord", "https://discord.com/channels/1/2", "/api/webhooks/"),
        ("json", "https://127.0.0.1/hook", "CODEQUEST_NOTIFY_WEBHOOK_HOSTS"),
        ("mattermost", "https://user:pw@chat.example.com/hooks/x", "not a webhook"),
        ("json", "not a url", "not a"),
    ],
)
def test_other_urls_are_refused_with_a_reason(kind, url, says):
    with pytest.raises(ChannelUrlError, match=says):
        channel_url_check(kind, url)


def _team_with_channels(hooks) -> Organization:
    teams_hook, mattermost_hook = hooks
    team = Organization.objects.create(name="Core", slug="core")
    for kind, name, url in (
        ("teams", "Reviews", teams_hook.url("/workflows/abc")),
        ("mattermost", "town-square", mattermost_hook.url("/hooks/xyz")),
    ):
        team_channel_add(team=team, by=None, kind=kind, name=name, url=url)
    return team


def test_a_review_request_is_posted_once_to_each_team_channel(hooks):
    teams_hook, mattermost_hook = hooks
    team = _team_with_channels(hooks)
    now = timezone.now()
    request = _stored_request(at=now - timedelta(minutes=1))
    ConnectedRepository.objects.update(organization=team)
    assert review_requests_notify(now=now) == 2  # octocat is not linked: teams only
    assert notifications_send_due(now=now) == {"sent": 2}
    (card,) = teams_hook.posts
    attachment = card["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["text"] for block in attachment["content"]["body"]]
    assert texts[0] == (
        "Review requested from @octocat: Codertocat/Hello-World#2 "
        "Update the README with new information."
    )
    assert "asks for @octocat's review" in texts[1]
    assert attachment["content"]["actions"][0]["url"] == (
        "https://github.com/Codertocat/Hello-World/pull/2"
    )
    (post,) = mattermost_hook.posts
    assert post["text"].startswith("**Review requested from @octocat:")
    # The same request again, whichever road: nothing more.
    review_requests_notify(now=now)
    notifications_send_due(now=now)
    assert (len(teams_hook.posts), len(mattermost_hook.posts)) == (1, 1)
    assert request.pk


def test_a_channel_that_is_gone_fails_at_once_and_says_so(hooks, client):
    teams_hook, _ = hooks
    teams_hook.status = 410
    team = _team_with_channels(hooks)
    now = timezone.now()
    _stored_request(at=now - timedelta(minutes=1))
    ConnectedRepository.objects.update(organization=team)
    review_requests_notify(now=now)
    assert notifications_send_due(now=now) == {"failed": 1, "sent": 1}
    channel = TeamChannel.objects.get(kind="teams")
    assert channel.last_error.endswith("answered 410")


def test_admins_add_and_remove_members_only_look(client, team_admin, hooks, settings):
    teams_hook, _ = hooks
    url = teams_hook.url("/workflows/secret-signature-xyz")
    answer = client.post(
        "/dashboard/teams/core/channels/",
        {"kind": "teams", "name": "Reviews", "url": url, "kinds": ["weekly_team"]},
    )
    assert answer.status_code == 302
    channel = TeamChannel.objects.get()
    assert channel.url == url and "secret-signature" not in channel.url_encrypted
    nothing = client.post(
        "/dashboard/teams/core/channels/",
        {"kind": "teams", "name": "Nothing", "url": url},
    )
    assert nothing.status_code == 400
    assert "Choose at least one thing to send there." in nothing.content.decode()
    page = client.get("/dashboard/teams/core/channels/").content.decode()
    assert "Reviews" in page and "127.0.0.1" in page
    assert "secret-signature" not in page  # the URL is never shown again

    bad = client.post(
        "/dashboard/teams/core/channels/",
        {"kind": "teams", "name": "Evil", "url": "https://10.0.0.5/hook"},
    )
    assert bad.status_code == 400
    assert TeamChannel.objects.count() == 1

    from django.contrib.auth import get_user_model

    member = get_user_model().objects.create_user("kim", password="pw")
    OrganizationMembership.objects.create(organization=team_admin, user=member)
    client.force_login(member)
    assert "Reviews" in client.get("/dashboard/teams/core/channels/").content.decode()
    assert (
        client.post(
            "/dashboard/teams/core/channels/",
            {"kind": "teams", "name": "Mine", "url": url},
        ).status_code
        == 403
    )
    assert (
        client.post(f"/dashboard/teams/core/channels/{channel.pk}/remove/").status_code
        == 403
    )
    Organization.objects.create(name="Other", slug="other")
    assert client.get("/dashboard/teams/other/channels/").status_code == 404

    client.force_login(get_user_model().objects.get(username="lead"))
    assert (
        client.post(f"/dashboard/teams/core/channels/{channel.pk}/remove/").status_code
        == 302
    )
    channel.refresh_from_db()
    assert (channel.is_active, channel.url_encrypted) == (False, "")
    assert Notification.objects.count() == 0


def test_admins_choose_what_each_channel_gets(client, team_admin, hooks):
    """A channel gets only the kinds ticked for it; members see which."""
    teams_hook, _ = hooks
    answer = client.post(
        "/dashboard/teams/core/channels/",
        {
            "kind": "teams",
            "name": "Digest only",
            "url": teams_hook.url("/workflows/x"),
            "kinds": ["weekly_team"],
        },
    )
    assert answer.status_code == 302
    channel = TeamChannel.objects.get()
    assert channel.kinds == ["weekly_team"]
    now = timezone.now()
    _stored_request(at=now - timedelta(minutes=1))
    ConnectedRepository.objects.update(organization=team_admin)
    assert review_requests_notify(now=now) == 0  # not ticked: nothing there

    kinds_url = f"/dashboard/teams/core/channels/{channel.pk}/kinds/"
    bad = client.post(kinds_url, {"kinds": ["everything"]})
    assert bad.status_code == 302  # refused with a message, nothing changed
    channel.refresh_from_db()
    assert channel.kinds == ["weekly_team"]
    client.post(kinds_url, {"kinds": ["review_requested", "weekly_team"]})
    channel.refresh_from_db()
    assert channel.kinds == ["review_requested", "weekly_team"]
    assert review_requests_notify(now=now) == 1

    from django.contrib.auth import get_user_model

    member = get_user_model().objects.create_user("kim", password="pw")
    OrganizationMembership.objects.create(organization=team_admin, user=member)
    client.force_login(member)
    page = client.get("/dashboard/teams/core/channels/").content.decode()
    assert "Gets: review requests in the team&#x27;s repositories; the weekly" in page
    assert client.post(kinds_url, {"kinds": []}).status_code == 403
    other = Organization.objects.create(name="Other", slug="other")
    OrganizationMembership.objects.create(organization=other, user=member, role="admin")
    # An admin of another team cannot reach this team's channel through theirs.
    assert (
        client.post(
            f"/dashboard/teams/other/channels/{channel.pk}/kinds/", {"kinds": []}
        ).status_code
        == 404
    )
