"""A seeded team member opens the dashboard in a real browser (Debian's chromium
driven by Playwright): sees the queue with "why you", the leaderboard and a
chart, and saves a vacation window. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from reviews.models import (
    AvailabilityWindow,
    ProviderIdentity,
    ReviewAssignment,
)
from tests.factories import (
    OrganizationFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)
from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_browser_connect import pytestmark as browser_marks
from tests.test_dashboard import ledger_line, seed_member, waiting_pull

pytestmark = browser_marks


def seed_team():
    team = OrganizationFactory(slug="core", name="Core")
    user, identities = seed_member("mona", team)
    # Five people, so the team's statistics may show figures per person.
    for name in ("kim", "lee", "ana", "bo"):
        seed_member(name, team, logins=())
    pull = waiting_pull(RepositoryFactory(organization=team), 42, hours_ago=30)
    ReviewAssignment.objects.create(
        pull_request=pull,
        trigger="opened",
        strategy="load_balance",
        status="requested",
        reviewers=["mona"],
        explanation={
            "strategy": "load_balance",
            "pool": {"mona": ["code owner (Payments)"]},
        },
    )
    now = timezone.now()
    for index, (login, points) in enumerate([("kim", 34), ("mona", 21), ("lee", 8)]):
        identity = (
            identities[0]
            if login == "mona"
            else ProviderIdentity.objects.create(
                provider="github", host="github.com", login=login
            )
        )
        done = PullRequestFactory(
            repository=pull.repository,
            state="merged",
            author_login="octocat",
            provider_created_at=now - timedelta(days=index * 7 + 2),
            merged_at=now - timedelta(days=index * 7 + 1),
        )
        ReviewFactory(
            pull_request=done,
            reviewer_login=login,
            state="approved",
            body="Nice and small; one question inline.",
            submitted_at=now - timedelta(days=index * 7 + 1, hours=20),
        )
        ledger_line(
            identity,
            points,
            done,
            source=f"seed:{login}",
            reason=f"reviewed {done.repository.full_name}#{done.number}",
            days_ago=1,
        )
    return user


def test_dashboard_in_a_real_browser(live_server):
    from playwright.sync_api import expect, sync_playwright

    seed_team()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/dashboard/")
        page.get_by_label("Username").fill("mona")
        page.get_by_label("Password").fill("a-passphrase")
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_url(f"{live_server.url}/dashboard/")

        queue = page.get_by_role("region", name="Waiting for your review")
        expect(queue).to_contain_text("Make checkout faster #42")
        expect(queue).to_contain_text("Why you: code owner (Payments)")
        open_pulls = page.get_by_role("region", name="Open in your teams")
        expect(open_pulls).to_contain_text("Make checkout faster #42")
        leaders = page.get_by_role("region", name="This week's review heroes")
        expect(leaders.get_by_role("listitem").first).to_contain_text("kim")
        expect(page.get_by_text("21", exact=True)).to_be_visible()  # my points
        page.screenshot(path=str(ARTIFACTS / "dashboard-today.png"), full_page=True)

        page.get_by_role("link", name="Team stats").click()
        chart = page.get_by_role("img", name="Open review requests per person")
        expect(chart).to_be_visible()
        drawn = page.locator("figure svg rect.bar:not([height='0.0'])")
        expect(drawn.first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard-stats.png"), full_page=True)

        page.get_by_role("link", name="Leaderboard").click()
        expect(page.get_by_role("table")).to_contain_text("kim")
        expect(page.get_by_text("Congratulations to github:kim")).to_be_visible()

        page.get_by_role("link", name="Availability").click()
        today = timezone.localdate()
        page.get_by_label("First day away").fill(f"{today + timedelta(days=7)}")
        page.get_by_label("Last day away").fill(f"{today + timedelta(days=11)}")
        page.get_by_label("Note (only you see it)").fill("Family visit")
        # Keyboard only: the submit button is reachable with Tab and Enter.
        page.get_by_label("Note (only you see it)").press("Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("Enjoy your time away")
        expect(page.get_by_text("Family visit")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard-away.png"), full_page=True)

        page.get_by_role("link", name="API tokens").click()
        expect(page.get_by_text("You have no API tokens.")).to_be_visible()
        page.get_by_role("button", name="Create a token").click()
        token = page.get_by_role("textbox", name="Token").input_value()
        assert token.startswith("cq_")
        expect(page.get_by_text("it will not be shown again")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard-tokens.png"), full_page=True)
        page.get_by_role("link", name="API tokens").click()
        expect(page.get_by_text(f"{token[:15]}…")).to_be_visible()
        assert token not in page.content()  # shown once, never again
        page.get_by_role(
            "button", name=f"Revoke the token starting with {token[:15]}"
        ).click()
        expect(page.get_by_role("status")).to_contain_text("revoked")

        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{live_server.url}/dashboard/")
        expect(phone.get_by_text("Make checkout faster #42").first).to_be_visible()
        phone.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
        browser.close()
    window = AvailabilityWindow.objects.get()
    assert window.note == "Family visit"
    assert window.identity.login == "mona"
