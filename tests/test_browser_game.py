"""Quests and rewards in a real browser (Debian's chromium through
Playwright): a team admin starts a quest from the library and adds a reward; a
teammate sees the quest's progress bar, redeems the reward and sees it wait;
the admin approves it and the teammate's balance drops; the teammate marks
the admin's review of her pull request helpful. Screenshots in
test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from integrations.models import OrganizationMembership
from rewards.models import PointsEntry, Quest, Redemption, SpendEntry
from rewards.quests import quest_settle
from tests.factories import OrganizationFactory, RepositoryFactory, ReviewFactory
from tests.rewards.test_quests import join, pull
from tests.rewards.test_spending import earn
from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_browser_connect import pytestmark as browser_marks
from tests.test_browser_profile import sign_in

pytestmark = browser_marks


def test_quests_and_rewards_in_a_real_browser(live_server, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own
    # database writes between pages are plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    team = OrganizationFactory(slug="core", name="Core")
    repo = RepositoryFactory(organization=team, full_name="acme/shop")
    lead = join(team, "lead", role=OrganizationMembership.Role.ADMIN)
    mona = join(team, "mona")
    for user in (lead, mona):
        user.set_password("a-passphrase")
        user.save()
    earn(mona.member.identities.get(), team, 130)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        admin = browser.new_page(viewport={"width": 1200, "height": 900})
        sign_in(admin, live_server.url, "lead", "/dashboard/quests/")
        expect(admin.get_by_text("No quest is running")).to_be_visible()
        admin.get_by_label("Template").select_option("team-reviews")
        admin.get_by_label("Count").fill("4")
        admin.get_by_role("button", name="Start the quest").click()
        expect(admin.get_by_role("status")).to_contain_text(
            "Started: Review 4 pull requests together"
        )
        admin.get_by_role("link", name="Rewards", exact=True).click()
        admin.get_by_label("Name").fill("Lunch with the team")
        admin.get_by_label("Cost (points)").fill("100")
        admin.get_by_label("Stock").fill("3")
        admin.get_by_role("button", name="Add to the catalogue").click()
        expect(admin.get_by_role("status")).to_contain_text("is in the catalogue")

        # two of the four reviews happen, and beat measures the quest
        quest = Quest.objects.get()
        Quest.objects.filter(pk=quest.pk).update(
            starts_at=timezone.now() - timedelta(hours=3)
        )
        for hours_ago in (2, 1):
            ReviewFactory(
                pull_request=pull(repo, "lead"),
                reviewer_login="mona",
                submitted_at=timezone.now() - timedelta(hours=hours_ago),
            )
        quest_settle(quest=quest)

        page = browser.new_page(viewport={"width": 1200, "height": 900})
        sign_in(page, live_server.url, "mona", "/dashboard/quests/")
        bar = page.get_by_role("progressbar", name="Review 4 pull requests together")
        expect(bar).to_have_attribute("aria-valuenow", "2")
        expect(bar).to_have_attribute("aria-valuemax", "4")
        expect(page.get_by_text("2 of 4")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "quests.png"), full_page=True)

        page.get_by_role("link", name="Rewards", exact=True).click()
        balance = page.get_by_role("region", name="To spend in Core")
        expect(balance.locator(".big")).to_have_text("130")
        page.get_by_role("button", name="Redeem").click()
        expect(page.get_by_role("status")).to_contain_text("100 points are held")
        expect(balance.locator(".big")).to_have_text("30")
        expect(page.get_by_text("Waiting for a team admin").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "rewards.png"), full_page=True)

        admin.reload()
        waiting = admin.get_by_role("region", name="Waiting for a team admin")
        waiting.get_by_role("button", name="Approve").click()
        expect(admin.get_by_role("status")).to_contain_text("Approved")
        admin.screenshot(path=str(ARTIFACTS / "rewards-admin.png"), full_page=True)

        page.reload()
        expect(page.get_by_role("region", name="Your requests")).to_contain_text(
            "Approved"
        )
        expect(balance.locator(".big")).to_have_text("30")

        # mona thanks lead for a review of her pull request
        ReviewFactory(
            pull_request=pull(repo, "mona", title="Round prices once"),
            reviewer_login="lead",
            state="changes_requested",
            submitted_at=timezone.now() - timedelta(minutes=30),
        )
        page.get_by_role("link", name="Kudos").click()
        reviews = page.get_by_role("region", name="Reviews of your pull requests")
        expect(reviews).to_contain_text("Round prices once")
        reviews.get_by_role("button", name="Helpful").click()
        expect(page.get_by_role("status")).to_contain_text("helpful: thank you")
        expect(reviews.get_by_role("button", name="✓ Helpful")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.screenshot(path=str(ARTIFACTS / "kudos.png"), full_page=True)
        browser.close()
    assert Redemption.objects.get().status == "approved"
    assert SpendEntry.objects.get().points == -100
    assert not PointsEntry.objects.filter(source__startswith="quest:").exists()
    assert PointsEntry.objects.get(rule__key="review_helpful").points == 5
