"""The dashboard pages: queue with "why you", points, leaderboard, team stats,
availability settings — content, bad input, team isolation, query counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from integrations.models import OrganizationMembership
from reviews.models import (
    AvailabilityWindow,
    Member,
    ProviderIdentity,
    PullRequest,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)
from reviews.stats import _compute
from rewards.models import PointsEntry
from rewards.services import rule_get
from tests.factories import (
    CommentFactory,
    OrganizationFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


def seed_member(username: str, team, logins=("mona",)) -> tuple:
    user = get_user_model().objects.create_user(username, password="a-passphrase")
    OrganizationMembership.objects.create(organization=team, user=user)
    member = Member.objects.create(display_name=username.title(), user=user)
    identities = [
        ProviderIdentity.objects.create(
            provider="github", host="github.com", login=login, member=member
        )
        for login in logins
    ]
    return user, identities


def waiting_pull(repository, number: int, *, hours_ago: float, reviewer="mona"):
    pull = PullRequestFactory(
        repository=repository,
        number=number,
        title=f"Make checkout faster #{number}",
        state="open",
        author_login="octocat",
        additions=120,
        deletions=30,
        requested_reviewers=[reviewer],
    )
    ReviewRequest.objects.create(
        pull_request=pull,
        reviewer_login=reviewer,
        requested_at=timezone.now() - timedelta(hours=hours_ago),
    )
    return pull


def ledger_line(identity, points, pull, *, source, reason="reviewed", days_ago=0):
    return PointsEntry.objects.create(
        identity=identity,
        rule=rule_get("review_session"),
        rule_version=1,
        points=points,
        reason=reason,
        source=source,
        pull_request=pull,
        earned_at=timezone.now() - timedelta(days=days_ago),
    )


@pytest.fixture
def team():
    return OrganizationFactory(slug="core", name="Core")


@pytest.fixture
def mona(client, team):
    user, identities = seed_member("mona", team)
    client.force_login(user)
    return identities


def test_queue_shows_why_you_and_the_sla(client, team, mona):
    repository = RepositoryFactory(organization=team, full_name="acme/shop")
    pull = waiting_pull(repository, 7, hours_ago=24 * 8)
    ReviewAssignment.objects.create(
        pull_request=pull,
        trigger="opened",
        strategy="expertise",
        status="requested",
        reviewers=["mona"],
        explanation={
            "strategy": "expertise",
            "pool": {"mona": ["code owner (Backend)"]},
            "expertise": {"mona": 0.8},
        },
    )
    waiting_pull(repository, 8, hours_ago=0.5)
    elsewhere = RepositoryFactory(full_name="other/secret")  # not mona's team
    waiting_pull(elsewhere, 9, hours_ago=30)

    page = client.get("/dashboard/queue/").content.decode()

    assert "Make checkout faster #7" in page and "Make checkout faster #8" in page
    assert "other/secret" not in page
    assert (
        "Why you:</strong> code owner (Backend); best expertise score; "
        "knows these files (expertise 0.80)" in page
    )
    assert "requested directly on the provider" in page  # #8 has no assignment
    assert "Overdue: waiting" in page and "150 lines" in page
    assert page.index("#7") < page.index("#8")  # oldest request first


def test_queue_shows_who_each_of_my_pull_requests_waits_on(client, team, mona):
    """The attention set of each of the person's own open pull requests, under
    any of their linked logins."""
    repository = RepositoryFactory(organization=team)
    asked = PullRequestFactory(
        repository=repository,
        number=51,
        title="Asked of people and a team",
        author_login="Mona",
        requested_teams=["backend"],
    )
    ReviewRequest.objects.create(
        pull_request=asked, reviewer_login="hubot", requested_at=timezone.now()
    )
    answered = PullRequestFactory(
        repository=repository, number=52, title="Changes wanted", author_login="mona"
    )
    ReviewFactory(
        pull_request=answered, reviewer_login="hubot", state="changes_requested"
    )
    questioned = PullRequestFactory(
        repository=repository, number=53, title="A question", author_login="mona"
    )
    CommentFactory(
        pull_request=questioned, author_login="hubot", body="Why two caches?"
    )
    PullRequestFactory(
        repository=repository, number=54, title="Nobody yet", author_login="mona"
    )
    PullRequestFactory(repository=repository, number=55, author_login="octocat")
    page = client.get("/dashboard/queue/").content.decode()
    mine = page[page.index("Your pull requests") :]
    assert "waiting on @hubot, team backend" in mine
    assert "changes requested: your turn" in mine
    assert "a question from @hubot: your turn" in mine
    assert "nobody is asked yet" in mine
    assert "#55" not in mine  # someone else's


def test_queue_without_a_linked_account_says_how_to_get_one(client, team):
    user = get_user_model().objects.create_user("newbie")
    client.force_login(user)
    page = client.get("/dashboard/").content.decode()
    assert "Connect GitHub or GitLab below" in page


@pytest.mark.parametrize("count", [1, 25])
def test_pages_make_a_constant_number_of_queries(
    client, team, mona, count, django_assert_max_num_queries
):
    repository = RepositoryFactory(organization=team)
    for number in range(count):
        pull = waiting_pull(repository, 100 + number, hours_ago=number)
        ledger_line(mona[0], 10, pull, source=f"seed:{number}")
    cache.clear()
    # The queue's requests, then those asked of a team the person is in: one
    # more query each on the two pages that show it; Today also reads the
    # person's own pull requests, their verdicts and comments ("Your turn"),
    # and the queue, with the requests of those, who each one waits on. A
    # board reads whole days from the daily totals, the partial first day's
    # lines and what is still provisional (and the same for levels).
    limits = {
        "/dashboard/": 23,
        "/dashboard/queue/": 12,
        "/dashboard/leaderboard/": 12,
        "/dashboard/points/": 8,
        "/dashboard/stats/": 13,
        "/dashboard/settings/": 7,
    }
    for url, limit in limits.items():
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200, url


def test_leaderboard_page_periods_and_bad_input(client, team, mona):
    pull = PullRequestFactory(repository__organization=team, state="merged")
    ledger_line(mona[0], 10, pull, source="seed")
    page = client.get("/dashboard/leaderboard/").content.decode()
    assert "Congratulations to mona" in page and "<strong>10</strong>" in page
    # Unknown period or a team that is not mine: the normal page, never an error.
    assert client.get("/dashboard/leaderboard/?period=decade").status_code == 200
    other = OrganizationFactory(slug="other")
    page = client.get(f"/dashboard/leaderboard/?team={other.slug}").content.decode()
    assert "Congratulations to mona" in page
    season = client.get("/dashboard/leaderboard/?period=season").content.decode()
    assert "No season is running" in season


def test_points_page_is_team_scoped(client, team, mona):
    stranger_pull = PullRequestFactory(state="merged")  # another team
    stranger = ProviderIdentity.objects.create(
        provider="github", host="github.com", login="stranger"
    )
    ledger_line(stranger, 10, stranger_pull, source="x", reason="secret review")
    answer = client.get("/dashboard/points/?member=github:stranger")
    assert answer.status_code == 404  # not shared with mona (README "Privacy")
    assert "secret review" not in answer.content.decode()


def test_settings_save_and_refuse_bad_hours(client, mona):
    response = client.post(
        "/dashboard/settings/",
        {
            "timezone": "Europe/Berlin",
            "workday_start_hour": "8",
            "workday_end_hour": "16",
            "capacity": "3",
        },
    )
    assert response.status_code == 302
    profile = ReviewerProfile.objects.get(identity=mona[0])
    assert (profile.timezone, profile.workday_end_hour, profile.capacity) == (
        "Europe/Berlin",
        16,
        3,
    )
    bad = client.post(
        "/dashboard/settings/",
        {
            "timezone": "Mars/Olympus",
            "workday_start_hour": "17",
            "workday_end_hour": "9",
            "capacity": "-1",
        },
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Select a valid choice" in text
    assert "greater than or equal to 0" in text
    profile.refresh_from_db()
    assert (profile.timezone, profile.capacity) == ("Europe/Berlin", 3)


def test_time_away_add_list_and_remove(client, team):
    user, identities = seed_member("kim", team, logins=("kim", "kim-gl"))
    client.force_login(user)
    today = timezone.localdate()
    response = client.post(
        "/dashboard/settings/away/",
        {
            "first_day": today + timedelta(days=3),
            "last_day": today + timedelta(days=9),
            "note": "Lisbon",
        },
        follow=True,
    )
    assert "Enjoy your time away" in response.content.decode()
    assert AvailabilityWindow.objects.count() == 2  # one per login
    page = client.get("/dashboard/settings/").content.decode()
    assert page.count("<em>Lisbon</em>") == 1  # listed once, not per login

    for bad, message in [
        ({"first_day": today + timedelta(days=5), "last_day": today}, "comes before"),
        ({"first_day": "2020-01-01", "last_day": "2020-01-02"}, "already over"),
        ({"first_day": "soon", "last_day": ""}, "Enter a valid date"),
    ]:
        text = client.post(
            "/dashboard/settings/away/", bad, follow=True
        ).content.decode()
        assert message in text
    assert AvailabilityWindow.objects.count() == 2  # nothing added

    window = AvailabilityWindow.objects.first()
    other, _ = seed_member("lee", team, logins=("lee",))
    client.force_login(other)
    denied = client.post(f"/dashboard/settings/away/{window.pk}/delete/", follow=True)
    assert "was not found" in denied.content.decode()
    assert AvailabilityWindow.objects.count() == 2
    client.force_login(user)
    client.post(f"/dashboard/settings/away/{window.pk}/delete/")
    assert AvailabilityWindow.objects.count() == 0


def test_dashboard_pages_need_a_sign_in(client):
    for url in ["/dashboard/queue/", "/dashboard/stats/", "/dashboard/settings/"]:
        response = client.get(url)
        assert (
            response.status_code == 302 and "/accounts/login/" in response["Location"]
        )
    assert client.get("/dashboard/settings/away/").status_code == 302


def test_team_stats_figures(team):
    now = datetime(2026, 11, 20, 17, tzinfo=UTC)  # a Friday
    monday = datetime(2026, 11, 16, 9, tzinfo=UTC)
    repository = RepositoryFactory(organization=team)
    fast = PullRequestFactory(
        repository=repository,
        author_login="octocat",
        state="merged",
        provider_created_at=monday,
        merged_at=monday + timedelta(hours=6),
    )
    ReviewFactory(
        pull_request=fast,
        reviewer_login="mona",
        state="approved",
        body="",
        submitted_at=monday + timedelta(hours=2),
    )
    slow = PullRequestFactory(
        repository=repository,
        author_login="octocat",
        state="merged",
        provider_created_at=monday,
        merged_at=monday + timedelta(days=2),
    )
    ReviewFactory(  # the author's own comment does not count as a first review
        pull_request=slow,
        reviewer_login="octocat",
        state="commented",
        submitted_at=monday + timedelta(hours=1),
    )
    ReviewFactory(
        pull_request=slow,
        reviewer_login="kim",
        state="approved",
        body="Looks right; the retry is bounded.",
        submitted_at=monday + timedelta(days=1),  # Tuesday 09:00: 9 business hours
    )
    PullRequestFactory(  # merged with no review
        repository=repository,
        author_login="octocat",
        state="merged",
        provider_created_at=monday,
        merged_at=monday + timedelta(hours=1),
    )
    ReviewRequest.objects.create(
        pull_request=slow,
        reviewer_login="kim",
        requested_at=monday,
        responded_at=monday + timedelta(days=1),
    )
    stats = _compute(
        type(repository).objects.filter(organization=team), days=28, now=now
    )
    assert stats.time_to_first_review.count == 2
    assert stats.time_to_first_review.median == pytest.approx(5.5)  # (2 + 9) / 2
    assert stats.request_turnaround.median == pytest.approx(9.0)
    assert stats.review_time.median == pytest.approx((4 + 9) / 2)
    assert (stats.approvals, stats.approvals_without_comment) == (2, 1)
    assert (stats.merged, stats.merged_reviewed) == (3, 2)
    assert stats.trend[-1][1] == pytest.approx(5.5)
    assert {login: done for login, _, done in stats.load} == {"mona": 1, "kim": 1}


def test_leaderboard_is_per_team_by_default(client, team, mona):
    second = OrganizationFactory(slug="zeta", name="Zeta")
    OrganizationMembership.objects.create(organization=second, user=mona[0].member.user)
    kim = ProviderIdentity.objects.create(
        provider="github", host="github.com", login="kim"
    )
    ledger_line(
        mona[0],
        10,
        PullRequestFactory(repository__organization=team, state="merged"),
        source="a",
    )
    ledger_line(
        kim,
        7,
        PullRequestFactory(repository__organization=second, state="merged"),
        source="b",
    )
    default = client.get("/dashboard/leaderboard/").content.decode()
    assert "Congratulations to mona" in default and "github:kim" not in default
    everyone = client.get("/dashboard/leaderboard/?team=").content.decode()
    assert "github:kim" in everyone
    zeta = client.get("/dashboard/leaderboard/?team=zeta").content.decode()
    assert "Congratulations to github:kim" in zeta


def test_repositories_show_their_latest_health(client, team, mona):
    from integrations.models import IntegrationHealth

    repository = RepositoryFactory(organization=team, full_name="acme/shop")
    IntegrationHealth.objects.create(
        repository=repository,
        status="healthy",
        checked_at=timezone.now() - timedelta(minutes=10),
    )
    IntegrationHealth.objects.create(
        repository=repository,
        status="unhealthy",
        reasons=["webhook deleted on the provider"],
        checked_at=timezone.now(),
    )
    page = client.get("/dashboard/").content.decode()
    assert '<span class="status status-unhealthy">Unhealthy</span>' in page
    assert "webhook deleted on the provider" in page


def test_a_request_to_a_team_shows_in_each_members_queue_until_they_review(
    client, team, mona
):
    from reviews.models import RepositoryReviewSettings

    repository = RepositoryFactory(organization=team, full_name="octo/shop")
    RepositoryReviewSettings.objects.create(
        repository=repository, teams={"@octo/payments": ["Mona", "kim"]}
    )
    pull = waiting_pull(repository, 31, hours_ago=3)
    ReviewRequest.objects.filter(pull_request=pull).delete()  # no one by name
    PullRequest.objects.filter(pk=pull.pk).update(requested_teams=["payments"])
    page = client.get("/dashboard/queue/").content.decode()
    assert "Make checkout faster #31" in page
    assert "team request · @octo/payments" in page
    assert "a team you are in: the first to answer takes it" in page

    ReviewFactory(pull_request=pull, reviewer_login="mona", state="commented")
    page = client.get("/dashboard/queue/").content.decode()
    assert "#31" not in page

    other = waiting_pull(repository, 32, hours_ago=3)
    ReviewRequest.objects.filter(pull_request=other).delete()
    PullRequest.objects.filter(pk=other.pk).update(requested_teams=["infra"])
    assert "#32" not in client.get("/dashboard/queue/").content.decode()


def test_team_stats_count_requests_waiting_on_a_team(team):
    repository = RepositoryFactory(organization=team, full_name="octo/shop")
    for number, teams in ((41, ["payments"]), (42, ["payments", "infra"])):
        PullRequestFactory(
            repository=repository, number=number, state="open", requested_teams=teams
        )
    PullRequestFactory(
        repository=repository, number=43, state="merged", requested_teams=["infra"]
    )
    from integrations.models import ConnectedRepository

    stats = _compute(ConnectedRepository.objects.all(), 28, timezone.now())
    assert ("@octo/payments", 2, 0) in stats.load
    assert ("@octo/infra", 1, 0) in stats.load


def test_your_turn_lists_own_pull_requests_waiting_on_their_author(client, team, mona):
    repository = RepositoryFactory(organization=team, full_name="octo/shop")
    changes = PullRequestFactory(
        repository=repository,
        number=51,
        state="open",
        title="Fix rounding",
        author_login="mona",
    )
    ReviewFactory(pull_request=changes, reviewer_login="kim", state="approved")
    ReviewFactory(pull_request=changes, reviewer_login="lee", state="changes_requested")
    approved = PullRequestFactory(
        repository=repository,
        number=52,
        state="open",
        title="Faster search",
        author_login="mona",
    )
    ReviewFactory(pull_request=approved, reviewer_login="kim", state="approved")
    waiting = PullRequestFactory(
        repository=repository,
        number=53,
        state="open",
        title="Untouched",
        author_login="mona",
    )
    others = PullRequestFactory(
        repository=repository,
        number=54,
        state="open",
        title="Not mine",
        author_login="kim",
    )
    ReviewFactory(pull_request=others, reviewer_login="mona", state="approved")
    page = client.get("/dashboard/").content.decode()
    start = page.index("Your turn on your own pull requests")
    turn = page[start : page.index("</section>", start)]
    assert "Fix rounding" in turn and "changes requested: your turn" in turn
    assert "Faster search" in turn and "approved: ready to merge?" in turn
    assert waiting.title not in turn and "Not mine" not in turn


def test_a_look_alike_login_is_offered_to_link_never_linked_on_a_claim(
    client, team, mona
):
    """gitlab:mona reviewed in mona's team: Today asks whether it is her and
    points to Connect; nothing is linked until she connects that account."""
    gitlab_repo = RepositoryFactory(
        organization=team, provider="gitlab", host="gitlab.com"
    )
    pull = PullRequestFactory(repository=gitlab_repo, author_login="someone")
    ReviewFactory(pull_request=pull, reviewer_login="Mona")
    look_alike = ProviderIdentity.objects.create(
        provider="gitlab", host="gitlab.com", login="Mona"
    )
    # The same name with no work in her teams is not offered.
    ProviderIdentity.objects.create(
        provider="gitlab", host="gitlab.example", login="mona"
    )
    page = client.get("/dashboard/").content.decode()
    assert "Is this you?" in page
    assert "gitlab:Mona</strong> on gitlab.com" in page
    assert "gitlab.example" not in page
    look_alike.refresh_from_db()
    assert look_alike.member_id is None
    # Linked (connected): no longer offered.
    look_alike.member = mona[0].member
    look_alike.save()
    assert "Is this you?" not in client.get("/dashboard/").content.decode()
