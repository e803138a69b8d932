"""Give and take: review work given against received, size-weighted, per
login and per person; private to the person; it breaks ties in assignment
before the alphabet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reviews.assignment.pipeline import Request, reviewers_choose
from reviews.assignment.service import _reviewer_facts
from reviews.give_take import GiveTake, give_take
from tests.factories import PullRequestFactory, RepositoryFactory, ReviewFactory

pytestmark = pytest.mark.django_db
GH = ("github", "github.com")


def reviewed(pull, login: str, *, times: int = 1) -> None:
    for _ in range(times):
        ReviewFactory(
            pull_request=pull,
            reviewer_login=login,
            submitted_at=timezone.now() - timedelta(days=1),
        )


def test_given_and_received_are_weighted_by_size_and_counted_once():
    repository = RepositoryFactory()
    small = PullRequestFactory(
        repository=repository,
        author_login="octocat",
        additions=60,
        deletions=40,
        provider_created_at=timezone.now() - timedelta(days=2),
    )
    huge = PullRequestFactory(
        repository=repository,
        author_login="octocat",
        additions=1500,
        deletions=500,
        provider_created_at=timezone.now() - timedelta(days=2),
    )
    reviewed(small, "Mona", times=3)  # three reviews of one pull request: once
    reviewed(huge, "mona")
    reviewed(huge, "renovate[bot]")  # a bot's review is not received work
    reviewed(small, "octocat")  # nor is one's own
    found = give_take({(*GH, "mona"), (*GH, "octocat")})
    assert found[(*GH, "mona")] == GiveTake(
        given=13.0, received=0.0, reviews_given=2, reviews_received=0
    )
    assert found[(*GH, "octocat")] == GiveTake(
        given=0.0, received=13.0, reviews_given=0, reviews_received=2
    )
    assert found[(*GH, "mona")].balance == 13.0
    # Another code host's "mona" is another person.
    assert give_take({("gitlab", "gitlab.com", "mona")}) == {
        ("gitlab", "gitlab.com", "mona"): GiveTake()
    }


def test_who_took_more_than_they_gave_is_asked_first_among_equals():
    repository = RepositoryFactory()
    theirs = PullRequestFactory(
        repository=repository,
        author_login="bob",
        provider_created_at=timezone.now() - timedelta(days=3),
    )
    reviewed(theirs, "alice")  # alice gave, bob received
    facts = _reviewer_facts(repository, {"alice", "bob"})
    assert (facts["alice"].give_take, facts["bob"].give_take) == (1.0, -1.0)
    choice = reviewers_choose(
        Request(author="octocat", team_pool=("@alice", "@bob"), people=facts)
    )
    assert choice.reviewers == ("bob",)  # not alice, first in the alphabet
