"""A person opens their profile in a real browser (Debian's chromium through
Playwright): level and progress, the badges they hold and those left to earn,
their streak; then turns on sharing and a teammate sees the profile.
Screenshot in test-artifacts/."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from reviews.models import Member
from rewards.badges import badges_award
from tests.factories import OrganizationFactory
from tests.rewards.test_badges import person, sessions
from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_browser_connect import pytestmark as browser_marks

pytestmark = browser_marks


def sign_in(page, base: str, username: str, target: str) -> None:
    page.goto(f"{base}/accounts/login/?next={target}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a-passphrase")
    page.get_by_role("button", name="Sign In").click()


def test_profile_in_a_real_browser(live_server):
    from playwright.sync_api import expect, sync_playwright

    team = OrganizationFactory(slug="core", name="Core")
    mona_user, mona = person("mona", team)
    kim_user, _ = person("kim", team)
    for user in (mona_user, kim_user):
        user.set_password("a-passphrase")
        user.save()
    sessions(mona, 12, team)  # 120 points: level 2, two badges
    badges_award()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        sign_in(page, live_server.url, "mona", "/dashboard/profile/")
        expect(page.get_by_role("heading", name="Level 2")).to_be_visible()
        bar = page.get_by_role("progressbar")
        expect(bar).to_have_attribute("aria-valuenow", "70")  # 120 of 50..150
        badges = page.get_by_role("region", name="Badges")
        expect(badges.get_by_text("Regular reviewer")).to_be_visible()
        expect(badges.get_by_text("to earn")).to_have_count(5)
        page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

        page.get_by_role("link", name="Availability").click()
        page.get_by_label("Let my teammates see my points history").check()
        page.locator("#privacy").get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("privacy choices")

        other = browser.new_page(viewport={"width": 1200, "height": 900})
        sign_in(other, live_server.url, "kim", "/dashboard/profile/?member=mona")
        expect(other.get_by_role("heading", name="mona")).to_be_visible()
        expect(other.get_by_text("to earn")).to_have_count(0)
        browser.close()
    assert Member.objects.get(user=mona_user).shares_points is True
    assert get_user_model().objects.count() == 2
