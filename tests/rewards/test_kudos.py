"""Kudos: helpful marks pay the reviewer once per pull request through its
credits; peer kudos within a weekly budget (README "Kudos")."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from rewards.models import Kudos, PointsEntry
from rewards.selectors import leaderboard_list
from rewards.services import points_reconcile
from tests.factories import (
    OrganizationFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)
from tests.rewards.test_quests import join

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def earned(login, rule=None):
    lines = PointsEntry.objects.filter(identity__login=login)
    if rule:
        lines = lines.filter(rule__key=rule)
    return lines.aggregate(total=Sum("points"))["total"] or 0


@pytest.fixture
def team():
    return OrganizationFactory(slug="core", name="Core")


@pytest.fixture
def story(team):
    """ann's pull request, reviewed twice by bob and once by a bot."""
    ann, bob = join(team, "ann"), join(team, "bob")
    pull = PullRequestFactory(
        repository=RepositoryFactory(organization=team),
        author_login="ann",
        state="merged",
        merged_at=timezone.now(),
    )
    now = timezone.now()
    first = ReviewFactory(
        pull_request=pull,
        reviewer_login="bob",
        state="changes_requested",
        submitted_at=now,
    )
    second = ReviewFactory(
        pull_request=pull,
        reviewer_login="bob",
        state="approved",
        submitted_at=now,
        commit_sha="b" * 40,
    )
    bot = ReviewFactory(
        pull_request=pull, reviewer_login="coderabbitai[bot]", submitted_at=now
    )
    points_reconcile(pull_request=pull)
    return ann, bob, pull, (first, second, bot)


def test_a_helpful_mark_pays_the_reviewer_once_per_pull_request(story):
    ann, bob, pull, (first, second, _) = story
    before = earned("bob")
    answer = api(ann).post(f"/api/v1/reviews/{first.pk}/helpful/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["receiver"] == "bob"
    assert earned("bob", "review_helpful") == 5
    api(ann).post(f"/api/v1/reviews/{second.pk}/helpful/")  # the same pull request
    api(ann).post(f"/api/v1/reviews/{first.pk}/helpful/")  # again
    assert earned("bob", "review_helpful") == 5
    assert Kudos.objects.count() == 2
    assert earned("bob") == before + 5
    # taking both marks back takes the bonus back, as a compensating line
    assert api(ann).delete(f"/api/v1/reviews/{first.pk}/helpful/").status_code == 204
    assert earned("bob", "review_helpful") == 5  # the other mark still holds
    api(ann).delete(f"/api/v1/reviews/{second.pk}/helpful/")
    assert earned("bob", "review_helpful") == 0
    # the bonus moved to the second mark's moment when the first went, then
    # went: every change is a new line, never an edit
    lines = PointsEntry.objects.filter(rule__key="review_helpful")
    assert sorted(lines.values_list("points", flat=True)) == [-5, -5, 5, 5]


def test_only_the_author_marks_and_never_a_bot_or_oneself(team, story):
    ann, bob, pull, (first, _, bot) = story
    refused = api(bob).post(f"/api/v1/reviews/{first.pk}/helpful/")
    assert refused.status_code == 403
    assert api(ann).post(f"/api/v1/reviews/{bot.pk}/helpful/").status_code == 400
    own = ReviewFactory(
        pull_request=pull, reviewer_login="ann", submitted_at=timezone.now()
    )
    assert api(ann).post(f"/api/v1/reviews/{own.pk}/helpful/").status_code == 400
    stranger = join(OrganizationFactory(), "zed")
    assert api(stranger).post(f"/api/v1/reviews/{first.pk}/helpful/").status_code == 404
    assert api(ann).post(f"/api/v1/reviews/{2**70}/helpful/").status_code == 404
    assert Kudos.objects.count() == 0
    assert earned("bob", "review_helpful") == 0


def test_peer_kudos_pay_once_within_a_weekly_budget(team):
    ann, bob = join(team, "ann"), join(team, "bob")
    for number in range(3):
        answer = api(ann).post(
            "/api/v1/kudos/",
            {"to": "bob", "message": f"thanks {number}"},
            format="json",
        )
        assert answer.status_code == 201, answer.content
    assert earned("bob", "kudos") == 6
    fourth = api(ann).post(
        "/api/v1/kudos/", {"to": "bob", "message": "more"}, format="json"
    )
    assert fourth.status_code == 409
    assert "in the last seven days" in fourth.json()["error"]
    assert (
        api(bob)
        .post("/api/v1/kudos/", {"to": "bob", "message": "me"}, format="json")
        .status_code
        == 400
    )
    outsider = join(OrganizationFactory(), "zed")
    assert (
        api(ann)
        .post("/api/v1/kudos/", {"to": "zed", "message": "hi"}, format="json")
        .status_code
        == 404
    )
    assert (
        api(outsider)
        .post("/api/v1/kudos/", {"to": "bob", "message": "hi"}, format="json")
        .status_code
        == 404
    )
    assert (
        api(ann)
        .post("/api/v1/kudos/", {"to": "bob", "message": ""}, format="json")
        .status_code
        == 400
    )
    listed = api(bob).get("/api/v1/kudos/").json()
    assert listed["count"] == 3
    assert {row["giver"] for row in listed["results"]} == {"ann"}
    assert api(outsider).get("/api/v1/kudos/").json()["count"] == 0
    # peer kudos are team points: on the team's board
    board = {
        row["member"]: row["points"] for row in leaderboard_list(user=ann, team="core")
    }
    assert board == {"bob": 6}


def test_the_kudos_page_marks_and_thanks(client, team, story):
    ann, bob, pull, (first, _, bot) = story
    client.force_login(ann)
    page = client.get("/dashboard/kudos/").content.decode()
    assert "Reviews of your pull requests" in page
    assert "coderabbitai" not in page
    client.post(f"/dashboard/reviews/{first.pk}/helpful/")
    assert earned("bob", "review_helpful") == 5
    assert "✓ Helpful" in client.get("/dashboard/kudos/").content.decode()
    client.post(
        "/dashboard/kudos/give/", {"to": bob.member.pk, "message": "great pairing"}
    )
    assert Kudos.objects.filter(kind="peer", receiver=bob.member).count() == 1
    client.force_login(bob)
    forged = client.post(
        f"/dashboard/reviews/{first.pk}/helpful/", {"helpful": "0"}, follow=True
    )
    assert "only the pull request" in forged.content.decode()
    assert earned("bob", "review_helpful") == 5
