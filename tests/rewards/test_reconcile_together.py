"""Reconciling many pull requests together (what a batch of deliveries does)
writes the ledger that reconciling them one by one writes, in a number of
queries that does not grow with the number of pull requests."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from reviews.models import (
    Comment,
    Member,
    ProviderIdentity,
    RepositoryReviewSettings,
    Review,
    ReviewerProfile,
    ReviewRequest,
)
from rewards.models import Credit, PointsEntry
from rewards.services import base_key, points_reconcile, pulls_reconcile, rules_all
from tests.factories import (
    BASE_TIME,
    CommentFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

SUBSTANTIVE = "This loop never ends when the list is empty; guard it."


def identity(repository, login: str, member: Member | None = None):
    return ProviderIdentity.objects.create(
        provider=repository.provider,
        host=repository.host,
        login=login,
        member=member,
    )


def reviewed_pull(repository, number: int, reviewer: str, *, minutes: int, **fields):
    """A merged pull request with a review, an inline comment of that review
    and a review request made an hour before."""
    submitted = BASE_TIME + timedelta(minutes=minutes)
    pull = PullRequestFactory(
        repository=repository,
        number=number,
        author_login=fields.pop("author", "bob"),
        state="merged",
        merged_at=submitted + timedelta(minutes=30),
        additions=240,
        deletions=10,
        provider_created_at=submitted - timedelta(hours=2),
        **fields,
    )
    review = ReviewFactory(
        pull_request=pull,
        reviewer_login=reviewer,
        state="changes_requested",
        body=SUBSTANTIVE,
        submitted_at=submitted,
    )
    CommentFactory(
        pull_request=pull,
        author_login=reviewer,
        review_external_id=review.external_id,
        body=SUBSTANTIVE,
        provider_created_at=submitted,
        provider_updated_at=submitted,
    )
    ReviewRequest.objects.create(
        pull_request=pull,
        reviewer_login=reviewer,
        requested_at=submitted - timedelta(hours=1),
    )
    return pull


@pytest.fixture
def pulls(settings):
    """Twelve pull requests in a GitHub and a self-hosted GitLab repository:
    alice (one person, a login on each) reviews past the daily cap, one pull
    request is hers under a third login, one is labelled spam, one
    repository has a one-hour SLA and alice works in Berlin."""
    settings.REWARDS_DAILY_CAP = 60
    github = RepositoryFactory()
    gitlab = RepositoryFactory(provider="gitlab", host="gitlab.example.com")
    RepositoryReviewSettings.objects.create(repository=gitlab, sla_hours=1)
    alice = Member.objects.create(display_name="Alice")
    profile_of = identity(github, "alice", alice)
    identity(gitlab, "alice-gl", alice)
    identity(gitlab, "alice.w", alice)
    ReviewerProfile.objects.create(identity=profile_of, timezone="Europe/Berlin")
    for repository in (github, gitlab):
        identity(repository, "bob")
        identity(repository, "carol")
    rows = [
        reviewed_pull(github, number, "alice", minutes=10 * number)
        for number in range(1, 6)
    ]
    rows += [
        reviewed_pull(gitlab, number, "alice-gl", minutes=10 * number)
        for number in range(1, 4)
    ]
    rows.append(reviewed_pull(github, 20, "carol", minutes=5, labels=["Spam"]))
    rows.append(reviewed_pull(gitlab, 21, "alice-gl", minutes=7, author="alice.w"))
    rows.append(reviewed_pull(github, 22, "carol", minutes=8))
    rows.append(reviewed_pull(gitlab, 23, "carol", minutes=9))
    return rows


def ledger() -> Counter:
    """What the ledger holds, net, per person, rule, credit, moment and pull
    request (the lines that lead there differ with the order of recounts: a
    line paid, then partly taken back over the cap, nets the same)."""
    held: Counter = Counter()
    for (
        login,
        rule,
        source,
        earned_at,
        pull,
        repository,
        points,
    ) in PointsEntry.objects.values_list(
        "identity__login",
        "rule__key",
        "source",
        "earned_at",
        "pull_request_id",
        "repository_id",
        "points",
    ):
        held[(login, rule, base_key(source), earned_at, pull, repository)] += points
    return +held


def credits() -> set[tuple]:
    return set(
        Credit.objects.values_list(
            "identity__login", "rule__key", "key", "points", "reason", "earned_at"
        )
    )


def one_by_one(pulls) -> tuple[Counter, set[tuple]]:
    """The ledger and credits reconciling each pull request alone gives
    (rolled back)."""
    with transaction.atomic():
        for pull in pulls:
            points_reconcile(pull_request=pull)
        state = ledger(), credits()
        transaction.set_rollback(True)
    return state


def test_together_writes_the_ledger_one_by_one_writes(pulls):
    expected, expected_credits = one_by_one(pulls)
    written = pulls_reconcile(pulls=pulls)
    assert ledger() == expected
    assert credits() == expected_credits
    # Not a trivial ledger: alice is capped for the day across both logins,
    # her own pull request and the spam one pay nothing, timeliness counts.
    by_login: Counter = Counter()
    for (login, *_), points in expected.items():
        by_login[login] += points
    assert by_login["alice"] + by_login["alice-gl"] + by_login["alice.w"] == 60
    alice_credits = Credit.objects.filter(identity__member__isnull=False)
    assert sum(alice_credits.values_list("points", flat=True)) > 60
    assert written
    assert not [key for key in expected if key[4] in (pulls[8].pk, pulls[9].pk)]
    assert [key for key in expected if key[1] == "review_timely"] != []
    assert pulls_reconcile(pulls=pulls) == []


def test_together_takes_back_what_one_by_one_takes_back(pulls):
    pulls_reconcile(pulls=pulls)
    Review.objects.filter(pull_request=pulls[0]).update(state="dismissed")
    Comment.objects.filter(pull_request=pulls[5]).update(is_deleted=True)
    Review.objects.filter(pull_request=pulls[10]).delete()
    before = ledger()
    expected, expected_credits = one_by_one(pulls)
    pulls_reconcile(pulls=pulls)
    assert ledger() == expected
    assert credits() == expected_credits
    lost = {key[4] for key in before if before[key] > expected.get(key, 0)}
    # A take-back is a new line of the same credit: its second source.
    take_backs = PointsEntry.objects.filter(points__lt=0, pull_request=pulls[0])
    assert {
        source.rsplit("#", 1)[1]
        for source in take_backs.values_list("source", flat=True)
    } == {"2"}
    assert lost >= {pulls[0].pk, pulls[5].pk, pulls[10].pk}
    assert set(
        Credit.objects.filter(pull_request=pulls[10]).values_list(
            "rule__key", flat=True
        )
    ) == {"review_comment"}
    assert pulls_reconcile(pulls=pulls) == []


def test_the_queries_do_not_grow_with_the_pull_requests(pulls):
    rules_all()  # the rules exist (created the first time they are asked for)
    counts = []
    for group in (pulls[:3], pulls[3:]):
        with CaptureQueriesContext(transaction.get_connection()) as queries:
            pulls_reconcile(pulls=group)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # Lock and read the pull requests, their comments, reviews, assignments,
    # people, requests, profiles and settings; the rules and credits; write the
    # new credits; lock the people; read their credits and lines; count the
    # lines of each credit; write the new lines. Before locking, their reviews,
    # the reviewers' and authors' linked logins and the later reciprocal
    # exchanges of those pairs (rewards.reciprocal).
    assert counts[1] <= 21
