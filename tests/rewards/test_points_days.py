"""Instant boards: the daily totals follow the ledger in the same transaction,
whoever writes, and boards read from them say what the lines say (README
"Instant boards")."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Q, Sum

from integrations.models import Organization
from reviews.models import ProviderIdentity
from rewards.models import PointsDay, PointsEntry
from rewards.services import rule_get
from rewards.totals import points_totals
from tests.factories import OrganizationFactory, PullRequestFactory, RepositoryFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)


def line(identity, pull, points, earned_at, rule="review_session", **fields):
    return PointsEntry.objects.create(
        identity=identity,
        rule=rule_get(rule),
        rule_version=1,
        points=points,
        reason="test",
        source=f"test:{PointsEntry.objects.count()}",
        pull_request=pull,
        earned_at=earned_at,
        **fields,
    )


def totals_by_day():
    return {
        (row.identity_id, row.organization_id, row.day): (row.points, row.sessions)
        for row in PointsDay.objects.all()
        if row.points or row.sessions  # a total taken down to nothing stays
    }


@pytest.fixture
def people():
    return [
        ProviderIdentity.objects.create(
            provider="github", host="github.com", login=login
        )
        for login in ("ann", "bob")
    ]


def test_every_line_lands_in_its_days_total(people):
    repo = RepositoryFactory()
    pull = PullRequestFactory(repository=repo, state="merged")
    ann, bob = people
    line(ann, pull, 10, NOW)
    line(ann, pull, 3, NOW + timedelta(minutes=5), rule="merge_reviewer")
    line(ann, pull, -10, NOW + timedelta(hours=1))  # a take-back: no session
    line(bob, pull, 10, NOW - timedelta(days=1))
    team = repo.organization_id
    assert totals_by_day() == {
        (ann.pk, team, NOW.date()): (3, 1),
        (bob.pk, team, (NOW - timedelta(days=1)).date()): (10, 1),
    }
    call_command("points_days_check")


def test_a_repository_changing_teams_takes_its_lines_and_totals_along(people):
    repo = RepositoryFactory(organization=None)
    pull = PullRequestFactory(repository=repo, state="merged")
    line(people[0], pull, 10, NOW)
    line(people[0], pull, 10, NOW)
    assert PointsEntry.objects.filter(organization__isnull=True).count() == 2
    team = OrganizationFactory()
    repo.organization = team
    repo.save()
    assert set(PointsEntry.objects.values_list("organization_id", flat=True)) == {
        team.pk
    }
    assert totals_by_day() == {(people[0].pk, team.pk, NOW.date()): (20, 2)}
    other = OrganizationFactory()
    type(repo).objects.filter(pk=repo.pk).update(organization=other)  # no save()
    assert totals_by_day() == {(people[0].pk, other.pk, NOW.date()): (20, 2)}
    call_command("points_days_check")


def test_deleting_a_team_takes_its_totals(people):
    repo = RepositoryFactory()
    line(people[0], PullRequestFactory(repository=repo), 10, NOW)
    Organization.objects.filter(pk=repo.organization_id).delete()
    assert PointsEntry.objects.count() == 0
    assert PointsDay.objects.aggregate(total=Sum("points"))["total"] in (None, 0)
    call_command("points_days_check")


def test_the_check_finds_drift_and_repairs_it(people, capsys):
    repo = RepositoryFactory()
    line(people[0], PullRequestFactory(repository=repo), 10, NOW)
    line(people[1], PullRequestFactory(repository=repo), 4, NOW - timedelta(days=3))
    PointsDay.objects.filter(identity=people[0]).update(points=99)
    PointsDay.objects.filter(identity=people[1]).delete()
    with pytest.raises(CommandError, match="2 daily totals differ from the ledger"):
        call_command("points_days_check")
    out = capsys.readouterr().out
    assert "totals say (99, 1), the ledger (10, 1)" in out
    call_command("points_days_check", "--repair")
    assert "Rewrote 2 daily totals." in capsys.readouterr().out
    call_command("points_days_check")
    assert "All 2 daily totals match the ledger." in capsys.readouterr().out


@pytest.mark.parametrize("hold", [0, 14])
def test_totals_from_days_equal_totals_from_lines(settings, people, hold):
    """Ninety days of lines at odd moments, some still open: every window
    (partial first and last days, within and past the hold) adds up the same
    from the daily totals as from the lines one by one."""
    settings.REWARDS_HOLD_DAYS = hold
    rng = random.Random(3)
    team = OrganizationFactory()
    repo = RepositoryFactory(organization=team)
    pulls = [
        PullRequestFactory(repository=repo, state=rng.choice(["open", "merged"]))
        for _ in range(6)
    ]
    for _ in range(400):
        line(
            rng.choice(people),
            rng.choice(pulls),
            rng.choice([10, 3, -3, 2]),
            NOW - timedelta(minutes=rng.randrange(90 * 24 * 60)),
            rule=rng.choice(["review_session", "merge_reviewer"]),
        )
    windows = [
        (None, None),
        (NOW - timedelta(days=7), None),
        (NOW - timedelta(days=30, hours=5), None),
        (NOW - timedelta(days=60, minutes=7), NOW - timedelta(days=20, hours=3)),
    ]
    for since, until in windows:
        from_days = points_totals(
            scope=Q(organization=team), since=since, until=until, now=NOW
        )
        assert from_days == by_hand(team, since, until, hold), (since, until)


def by_hand(team, since, until, hold):
    cutoff = NOW - timedelta(days=hold)
    totals = {}
    for entry in PointsEntry.objects.filter(organization=team).select_related(
        "pull_request", "rule"
    ):
        if (since and entry.earned_at < since) or (until and entry.earned_at >= until):
            continue
        counts = totals.setdefault(entry.identity_id, [0, 0, 0])
        finished = entry.pull_request.state in ("merged", "closed")
        if hold <= 0 or finished or entry.earned_at < cutoff:
            counts[0] += entry.points
        else:
            counts[1] += entry.points
        counts[2] += entry.rule.key == "review_session" and entry.points > 0
    return totals
