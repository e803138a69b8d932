"""The interactive API docs render in a real browser with nothing fetched from
outside the site (no CDN): an operator without internet still reads them, and
the site's Content-Security-Policy holds."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_browser_connect import pytestmark as browser_marks

pytestmark = browser_marks


def test_api_docs_render_from_our_own_files(live_server):
    from playwright.sync_api import expect, sync_playwright

    ours = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    refused: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "request",
            lambda request: (
                urlsplit(request.url).scheme in ("http", "https")
                and urlsplit(request.url).netloc != ours
                and elsewhere.append(request.url)
            ),
        )
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text
                and refused.append(message.text)
            ),
        )
        page.goto(f"{live_server.url}/api/docs/")
        expect(page.get_by_text("CodeQuest Rewards API").first).to_be_visible()
        expect(page.get_by_text("/api/v1/pulls/").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
        browser.close()
    assert elsewhere == []
    assert refused == []


def test_redoc_renders_from_our_own_files(live_server):
    """ReDoc's one outside reference, the attribution logo on its CDN, is
    refused by the site's policy before any request leaves the browser."""
    from playwright.sync_api import expect, sync_playwright

    ours = urlsplit(live_server.url).netloc
    answered: list[str] = []
    blocked: list[str] = []
    refused: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "response",
            lambda response: (
                urlsplit(response.url).scheme in ("http", "https")
                and urlsplit(response.url).netloc != ours
                and answered.append(response.url)
            ),
        )
        page.on("requestfailed", lambda request: blocked.append(request.url))
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text
                and refused.append(message.text)
            ),
        )
        page.goto(f"{live_server.url}/api/redoc/")
        expect(page.get_by_text("CodeQuest Rewards API").first).to_be_visible()
        expect(page.get_by_text("/api/v1/pulls/").first).to_be_attached()
        page.get_by_placeholder("Search...").fill("leaderboard")
        expect(page.locator("[role=search] li").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "api-redoc.png"))
        browser.close()
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert answered == []
    assert blocked == [logo]
    assert len(refused) == 1
    assert logo in refused[0]
