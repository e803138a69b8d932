"""Ledger lines written before credits existed are recounted once, keeping
every person's total, and a second recount writes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from reviews.models import ProviderIdentity
from rewards.models import PointsEntry
from rewards.services import rule_get
from tests.factories import PullRequestFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def total(login: str) -> int:
    return sum(
        PointsEntry.objects.filter(identity__login=login).values_list(
            "points", flat=True
        )
    )


def legacy(identity, pull, source, points, when):
    return PointsEntry.objects.create(
        identity=identity,
        rule=rule_get("review_session"),
        rule_version=1,
        points=points,
        reason="reviewed",
        source=source,
        pull_request=pull,
        earned_at=when,
    )


def test_recount_moves_old_lines_onto_credits_and_keeps_totals():
    when = timezone.now().replace(microsecond=0)
    pull = PullRequestFactory(author_login="octocat")
    ReviewFactory(
        pull_request=pull,
        reviewer_login="hubot",
        submitted_at=when,
        commit_sha=pull.head_sha,
    )
    hubot = ProviderIdentity.objects.create(
        provider="github", host="github.com", login="hubot"
    )
    old = f"review-session:{pull.pk}:hubot:{pull.head_sha}"
    legacy(hubot, pull, old, 10, when)
    dismissed = PullRequestFactory(author_login="octocat")  # reversed long ago
    legacy(hubot, dismissed, f"review-session:{dismissed.pk}:hubot:x", 10, when)
    legacy(
        hubot, dismissed, f"review-session:{dismissed.pk}:hubot:x:reversed", -10, when
    )

    out = StringIO()
    call_command("points_recount", stdout=out)

    assert total("hubot") == 10
    moved = PointsEntry.objects.filter(points__lt=0, pull_request=pull).get()
    assert moved.reason == "recounted under the current rules"
    assert "Recounted 2 pull requests: +10 and -10 points." in out.getvalue()
    lines = PointsEntry.objects.count()
    again = StringIO()
    call_command("points_recount", stdout=again)
    assert PointsEntry.objects.count() == lines
    assert "+0 and -0 points" in again.getvalue()
