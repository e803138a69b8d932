"""A person reads their notifications in a real browser (Debian's chromium
through Playwright), marks them read and changes what is sent to them.
Screenshot in test-artifacts/."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications.models import Notification, NotificationSettings
from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_browser_connect import pytestmark as browser_marks

pytestmark = browser_marks

BODY = (
    "octocat asks for your review of octo/shop#42: Make checkout faster\n\n"
    "Why you: code owner (Payments)\n"
    "Due: Thu 03 Dec, 17:00 (UTC), 6 working hours after the request."
)


def test_notifications_in_a_real_browser(live_server):
    from playwright.sync_api import expect, sync_playwright

    user = get_user_model().objects.create_user(
        "mona", email="mona@example.com", password="a-passphrase"
    )
    Notification.objects.create(
        recipient=user,
        kind="review_requested",
        channel="in_app",
        key="review_request:1:1",
        subject="Review requested: octo/shop#42 Make checkout faster",
        body=BODY,
        url="https://github.com/octo/shop/pull/42",
        status="sent",
        due_at=timezone.now(),
        sent_at=timezone.now(),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/dashboard/notifications/")
        page.get_by_label("Username").fill("mona")
        page.get_by_label("Password").fill("a-passphrase")
        page.get_by_role("button", name="Sign In").click()
        inbox = page.get_by_role("region", name="For you")
        link = inbox.get_by_role("link", name="Review requested: octo/shop#42")
        assert link.get_attribute("href") == "https://github.com/octo/shop/pull/42"
        expect(inbox).to_contain_text("Why you: code owner (Payments)")
        expect(page.get_by_text("1 new")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "notifications.png"), full_page=True)

        page.get_by_role("button", name="Mark all as read").click()
        expect(page.get_by_role("status")).to_contain_text("Marked 1 as read.")
        page.get_by_label("Email: My review is requested").uncheck()
        page.get_by_label("When: My review is requested").select_option(
            "Hourly summary"
        )
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Saved")
        browser.close()
    assert NotificationSettings.objects.get(user=user).kinds["review_requested"] == {
        "email": False,
        "slack": True,
        "when": "hourly",
    }
    assert Notification.objects.get().read_at is not None
