"""The interactive API docs render in a real browser with nothing fetched from
outside the site (no CDN): an operator without internet still reads them, and
the site's Content-Security-Policy holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_browser_connect import pytestmark as browser_marks

pytestmark = browser_marks


@dataclass
class Outside:
    """What a page tried beyond the site, as the browser reported it."""

    requested: list[str] = field(default_factory=list)  # requests sent elsewhere
    answered: list[str] = field(default_factory=list)  # answers from elsewhere
    blocked: list[str] = field(default_factory=list)  # requests that failed
    refused: list[str] = field(default_factory=list)  # CSP refusals (console)


@contextmanager
def docs_page(live_server: Any, path: str) -> Iterator[tuple[Any, Outside]]:
    """A desktop-sized page of the site at ``path``, watched for anything it
    asks of other hosts; closed on exit."""
    from playwright.sync_api import sync_playwright

    ours = urlsplit(live_server.url).netloc

    def elsewhere(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.netloc != ours

    outside = Outside()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "request",
            lambda request: (
                elsewhere(request.url) and outside.requested.append(request.url)
            ),
        )
        page.on(
            "response",
            lambda response: (
                elsewhere(response.url) and outside.answered.append(response.url)
            ),
        )
        page.on("requestfailed", lambda request: outside.blocked.append(request.url))
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text
                and outside.refused.append(message.text)
            ),
        )
        page.goto(f"{live_server.url}{path}")
        try:
            yield page, outside
        finally:
            browser.close()


def test_api_docs_render_from_our_own_files(live_server):
    from playwright.sync_api import expect

    with docs_page(live_server, "/api/docs/") as (page, outside):
        expect(page.get_by_text("CodeQuest Rewards API").first).to_be_visible()
        expect(page.get_by_text("/api/v1/pulls/").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert outside.requested == []
    assert outside.refused == []


def test_redoc_renders_from_our_own_files(live_server):
    """ReDoc's one outside reference, the attribution logo on its CDN, is
    refused by the site's policy before any request leaves the browser."""
    from playwright.sync_api import expect

    with docs_page(live_server, "/api/redoc/") as (page, outside):
        expect(page.get_by_text("CodeQuest Rewards API").first).to_be_visible()
        expect(page.get_by_text("/api/v1/pulls/").first).to_be_attached()
        page.get_by_placeholder("Search...").fill("leaderboard")
        expect(page.locator("[role=search] li").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "api-redoc.png"))
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert outside.answered == []
    assert outside.blocked == [logo]
    assert len(outside.refused) == 1
    assert logo in outside.refused[0]
