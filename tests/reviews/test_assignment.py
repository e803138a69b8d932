"""Reviewer choice: every filter, every strategy, owners per section, fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reviews.assignment import Person, Request, Strategy, reviewers_choose
from reviews.codeowners import Ownership, parse

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TEAMS = {"@acme/backend": ("ana", "bo", "cy"), "@acme/docs": ("dee",)}


def request(**changes) -> Request:
    values = {
        "author": "zed",
        "ownerships": (Ownership("codeowners", ("@acme/backend",)),),
        "teams": TEAMS,
        "people": {},
    }
    values.update(changes)
    return Request(**values)


@pytest.mark.parametrize(
    ("person", "reason"),
    [
        (Person("ana", is_bot=True), "is a bot"),
        (Person("ana", never_assign=True), "is on the never-assign list"),
        (
            Person("ana", unavailable="vacation until 2026-11-09"),
            "unavailable: vacation",
        ),
        (Person("ana", open_requests=5, capacity=5), "at capacity (5/5 open)"),
    ],
)
def test_each_filter_removes_and_says_why(person, reason):
    decision = reviewers_choose(
        request(people={"ana": person}, ownerships=(Ownership("s", ("@ana", "@bo")),))
    )
    assert decision.reviewers == ("bo",)
    assert decision.explanation["filtered"]["ana"].startswith(reason)


def test_author_and_committers_never_review_their_own_change():
    decision = reviewers_choose(request(author="ana", committers=("bo",)))
    assert decision.reviewers == ("cy",)
    assert decision.explanation["filtered"] == {
        "ana": "is the author",
        "bo": "committed to this change",
    }


def test_working_hours_only_matter_for_urgent_requests():
    people = {"ana": Person("ana", outside_working_hours=True)}
    calm = reviewers_choose(request(people=people))
    urgent = reviewers_choose(request(people=people, is_urgent=True))
    assert calm.reviewers == ("ana",)
    assert urgent.reviewers == ("bo",)
    assert urgent.explanation["filtered"]["ana"] == (
        "outside working hours for an urgent request"
    )


@pytest.mark.parametrize(
    ("strategy", "people", "expected"),
    [
        (
            Strategy.ROUND_ROBIN,
            {
                "ana": Person("ana", last_requested_at=NOW),
                "bo": Person("bo", last_requested_at=NOW - timedelta(days=3)),
                "cy": Person("cy", last_requested_at=NOW - timedelta(days=1)),
            },
            "bo",
        ),
        (
            Strategy.LOAD_BALANCE,
            {
                "ana": Person("ana", requests_last_30_days=9),
                "bo": Person("bo", requests_last_30_days=4),
                "cy": Person("cy", requests_last_30_days=2),
            },
            "cy",
        ),
        (
            Strategy.OPEN_LOAD,
            {
                "ana": Person("ana", open_requests=1, open_request_lines=2000),
                "bo": Person("bo", open_requests=2, open_request_lines=40),
                "cy": Person("cy", open_requests=3, open_request_lines=10),
            },
            "bo",
        ),
        (
            Strategy.EXPERTISE,
            {
                "ana": Person("ana", expertise=0.1),
                "bo": Person("bo", expertise=2.0, open_requests=2),
                "cy": Person("cy", expertise=0.0),
            },
            "bo",
        ),
    ],
)
def test_strategies_rank_as_documented(strategy, people, expected):
    decision = reviewers_choose(request(strategy=strategy, people=people))
    assert decision.reviewers == (expected,)
    assert set(decision.explanation["scores"]) == {"ana", "bo", "cy"}


def test_same_inputs_same_choice_and_ties_break_by_login():
    first = reviewers_choose(request())
    second = reviewers_choose(request())
    assert first == second
    assert first.reviewers == ("ana",)


def test_one_owner_per_required_section_optional_sections_not_forced():
    codeowners = parse(
        "[Backend]\n*.py @acme/backend\n[Docs]\n*.md @acme/docs\n^[Nice]\n* @zoe\n",
        "gitlab",
    )
    ownerships = tuple(
        {
            o.section: o
            for path in ("app.py", "README.md")
            for o in codeowners.owners_for(path)
        }.values()
    )
    decision = reviewers_choose(request(ownerships=ownerships, count=1))
    assert set(decision.reviewers) == {"ana", "dee"}
    assert "zoe" not in decision.reviewers


def test_everyone_filtered_falls_back_to_the_owning_team():
    people = {
        login: Person(login, unavailable="vacation") for login in ("ana", "bo", "cy")
    }
    decision = reviewers_choose(request(people=people))
    assert decision.reviewers == ()
    assert decision.teams == ("@acme/backend",)
    assert "owning team is requested" in decision.explanation["note"]


def test_no_owner_no_pool_means_nobody_and_says_so():
    decision = reviewers_choose(request(ownerships=()))
    assert (decision.reviewers, decision.teams) == ((), ())
    assert decision.explanation["note"].startswith("No code owner or pool")


def test_repository_pool_joins_the_candidates():
    decision = reviewers_choose(
        request(ownerships=(), team_pool=("@kim", "@acme/docs"), count=2)
    )
    assert decision.reviewers == ("dee", "kim")
    assert decision.explanation["pool"]["kim"] == ["repository pool"]


def test_load_balance_weighs_open_work_first_then_recent_history():
    people = {
        "ana": Person("ana", open_requests=2, requests_last_30_days=1),
        "bo": Person("bo", open_requests=0, requests_last_30_days=20),
        "cy": Person("cy", open_requests=1, requests_last_30_days=0),
    }
    decision = reviewers_choose(request(people=people))
    assert decision.reviewers == ("bo",)  # 20 old requests, but nothing open now


def test_ties_go_to_whoever_was_asked_least_recently():
    people = {
        "ana": Person("ana", last_requested_at=NOW),
        "bo": Person("bo", last_requested_at=NOW - timedelta(days=2)),
        "cy": Person("cy", last_requested_at=NOW - timedelta(hours=1)),
    }
    assert reviewers_choose(request(people=people)).reviewers == ("bo",)


def test_a_required_section_with_no_available_owner_asks_its_team():
    ownerships = (
        Ownership("Backend", ("@acme/backend",)),
        Ownership("Docs", ("@acme/docs",)),
    )
    people = {"dee": Person("dee", unavailable="away until 2026-11-09")}
    decision = reviewers_choose(request(ownerships=ownerships, people=people))
    assert decision.reviewers == ("ana",)
    assert decision.teams == ("@acme/docs",)
    assert "@acme/docs" in decision.explanation["note"]
