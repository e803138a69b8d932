"""From sign-up to a working team, in Debian's chromium, against a GitHub fake
on loopback (tests/fake_github_server.py): sign up → Connect GitHub → pick two
repositories → watch them connect → hooks verified by the ping → their open
pull requests on Today → the team follows the GitHub organization → a second
person signs in with GitHub and lands in that team → the repository page shows
sync history and a manual sync. Screenshots at desktop and phone widths go to
test-artifacts/walkthrough-*.png."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model

from integrations.models import (
    ConnectedRepository,
    OrganizationMembership,
    SyncRun,
    WebhookEndpoint,
)
from tests.fake_github_server import FakeGitHubServer
from tests.test_browser_connect import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, pytestmark  # noqa: F401

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def github(settings, monkeypatch, live_server, eager_celery):
    from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter

    fake = FakeGitHubServer().start()
    # Playwright's sync API runs an event loop in this thread; the checks made
    # here against the database in between are plain synchronous reads.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setattr(
        GitHubOAuth2Adapter, "authorize_url", f"{fake.base}/login/oauth/authorize"
    )
    monkeypatch.setattr(
        GitHubOAuth2Adapter,
        "access_token_url",
        f"{fake.base}/login/oauth/access_token",
    )
    monkeypatch.setattr(GitHubOAuth2Adapter, "profile_url", f"{fake.api}/user")
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["github"] = {
        **providers["github"],
        "APPS": [{"client_id": "walkthrough", "secret": "walkthrough-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    settings.GITHUB_API_URL = fake.api
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.PUBLIC_URL = live_server.url  # where the hooks deliver
    for full_name in ("acme/api", "acme/web", "acme/archive"):
        fake.repository(full_name)
    fake.repository("friends/notes", admin=False)  # not mona's to connect
    fake.pull("acme/api", 7, "Add rate limiting to the public API", "octo-friend")
    fake.pull("acme/web", 12, "Dark mode for the settings page", "mona")
    fake.orgs["acme"] = ["mona", "octo-friend"]
    yield fake
    fake.stop()


def wait_for(check, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {seconds}s: {check.__doc__}")
        time.sleep(0.1)


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"walkthrough-{name}.png"), full_page=True)


def test_from_sign_up_to_a_working_team(live_server, github):
    from playwright.sync_api import expect, sync_playwright

    url = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport=DESKTOP)
        # Sign up from the home page.
        page.goto(f"{url}/")
        page.get_by_role("link", name="Sign up").first.click()
        page.get_by_label("Username").fill("mona")
        page.locator("input[name=password1]").fill("a-long-passphrase-1")
        page.locator("input[name=password2]").fill("a-long-passphrase-1")
        page.get_by_role("button", name="Sign Up").click()
        page.wait_for_url(f"{url}/dashboard/")
        expect(page.get_by_text("You are not in a team yet")).to_be_visible()

        # Connect GitHub: straight on to the picker.
        page.get_by_role("button", name="Connect GitHub").click()
        page.wait_for_url(f"{url}/dashboard/repositories/pick/github/")
        expect(page.get_by_text("GitHub connected as @mona.")).to_be_visible()
        expect(page.get_by_label("acme/archive")).to_be_visible()
        expect(page.get_by_text("friends/notes")).to_have_count(0)
        page.get_by_label("Search repositories").fill("acme/")
        page.get_by_role("button", name="Search").click()
        page.get_by_label("acme/api").check()
        page.get_by_label("acme/web").check()
        expect(page.get_by_label("New team name")).to_have_value("acme")
        shoot(page, "1-picker")
        page.get_by_role("button", name="Connect the chosen repositories").click()

        # Watch them connect (each step logged), then the pings verify the hooks.
        page.wait_for_url(f"{url}/dashboard/repositories/connecting/")
        jobs = page.locator("li.job")
        expect(jobs).to_have_count(2)
        expect(jobs.filter(has_text="acme/api")).to_contain_text("Connected")
        expect(jobs.filter(has_text="acme/web")).to_contain_text("ping sent")
        expect(jobs.filter(has_text="acme/web")).to_contain_text(
            "imported 1 pull request "
        )
        shoot(page, "2-connecting")

        def hooks_verified() -> bool:
            """both hooks verified by their ping"""
            return (
                WebhookEndpoint.objects.filter(verified_at__isnull=False).count() == 2
            )

        wait_for(hooks_verified)

        # Today: the team's open pull requests.
        page.goto(f"{url}/dashboard/")
        open_pulls = page.get_by_role("region", name="Open in your teams")
        expect(open_pulls).to_contain_text("Add rate limiting to the public API")
        expect(open_pulls).to_contain_text("Dark mode for the settings page")
        expect(page.get_by_text("You are not in a team yet")).to_have_count(0)
        shoot(page, "3-today")

        # The team follows the GitHub organization.
        page.get_by_role("link", name="Teams").click()
        page.get_by_role("link", name="acme").click()
        page.get_by_label("Organization, team or group").fill("acme")
        page.get_by_role("button", name="Follow").click()
        expect(page.get_by_role("status")).to_contain_text("acme follows acme now")
        shoot(page, "4-team")

        # A second person signs in with GitHub and lands in the team.
        github.signing_in = "octo-friend"
        friend = browser.new_page(viewport=PHONE)
        friend.goto(f"{url}/")
        friend.get_by_role("button", name="Continue with GitHub").click()
        friend.wait_for_url(f"{url}/dashboard/")
        expect(friend.get_by_text("You are not in a team yet")).to_have_count(0)
        expect(friend.get_by_role("region", name="Open in your teams")).to_contain_text(
            "Add rate limiting to the public API"
        )
        shoot(friend, "5-second-person-phone")

        # The repository page: verified, history, and a manual sync.
        page.goto(f"{url}/dashboard/")
        page.get_by_role("link", name="acme/api").first.click()
        expect(page.get_by_role("heading", name="Status: Healthy")).to_be_visible()
        history = page.get_by_role("region", name="Sync history")
        expect(history).to_contain_text("Initial import")
        page.get_by_role("button", name="Sync now").click()
        expect(page.get_by_role("status")).to_contain_text("Sync queued")
        expect(history).to_contain_text("manual")
        shoot(page, "6-repository")
        page.set_viewport_size(PHONE)
        shoot(page, "6-repository-phone")
        browser.close()

    assert github.unknown == []
    assert github.pings == [202, 202]
    friend_user = get_user_model().objects.get(username="octo-friend")
    membership = OrganizationMembership.objects.get(user=friend_user)
    assert (membership.organization.name, membership.via) == ("acme", "provider")
    repository = ConnectedRepository.objects.get(full_name="acme/api")
    assert repository.webhook_status == "verified"
    assert list(
        SyncRun.objects.filter(repository=repository)
        .order_by("started_at")
        .values_list("kind", "trigger")
    ) == [("initial", "manual"), ("incremental", "manual")]


@pytest.fixture
def gitlab(settings, monkeypatch, live_server, eager_celery):
    from tests.fake_gitlab_server import FakeGitLabServer

    fake = FakeGitLabServer().start()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["gitlab"] = {
        **providers["gitlab"],
        "GITLAB_URL": fake.base,
        "APPS": [{"client_id": "walkthrough", "secret": "walkthrough-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    settings.GITLAB_URL = fake.base
    settings.PUBLIC_URL = live_server.url
    backend = fake.project("acme/backend")
    fake.project("acme/infra")
    fake.merge_request(backend, 3, "Speed up the search index", "john_smith")
    yield fake
    fake.stop()


def test_gitlab_from_sign_up_through_connect_and_import(live_server, gitlab):
    from playwright.sync_api import expect, sync_playwright

    url = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport=DESKTOP)
        page.goto(f"{url}/accounts/signup/")
        page.get_by_label("Username").fill("john")
        page.locator("input[name=password1]").fill("a-long-passphrase-1")
        page.locator("input[name=password2]").fill("a-long-passphrase-1")
        page.get_by_role("button", name="Sign Up").click()
        page.wait_for_url(f"{url}/dashboard/")
        page.get_by_role("button", name="Connect GitLab").click()
        page.wait_for_url(f"{url}/dashboard/repositories/pick/gitlab/")
        expect(page.get_by_text("GitLab connected as @john_smith.")).to_be_visible()
        page.get_by_label("acme/backend").check()
        page.get_by_role("button", name="Connect the chosen repositories").click()
        page.wait_for_url(f"{url}/dashboard/repositories/connecting/")
        job = page.locator("li.job")
        expect(job).to_contain_text("Connected")
        expect(job).to_contain_text("token can read the repository")
        expect(job).to_contain_text("imported 1 pull request ")
        shoot(page, "gitlab-1-connecting")

        def hook_verified() -> bool:
            """the GitLab hook verified by its test delivery"""
            return WebhookEndpoint.objects.filter(verified_at__isnull=False).exists()

        wait_for(hook_verified)
        page.goto(f"{url}/dashboard/")
        expect(page.get_by_role("region", name="Open in your teams")).to_contain_text(
            "Speed up the search index"
        )
        shoot(page, "gitlab-2-today")
        browser.close()

    assert gitlab.unknown == []
    assert gitlab.tests == [202]
    repository = ConnectedRepository.objects.get()
    assert (repository.provider, repository.full_name) == ("gitlab", "acme/backend")
    assert repository.organization.name == "acme"
