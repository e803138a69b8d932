"""Self-review, the daily cap and the bot rule apply to the person (every
linked login), not to one login."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.providers.base import EventKind, NormalizedEvent
from reviews.models import Member, ProviderIdentity
from rewards.models import PointsEntry
from tests.factories import PullRequestFactory
from tests.rewards.test_points import points_award, review_event

pytestmark = pytest.mark.django_db


def person(name: str, *logins: str) -> Member:
    member = Member.objects.create(display_name=name)
    for login in logins:
        ProviderIdentity.objects.create(
            provider="github", host="github.com", login=login, member=member
        )
    return member


def points_of(member: Member) -> int:
    return sum(
        PointsEntry.objects.filter(identity__member=member).values_list(
            "points", flat=True
        )
    )


def test_reviewing_your_own_pull_request_from_another_login_earns_nothing():
    octo = person("Octo", "octocat", "octo-work")
    pull = PullRequestFactory(author_login="octocat")

    earned = points_award(
        event=review_event(pull, login="octo-work"), pull_request=pull
    )
    comment = review_event(pull, login="octo-work", body="A long and careful remark.")

    assert earned == []
    assert points_award(event=comment, pull_request=pull) == []
    assert points_of(octo) == 0


def test_the_daily_cap_counts_all_of_a_persons_logins(settings):
    settings.REWARDS_DAILY_CAP = 25
    mona = person("Mona", "mona", "mona-gl")
    now = timezone.now()
    for number, login in enumerate(["mona", "mona-gl", "mona", "mona-gl"]):
        pull = PullRequestFactory(author_login="octocat", number=200 + number)
        points_award(
            event=review_event(pull, login=login, submitted_at=now), pull_request=pull
        )
    assert points_of(mona) == 25


def test_a_bots_pull_request_earns_the_bot_nothing_on_merge():
    ProviderIdentity.objects.create(
        provider="github", host="github.com", login="renovate[bot]", is_bot=True
    )
    pull = PullRequestFactory(author_login="renovate[bot]")
    points_award(event=review_event(pull, login="hubot"), pull_request=pull)
    merged = NormalizedEvent(
        kind=EventKind.PR_MERGED, provider="github", occurred_at=timezone.now()
    )

    points_award(event=merged, pull_request=pull)

    bot_lines = PointsEntry.objects.filter(identity__login="renovate[bot]")
    assert not bot_lines.exists()
    assert set(
        PointsEntry.objects.filter(identity__login="hubot").values_list(
            "rule__key", flat=True
        )
    ) == {"review_session", "merge_reviewer"}


def test_a_bot_identity_never_earns_even_if_the_payload_forgets_to_say_so():
    ProviderIdentity.objects.create(
        provider="github", host="github.com", login="ci-helper", is_bot=True
    )
    pull = PullRequestFactory(author_login="octocat")
    assert (
        points_award(event=review_event(pull, login="ci-helper"), pull_request=pull)
        == []
    )
