"""Fair play: reciprocal pairs earn less for each further exchange, in any
order of events; the gaming simulation of a month (README "Fair play")."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Sum

from integrations.models import OrganizationMembership
from reviews.models import Member, ProviderIdentity
from rewards.models import Credit, PointsEntry
from rewards.reciprocal import share_after
from rewards.services import pulls_reconcile
from tests.factories import (
    CommentFactory,
    OrganizationFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 1, 10, tzinfo=UTC)


def test_the_curve_halves_with_each_approval_traded():
    assert [share_after(k) for k in range(9)] == [100, 50, 25, 12, 6, 3, 1, 0, 0]


@pytest.fixture
def repo():
    return RepositoryFactory(organization=OrganizationFactory(slug="core"))


def approve(repo, author, reviewer, day, *, lines=20, body="", merged=True):
    """A small pull request by ``author`` approved by ``reviewer`` on ``day``
    (merged an hour later); not reconciled yet."""
    at = START + timedelta(days=day)
    pull = PullRequestFactory(
        repository=repo,
        author_login=author,
        additions=lines,
        deletions=0,
        provider_created_at=at - timedelta(hours=1),
        state="merged" if merged else "open",
        merged_at=at + timedelta(hours=1) if merged else None,
    )
    ReviewFactory(
        pull_request=pull, reviewer_login=reviewer, submitted_at=at, body=body
    )
    return pull


def earned(login):
    return (
        PointsEntry.objects.filter(identity__login=login).aggregate(
            total=Sum("points")
        )["total"]
        or 0
    )


def test_a_reciprocal_pair_earns_less_for_each_further_exchange(repo):
    pulls = [
        approve(
            repo,
            "bob" if day % 2 == 0 else "ann",
            "ann" if day % 2 == 0 else "bob",
            day,
        )
        for day in range(4)
    ]
    pulls_reconcile(pulls=pulls)
    sessions = dict(
        Credit.objects.filter(rule__key="review_session").values_list(
            "pull_request_id", "points"
        )
    )
    # ann→bob, bob→ann: one approval traded; each further one pays half
    assert [sessions[pull.pk] for pull in pulls] == [10, 10, 5, 5]
    third = Credit.objects.get(pull_request=pulls[2], rule__key="review_session")
    assert third.share == 50
    assert third.reason.endswith("(approvals traded with bob: 1 in 30 days: 50%)")
    author = Credit.objects.get(pull_request=pulls[3], rule__key="merge_author")
    assert (author.share, author.points) == (50, 2)


def test_approving_one_persons_many_small_changes_one_way_pays_in_full(repo):
    pulls = [approve(repo, "junior", "senior", day) for day in range(8)]
    pulls_reconcile(pulls=pulls)
    assert set(Credit.objects.values_list("share", flat=True)) == {100}
    assert earned("senior") == 8 * (10 + 3)


def test_substance_a_large_change_or_a_month_apart_pays_in_full(repo):
    pulls = [
        approve(repo, "bob", "ann", 0),
        approve(repo, "ann", "bob", 1),
        approve(
            repo, "bob", "ann", 2, body="The retry loop should back off; see the note."
        ),
        approve(repo, "ann", "bob", 3, lines=400),
        approve(repo, "bob", "ann", 40),
    ]
    inline = approve(repo, "ann", "bob", 4)
    CommentFactory(
        pull_request=inline,
        review_external_id=inline.reviews.get().external_id,
        author_login="bob",
        body="This guard never fires when the list is empty.",
    )
    pulls_reconcile(pulls=[*pulls, inline])
    assert set(Credit.objects.values_list("share", flat=True)) == {100}


def test_linked_logins_are_one_person_in_a_pair(repo):
    gitlab = RepositoryFactory(
        organization=repo.organization, provider="gitlab", host="gitlab.com"
    )
    ann = Member.objects.create(display_name="Ann")
    for provider, login in (("github", "ann"), ("gitlab", "ann-gl")):
        ProviderIdentity.objects.create(
            provider=provider, host=f"{provider}.com", login=login, member=ann
        )
    bob = Member.objects.create(display_name="Bob")
    for provider, login in (("github", "bob"), ("gitlab", "bob-gl")):
        ProviderIdentity.objects.create(
            provider=provider, host=f"{provider}.com", login=login, member=bob
        )
    pulls = [
        approve(repo, "bob", "ann", 0),
        approve(gitlab, "ann-gl", "bob-gl", 1),
        approve(repo, "bob", "ann", 2),
    ]
    pulls_reconcile(pulls=pulls)
    third = Credit.objects.get(pull_request=pulls[2], rule__key="review_session")
    assert (third.share, third.points) == (50, 5)


def test_a_late_earlier_exchange_recomputes_the_later_ones(repo):
    later = approve(repo, "bob", "ann", 5)  # ann approves bob's
    middle = approve(repo, "ann", "bob", 3)  # bob approves ann's
    pulls_reconcile(pulls=[later])
    pulls_reconcile(pulls=[middle])
    assert set(Credit.objects.values_list("share", flat=True)) == {100}
    early = approve(repo, "bob", "ann", 1)
    pulls_reconcile(pulls=[early])  # arrives last, happened first
    shares = dict(
        Credit.objects.filter(rule__key="review_session").values_list(
            "pull_request_id", "share"
        )
    )
    assert shares == {early.pk: 100, middle.pk: 100, later.pk: 50}
    # ann: two sessions with merge credit, the later one at half, and her
    # own pull request's merge credit; bob: one session with merge credit,
    # and his two pull requests' merge credits, the later at half
    assert (earned("ann"), earned("bob")) == (13 + 5 + 1 + 5, 13 + 5 + 2)
    # and the ledger holds exactly what the credits say, line for line
    for login in ("ann", "bob"):
        assert (
            earned(login)
            == (
                Credit.objects.filter(identity__login=login).aggregate(
                    total=Sum("points")
                )["total"]
            )
        )


def test_a_dismissed_exchange_restores_the_later_ones(repo):
    pulls = [
        approve(repo, "bob", "ann", 0),
        approve(repo, "ann", "bob", 1),
        approve(repo, "bob", "ann", 2),
    ]
    pulls_reconcile(pulls=pulls)
    assert (
        Credit.objects.get(pull_request=pulls[2], rule__key="review_session").share
        == 50
    )
    pulls[1].reviews.update(state="dismissed")
    pulls_reconcile(pulls=[pulls[1]])
    third = Credit.objects.get(pull_request=pulls[2], rule__key="review_session")
    assert (third.share, third.points) == (100, 10)
    assert earned("ann") == 2 * (10 + 3)
    # the growth of a pull request ends its exchange too
    pulls[1].reviews.update(state="approved")
    pulls_reconcile(pulls=[pulls[1]])
    assert (
        Credit.objects.get(pull_request=pulls[2], rule__key="review_session").share
        == 50
    )
    type(pulls[0]).objects.filter(pk=pulls[0].pk).update(additions=900)
    pulls_reconcile(pulls=[pulls[0]])
    assert (
        Credit.objects.get(pull_request=pulls[2], rule__key="review_session").share
        == 100
    )


def month_of(repo, people: tuple[str, str] | None, honest: str | None, authors):
    """Thirty days of one small approved pull request a day."""
    pulls = []
    for day in range(30):
        if people:
            first, second = people
            author, reviewer = (first, second) if day % 2 else (second, first)
            pulls.append(approve(repo, author, reviewer, day))
        if honest and day % 2 == 0:
            pulls.append(approve(repo, authors[day // 2], honest, day))
    return pulls


def test_gaming_a_reciprocal_pair_earns_at_most_a_quarter_of_an_honest_reviewer(repo):
    """Over a month, ann and bob approve each other's small pull requests every
    day (15 reviews each); hal approves 15 small pull requests of 15 different
    people who never review back. Each of the pair ends with at most a quarter
    of hal's points, and the same whichever order the events arrive in."""
    authors = [f"author{n}" for n in range(15)]
    pulls = month_of(repo, ("ann", "bob"), "hal", authors)
    pulls_reconcile(pulls=pulls)
    honest = earned("hal")
    assert honest == 15 * (10 + 3)  # a session and a merge credit each
    for cheat in ("ann", "bob"):
        assert 0 < earned(cheat) <= honest / 4, (cheat, earned(cheat), honest)
    assert (earned("ann"), earned("bob")) == (30, 30)  # 15 % each
    assert (
        PointsEntry.objects.filter(identity__login="author3").aggregate(
            total=Sum("points")
        )["total"]
        == 5
    )

    # the same month for another pair, events in a shuffled order, one pull
    # request at a time, with replays: the same points
    shuffled = month_of(repo, ("cy", "dee"), None, authors)
    order = shuffled + shuffled[:10]
    random.Random(7).shuffle(order)
    for pull in order:
        pulls_reconcile(pulls=[pull])
    assert Counter({"cy": earned("cy"), "dee": earned("dee")}) == Counter(
        {"cy": earned("ann"), "dee": earned("bob")}
    )


def test_admins_see_the_pattern_of_their_team_only(repo, client):
    pulls = [
        approve(repo, "bob", "ann", 0),
        approve(repo, "ann", "bob", 1),
        approve(repo, "bob", "ann", 2),
    ]
    pulls_reconcile(pulls=pulls)
    staff = get_user_model().objects.create_user("staffer", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__endswith="exchange"))
    client.force_login(staff)
    outsider = client.get("/admin/rewards/reciprocalexchange/")
    assert outsider.status_code == 200
    assert b"approvals traded with bob" not in outsider.content
    OrganizationMembership.objects.create(organization=repo.organization, user=staff)
    page = client.get("/admin/rewards/reciprocalexchange/")
    # ann's session and merge credit on the third, and bob's merge credit
    assert page.content.count(b"approvals traded with bob: 1 in 30 days") == 2
    assert page.content.count(b"reciprocal approvals only: 50%") == 1
