"""A person signs in, clicks "Connect GitHub" in a real browser (Debian's
chromium driven by Playwright), goes through a fake GitHub OAuth server on
loopback, and lands back on the dashboard connected."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model

from integrations.models import ProviderCredential

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
RECORDED = Path(__file__).resolve().parent / "provider_responses" / "github"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]


class FakeGitHub(BaseHTTPRequestHandler):
    """Just enough of github.com's OAuth web flow and /user."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        if url.path == "/login/oauth/authorize":
            query = parse_qs(url.query)
            # The person approves at once: back to the app with a code.
            target = (
                query["redirect_uri"][0]
                + "?"
                + urlencode({"code": "fake-code", "state": query["state"][0]})
            )
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
        elif url.path == "/api/v3/user":
            self._json((RECORDED / "user.json").read_bytes())
        elif url.path == "/api/v3/user/repos":
            # The picker's list: the recorded repository (admin), page 1 only.
            self._json(b"[" + (RECORDED / "repo.json").read_bytes() + b"]")
        else:
            self.send_error(404)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if self.path == "/login/oauth/access_token" and form.get("code") == [
            "fake-code"
        ]:
            self._json((RECORDED / "oauth_access_token.json").read_bytes())
        else:
            self._json(json.dumps({"error": "bad_verification_code"}).encode())

    def _json(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_github(settings, monkeypatch) -> Iterator[str]:
    from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    # allauth computes GitHub's URLs at import time from GITHUB_URL.
    monkeypatch.setattr(
        GitHubOAuth2Adapter, "authorize_url", f"{base}/login/oauth/authorize"
    )
    monkeypatch.setattr(
        GitHubOAuth2Adapter, "access_token_url", f"{base}/login/oauth/access_token"
    )
    monkeypatch.setattr(GitHubOAuth2Adapter, "profile_url", f"{base}/api/v3/user")
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["github"] = {
        **providers["github"],
        "APPS": [{"client_id": "browser-client", "secret": "browser-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    settings.GITHUB_API_URL = f"{base}/api/v3"  # the picker lists from here
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    yield base
    server.shutdown()


def test_connect_github_in_a_real_browser(live_server, fake_github):
    from playwright.sync_api import sync_playwright

    from integrations.models import Organization, OrganizationMembership

    mona = get_user_model().objects.create_user("mona", password="a-long-passphrase")
    team = Organization.objects.create(name="Core team", slug="core")
    OrganizationMembership.objects.create(organization=team, user=mona, role="admin")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"{live_server.url}/dashboard/")
        # Not signed in: the dashboard sends us to the sign-in page first.
        page.fill("input[name=login]", "mona")
        page.fill("input[name=password]", "a-long-passphrase")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/dashboard/")
        page.screenshot(path=str(ARTIFACTS / "dashboard-before-connect.png"))
        page.get_by_role("button", name="Connect GitHub").click()
        # Connected: on to the repositories this account administers.
        page.wait_for_url(f"{live_server.url}/dashboard/repositories/pick/github/")
        banner = page.get_by_role("status").inner_text()
        listed = page.get_by_label("PyGithub/PyGithub").count()
        page.goto(f"{live_server.url}/dashboard/")
        card = page.locator("article", has_text="GitHub").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "dashboard-connected.png"), full_page=True)
        page.get_by_role("link", name="Teams").click()
        page.get_by_role("link", name="Core team").click()
        page.wait_for_url(f"{live_server.url}/dashboard/teams/core/")
        form_heading = page.get_by_role("heading", name="Connect a repository").count()
        browser.close()
    assert banner.strip() == "GitHub connected as @ahmad88me."
    assert "Connected as @ahmad88me" in card
    assert listed == 1
    assert form_heading == 1  # mona administers a team
    credential = ProviderCredential.objects.get()
    assert credential.user.username == "mona"
    assert credential.token == "access_token_removed"
