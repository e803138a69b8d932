"""Quests: the library's measures, completion and payment once, the API
(CONTRACT §7, README "Quests")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from integrations.models import OrganizationMembership
from reviews.models import Member, ProviderIdentity
from rewards.models import PointsEntry, Quest, QuestProgress
from rewards.quests import MAX_RUNNING, TEMPLATES, quest_settle, quests_settle
from rewards.selectors import leaderboard_list
from tests.factories import (
    OrganizationFactory,
    PullRequestFactory,
    RepositoryFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 9, tzinfo=UTC)  # business hours 9–18 UTC
ADMIN = OrganizationMembership.Role.ADMIN


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def team():
    return OrganizationFactory(slug="core", name="Core")


@pytest.fixture
def repo(team):
    return RepositoryFactory(organization=team, full_name="octo/app")


def join(team, username, *, role=OrganizationMembership.Role.MEMBER, logins=None):
    user = get_user_model().objects.create_user(username)
    member = Member.objects.create(display_name=username.title(), user=user)
    for provider, login in logins or [("github", username)]:
        ProviderIdentity.objects.create(
            provider=provider, host=f"{provider}.com", login=login, member=member
        )
    OrganizationMembership.objects.create(organization=team, user=user, role=role)
    return user


def quest(team, template, *, days=7, points=20, **params):
    found = TEMPLATES[template]
    tuned = {s.name: params.get(s.name, s.default) for s in found.settings}
    return Quest.objects.create(
        organization=team,
        template=template,
        title=found.title_for(tuned),
        scope=found.scope,
        params=tuned,
        points=points,
        starts_at=MONDAY,
        ends_at=MONDAY + timedelta(days=days),
    )


OPENED = MONDAY + timedelta(hours=1)


def pull(repo, author, *, ready=OPENED, **fields):
    return PullRequestFactory(
        repository=repo, author_login=author, provider_created_at=ready, **fields
    )


def review(pull_request, login, at, state="approved"):
    return ReviewFactory(
        pull_request=pull_request, reviewer_login=login, submitted_at=at, state=state
    )


def paid(quest_row):
    return sorted(
        (entry.identity.login, entry.points)
        for entry in PointsEntry.objects.filter(
            source__startswith=f"quest:{quest_row.pk}:"
        )
    )


def test_a_team_quest_counts_each_persons_review_once_and_pays_everyone_once(
    team, repo
):
    join(team, "alice")
    join(team, "bob")
    outsider_repo = RepositoryFactory(organization=OrganizationFactory())
    goal = quest(team, "team-reviews", count=3)
    first = pull(repo, "bob")
    review(first, "alice", MONDAY + hours(2))
    review(first, "alice", MONDAY + hours(3), state="commented")  # same pull: once
    review(pull(repo, "alice"), "bob", MONDAY + hours(4))
    review(pull(repo, "alice"), "alice", MONDAY + hours(4))  # her own: no
    review(pull(repo, "bob"), "carol", MONDAY + hours(4))  # not on the team
    review(pull(repo, "bob"), "dependabot[bot]", MONDAY + hours(4))  # a bot
    review(pull(outsider_repo, "bob"), "alice", MONDAY + hours(4))  # another team's
    review(pull(repo, "bob"), "alice", MONDAY + hours(5), state="dismissed")

    assert quest_settle(quest=goal, now=MONDAY + hours(6)) == []
    row = QuestProgress.objects.get(quest=goal, member=None)
    assert (row.progress, row.target, row.completed_at) == (2, 3, None)

    review(pull(repo, "bob"), "alice", MONDAY + hours(7))
    lines = quest_settle(quest=goal, now=MONDAY + hours(8))
    assert len(lines) == 2
    assert paid(goal) == [("alice", 20), ("bob", 20)]
    row.refresh_from_db()
    assert (row.progress, row.target, row.completed_at) == (3, 3, MONDAY + hours(7))
    # measured again, and again after it ended: paid once, then settled
    assert quest_settle(quest=goal, now=MONDAY + hours(9)) == []
    assert quests_settle(now=MONDAY + timedelta(days=8)) == 1
    goal.refresh_from_db()
    assert goal.settled_at == MONDAY + timedelta(days=8)
    assert quests_settle(now=MONDAY + timedelta(days=9)) == 0
    assert paid(goal) == [("alice", 20), ("bob", 20)]


def test_no_long_waits_is_judged_at_the_end(team, repo):
    join(team, "alice")
    goal = quest(team, "no-long-waits", hours=8)
    quick = pull(repo, "bob", ready=MONDAY + hours(1))
    review(quick, "alice", MONDAY + hours(3))
    waiting = pull(repo, "bob", ready=MONDAY + hours(2))
    quest_settle(quest=goal, now=MONDAY + hours(5))
    row = QuestProgress.objects.get(quest=goal)
    assert (row.progress, row.target, row.completed_at) == (1, 2, None)
    # the second waited 9 business hours (Monday 11:00 → Tuesday 11:00)
    review(waiting, "alice", MONDAY + timedelta(days=1) + hours(2))
    quest_settle(quest=goal, now=MONDAY + timedelta(days=8))
    row.refresh_from_db()
    assert (row.progress, row.target, row.completed_at) == (1, 2, None)
    assert paid(goal) == []


def test_no_long_waits_met_pays_at_the_end(team, repo):
    join(team, "alice")
    goal = quest(team, "no-long-waits", hours=8)
    review(pull(repo, "bob", ready=MONDAY + hours(1)), "alice", MONDAY + hours(3))
    draft_never_ready = pull(repo, "bob", draft=True)
    assert draft_never_ready.ready_at is None
    quest_settle(quest=goal, now=MONDAY + timedelta(days=7))
    row = QuestProgress.objects.get(quest=goal)
    assert (row.progress, row.target) == (1, 1)
    assert row.completed_at == goal.ends_at
    assert paid(goal) == [("alice", 20)]


def test_big_changes_need_two_reviewers_before_the_merge(team, repo):
    join(team, "alice")
    goal = quest(team, "big-changes-reviewed-twice", lines=400, reviewers=2)
    merged = MONDAY + hours(6)
    big = pull(
        repo, "bob", additions=450, deletions=10, state="merged", merged_at=merged
    )
    review(big, "alice", MONDAY + hours(2))
    review(big, "bob", MONDAY + hours(3))  # the author: no
    review(big, "carol", MONDAY + hours(7))  # after the merge: no
    pull(repo, "bob", additions=10, deletions=1, state="merged", merged_at=merged)
    quest_settle(quest=goal, now=MONDAY + hours(8))
    row = QuestProgress.objects.get(quest=goal)
    assert (row.progress, row.target) == (0, 1)
    review(big, "dana", MONDAY + hours(5))
    quest_settle(quest=goal, now=MONDAY + timedelta(days=7))
    row.refresh_from_db()
    assert (row.progress, row.target, row.completed_at) == (1, 1, goal.ends_at)


def test_a_quest_with_nothing_to_judge_is_not_met(team, repo):
    join(team, "alice")
    goal = quest(team, "big-changes-reviewed-twice")
    quest_settle(quest=goal, now=MONDAY + timedelta(days=14))
    assert QuestProgress.objects.get(quest=goal).completed_at is None
    assert paid(goal) == []


def test_outside_your_usual_area_counts_new_repositories_per_person(team, repo):
    join(team, "alice", logins=[("github", "alice"), ("gitlab", "alice-gl")])
    join(team, "bob")
    goal = quest(team, "outside-your-area", count=3, points=25)
    review(pull(repo, "bob"), "alice", MONDAY - timedelta(days=30))  # her usual area
    review(pull(repo, "bob"), "alice", MONDAY + hours(1))
    others = [RepositoryFactory(organization=team) for _ in range(2)]
    gitlab = RepositoryFactory(organization=team, provider="gitlab", host="gitlab.com")
    review(pull(others[0], "bob"), "alice", MONDAY + hours(2))
    review(pull(others[1], "bob"), "alice", MONDAY + hours(3))
    review(pull(others[1], "alice"), "bob", MONDAY + hours(3))
    quest_settle(quest=goal, now=MONDAY + hours(4))
    mine = QuestProgress.objects.get(quest=goal, member__user__username="alice")
    assert (mine.progress, mine.target, mine.completed_at) == (2, 3, None)
    review(pull(gitlab, "bob"), "alice-gl", MONDAY + hours(5))  # her other login
    quest_settle(quest=goal, now=MONDAY + hours(6))
    mine.refresh_from_db()
    assert (mine.progress, mine.completed_at) == (3, MONDAY + hours(5))
    bobs = QuestProgress.objects.get(quest=goal, member__user__username="bob")
    assert (bobs.progress, bobs.completed_at) == (1, None)
    assert paid(goal) == [("alice", 25)]  # one line, on her first login


def test_fast_first_reviews_count_only_the_first_review_in_time(team, repo):
    join(team, "alice")
    join(team, "bob")
    goal = quest(team, "fast-first-review", count=2, hours=2)
    first = pull(repo, "carol", ready=MONDAY + hours(1))
    review(first, "alice", MONDAY + hours(2))
    review(
        first,
        "bob",
        MONDAY
        + hours(
            2,
        )
        + timedelta(minutes=5),
    )  # not first
    slow = pull(repo, "carol", ready=MONDAY + hours(1))
    review(slow, "bob", MONDAY + hours(5))  # first, but 4 business hours later
    overnight = pull(
        repo,
        "carol",
        ready=MONDAY
        + hours(
            8,
        )
        + timedelta(minutes=30),
    )
    review(overnight, "alice", MONDAY + timedelta(days=1) + timedelta(minutes=30))
    quest_settle(quest=goal, now=MONDAY + timedelta(days=1, hours=2))
    alice = QuestProgress.objects.get(quest=goal, member__user__username="alice")
    assert (alice.progress, alice.completed_at) == (
        2,
        MONDAY + timedelta(days=1, minutes=30),
    )
    assert not QuestProgress.objects.filter(quest=goal, member__user__username="bob")
    assert paid(goal) == [("alice", 20)]


def test_quest_points_count_on_the_teams_board_only(team, repo):
    alice = join(team, "alice")
    join(team, "bob")
    goal = quest(team, "team-reviews", count=1, points=40)
    review(pull(repo, "bob"), "alice", MONDAY + hours(1))
    quest_settle(quest=goal, now=MONDAY + hours(2))
    board = {
        row["member"]: row["points"]
        for row in leaderboard_list(user=alice, team="core")
    }
    assert board == {"alice": 40, "bob": 40}
    other = OrganizationFactory(slug="other")
    outsider = join(other, "zed")
    assert leaderboard_list(user=outsider, team="other") == []
    assert leaderboard_list(user=outsider) == []
    client = APIClient()
    client.force_authenticate(alice)
    lines = client.get("/api/v1/points/").json()["results"]
    assert [(line["points"], line["reason"]) for line in lines] == [
        (40, "quest completed: Review 1 pull requests together")
    ]


# --- the API ----------------------------------------------------------------------


@pytest.fixture
def lead(team):
    client = APIClient()
    client.force_authenticate(join(team, "lead", role=ADMIN))
    return client


@pytest.fixture
def member(team):
    client = APIClient()
    client.force_authenticate(join(team, "mona"))
    return client


def test_an_admin_starts_a_quest_from_a_template_and_the_team_sees_it(lead, member):
    answer = lead.post(
        "/api/v1/quests/",
        {"template": "outside-your-area", "params": {"count": 4}, "days": 10},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert {
        key: body[key]
        for key in (
            "template",
            "title",
            "scope",
            "target",
            "progress",
            "completed_at",
            "status",
            "points",
        )
    } == {
        "template": "outside-your-area",
        "title": "Review 4 pull requests outside your usual area",
        "scope": "personal",
        "target": 4,
        "progress": 0,
        "completed_at": None,
        "status": "running",
        "points": 25,
    }
    listed = member.get("/api/v1/quests/").json()
    assert listed["count"] == 1
    item = listed["results"][0]
    assert set(item) >= {
        "id",
        "template",
        "title",
        "scope",
        "starts_at",
        "ends_at",
        "target",
        "progress",
        "completed_at",
    }
    assert item["id"] == body["id"]
    templates = member.get("/api/v1/quests/templates/").json()["results"]
    assert {row["key"] for row in templates} == set(TEMPLATES)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"template": "world-peace"}, 400, "template"),
        (
            {"template": "team-reviews", "params": {"count": 0}},
            400,
            "between 1 and 1000",
        ),
        ({"template": "team-reviews", "params": {"count": "5"}}, 400, "whole number"),
        ({"template": "team-reviews", "params": {"hours": 3}}, 400, "no setting hours"),
        ({"template": "team-reviews", "days": 0}, 400, "days"),
        ({"template": "team-reviews", "points": 5000}, 400, "points"),
        (
            {"template": "team-reviews", "starts_at": "2020-01-01T00:00:00Z"},
            400,
            "never in the past",
        ),
        ({"template": "team-reviews", "colour": "red"}, 400, "unknown fields"),
        ({"template": "team-reviews", "team": "nowhere"}, 404, "no team"),
    ],
)
def test_bad_quests_are_refused_with_the_reason(lead, body, status, says):
    answer = lead.post("/api/v1/quests/", body, format="json")
    assert answer.status_code == status
    assert says in answer.content.decode()
    assert Quest.objects.count() == 0


def test_members_may_not_start_quests_and_a_team_runs_at_most_ten(team, lead, member):
    assert (
        member.post(
            "/api/v1/quests/", {"template": "team-reviews"}, format="json"
        ).status_code
        == 403
    )
    for _ in range(MAX_RUNNING):
        assert (
            lead.post(
                "/api/v1/quests/", {"template": "team-reviews"}, format="json"
            ).status_code
            == 201
        )
    full = lead.post("/api/v1/quests/", {"template": "team-reviews"}, format="json")
    assert full.status_code == 409
    assert Quest.objects.count() == MAX_RUNNING


def test_another_teams_quests_are_not_listed(lead):
    lead.post("/api/v1/quests/", {"template": "team-reviews"}, format="json")
    stranger = APIClient()
    stranger.force_authenticate(join(OrganizationFactory(), "zed", role=ADMIN))
    assert stranger.get("/api/v1/quests/").json()["count"] == 0
    assert (
        stranger.post(
            "/api/v1/quests/",
            {"template": "team-reviews", "team": "core"},
            format="json",
        ).status_code
        == 404
    )


def test_the_quest_list_is_a_fixed_number_of_queries(
    lead, django_assert_max_num_queries
):
    for _ in range(5):
        lead.post("/api/v1/quests/", {"template": "fast-first-review"}, format="json")
    with django_assert_max_num_queries(6):
        assert lead.get("/api/v1/quests/").json()["count"] == 5
