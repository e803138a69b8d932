"""A newcomer opens the team's review practice in a real browser (Debian's
chromium through Playwright) and reads their result: what they found, and why
each missed problem matters. Screenshot in test-artifacts/."""

from __future__ import annotations

from django.utils import timezone

from integrations.models import PracticeRepository
from reviews.models import Member, PracticeRound
from reviews.practice import PROBLEMS
from tests.factories import OrganizationFactory, RepositoryFactory
from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.test_browser_connect import pytestmark as browser_marks
from tests.test_dashboard import seed_member

pytestmark = browser_marks


def seed_practice() -> None:
    team = OrganizationFactory(slug="core", name="Core")
    user, _identities = seed_member("mona", team)
    repository = RepositoryFactory(
        organization=team,
        full_name="core/codequest-practice",
        web_url="https://github.com/core/codequest-practice",
        is_practice=True,
    )
    PracticeRepository.objects.create(
        organization=team,
        provider="github",
        owner="core",
        name="codequest-practice",
        status="ready",
        full_name=repository.full_name,
        default_branch="main",
        template_sha="40dc47c114c30c816ae28355ec34b380916b39aa",
        repository=repository,
        log=[{"at": "", "line": "created core/codequest-practice (private)"}],
    )
    PracticeRound.objects.create(
        repository=repository,
        member=Member.objects.get(user=user),
        login="mona",
        status="reviewed",
        pull_number=3,
        pull_url="https://github.com/core/codequest-practice/pull/3",
        found=["off-by-one", "sql-injection", "secret-in-code", "swallowed-error"],
        problem_count=len(PROBLEMS),
        reviewed_at=timezone.now(),
    )


def test_practice_results_in_a_real_browser(live_server):
    from playwright.sync_api import expect, sync_playwright

    seed_practice()
    ARTIFACTS.mkdir(exist_ok=True)
    missed = next(item for item in PROBLEMS if item.key == "float-money")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/dashboard/teams/core/")
        page.get_by_label("Username").fill("mona")
        page.get_by_label("Password").fill("a-passphrase")
        page.get_by_role("button", name="Sign In").click()
        page.get_by_role("link", name="Review practice →").click()

        mine = page.get_by_role("region", name="Your practice reviews")
        expect(mine).to_contain_text("of 6 planted problems found")
        expect(mine.locator(".score .big")).to_have_text("4")
        expect(mine.locator(".outcome.found")).to_have_count(4)
        expect(mine.locator(".outcome.missed")).to_have_count(2)
        expect(mine.get_by_text(missed.explanation)).to_be_visible()
        link = mine.get_by_role("link", name="core/codequest-practice#3")
        assert link.get_attribute("href").startswith("https://github.com/")
        expect(page.get_by_role("button", name="Practise a review")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "practice.png"), full_page=True)
        browser.close()
