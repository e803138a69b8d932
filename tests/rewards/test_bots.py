"""Bots and AI reviewers: no points, on no leaderboard, never the first review
in the statistics, never asked to review; named by the code host, by an admin
or by CODEQUEST_BOT_LOGINS; GitLab's token users are bots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from integrations.providers.gitlab.shapes import user_ref
from reviews.assignment.pipeline import Request, reviewers_choose
from reviews.bots import is_bot_login
from reviews.business_time import business_hours_between
from reviews.models import ProviderIdentity, Review
from reviews.stats import _compute
from rewards.models import PointsEntry
from rewards.services import points_reconcile
from tests.factories import PullRequestFactory, RepositoryFactory
from tests.rewards.test_rewards_api import entry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "bot"),
    [
        ("project_278964_bot_3a1e9f2b", True),
        ("group_42_bot_b7c1", True),
        ("project_5_bot", True),
        ("support-bot", True),
        ("alice", False),
        ("robot-arm", False),
        ("project_manager", False),
    ],
)
def test_gitlab_token_users_are_bots(username, bot):
    assert user_ref(username, 7).is_bot is bot


def test_a_configured_login_is_a_bot_in_any_case(settings):
    settings.CODEQUEST_BOT_LOGINS = frozenset({"reviewgpt"})
    assert is_bot_login("ReviewGPT") and is_bot_login("renovate[bot]")
    assert not is_bot_login("alice")


def test_a_configured_reviewer_earns_nothing_and_is_on_no_board(settings):
    settings.CODEQUEST_BOT_LOGINS = frozenset({"reviewgpt"})
    pull = PullRequestFactory(author_login="octocat", state="merged")
    for login in ("ReviewGPT", "alice"):
        Review.objects.create(
            pull_request=pull,
            external_id=login,
            reviewer_login=login,
            state="approved",
            body="Looks right to me: the retry covers the timeout.",
            submitted_at=timezone.now(),
        )
    points_reconcile(pull_request=pull)
    earners = set(PointsEntry.objects.values_list("identity__login", flat=True))
    assert "ReviewGPT" not in earners and "alice" in earners

    # Lines paid before the account was known as a bot: off the board anyway.
    entry("ReviewGPT", 10, pull)
    from django.contrib.auth import get_user_model

    from rewards.selectors import leaderboard_list

    superuser = get_user_model().objects.create_superuser("root")
    board = {row["member"] for row in leaderboard_list(user=superuser)}
    assert "github:ReviewGPT" not in board and "github:alice" in board


def test_a_bots_review_is_not_the_first_review():
    repository = RepositoryFactory()
    opened = datetime(2026, 11, 23, 9, tzinfo=UTC)  # a Monday morning
    pull = PullRequestFactory(
        repository=repository, author_login="octocat", provider_created_at=opened
    )
    ProviderIdentity.objects.create(
        provider="github", host="github.com", login="Copilot", is_bot=True
    )
    for login, after in (("Copilot", 1), ("coderabbitai[bot]", 2), ("alice", 26)):
        Review.objects.create(
            pull_request=pull,
            external_id=login,
            reviewer_login=login,
            state="commented",
            submitted_at=opened + timedelta(hours=after),
        )
    stats = _compute(
        type(repository).objects.filter(pk=repository.pk),
        28,
        datetime(2026, 11, 30, 12, tzinfo=UTC),
    )
    # alice's review, Tuesday 11:00, is the first: 11 working hours, not 1.
    assert stats.time_to_first_review.count == 1
    assert stats.time_to_first_review.median == business_hours_between(
        opened, opened + timedelta(hours=26)
    )
    assert stats.time_to_first_review.median == 11


def test_a_configured_bot_is_never_asked_to_review(settings):
    """The chooser's facts about a candidate say "bot" for a configured login,
    so the pipeline leaves it out."""
    from reviews.assignment.service import _reviewer_facts

    settings.CODEQUEST_BOT_LOGINS = frozenset({"reviewgpt"})
    repository = RepositoryFactory()
    facts = _reviewer_facts(repository, {"ReviewGPT", "alice"})
    assert (facts["ReviewGPT"].is_bot, facts["alice"].is_bot) == (True, False)
    choice = reviewers_choose(
        Request(author="octocat", team_pool=("@ReviewGPT", "@alice"), people=facts)
    )
    assert choice.explanation["filtered"]["ReviewGPT"] == "is a bot", choice
    assert choice.reviewers == ("alice",)
