"""points.exclude_paths: a pull request that changes only excluded paths earns
nothing; changing the setting recounts the repository, and back again."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.services.settings_file import repository_points_recount
from reviews.models import PullRequestFile, RepositoryReviewSettings
from rewards.models import PointsEntry
from rewards.services import EXCLUDED, points_reconcile
from tests.factories import PullRequestFactory, RepositoryFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def total(login: str) -> int:
    return sum(
        PointsEntry.objects.filter(identity__login=login).values_list(
            "points", flat=True
        )
    )


def reviewed(repository, *paths: str):
    pull = PullRequestFactory(repository=repository, author_login="octocat")
    ReviewFactory(
        pull_request=pull,
        reviewer_login="hubot",
        state="approved",
        submitted_at=timezone.now().replace(microsecond=0),
        commit_sha=pull.head_sha,
    )
    for path in paths:
        PullRequestFile.objects.create(
            pull_request=pull, path=path, directory=path.rpartition("/")[0]
        )
    points_reconcile(pull_request=pull)
    return pull


def test_only_excluded_paths_earn_nothing_and_a_setting_change_recounts():
    repository = RepositoryFactory()
    docs_only = reviewed(repository, "docs/guide.md", "docs/img/a.png")
    mixed = reviewed(repository, "docs/guide.md", "src/app.py")
    unknown = reviewed(repository)  # files never read: not excluded
    per_pull = {
        pull.pk: sum(
            PointsEntry.objects.filter(pull_request=pull).values_list(
                "points", flat=True
            )
        )
        for pull in (docs_only, mixed, unknown)
    }
    assert all(points > 0 for points in per_pull.values())
    before = total("hubot")

    RepositoryReviewSettings.objects.create(
        repository=repository, points_exclude_paths=["docs/**"]
    )
    assert repository_points_recount(repository_id=repository.pk) == 3
    assert total("hubot") == before - per_pull[docs_only.pk]
    taken = PointsEntry.objects.filter(pull_request=docs_only, points__lt=0)
    assert taken.exists()
    assert set(taken.values_list("reason", flat=True)) == {EXCLUDED}
    lines = PointsEntry.objects.count()
    repository_points_recount(repository_id=repository.pk)
    assert PointsEntry.objects.count() == lines  # a second recount writes nothing

    RepositoryReviewSettings.objects.filter(repository=repository).update(
        points_exclude_paths=[]
    )
    repository_points_recount(repository_id=repository.pk)
    assert total("hubot") == before  # back again, nothing lost


def test_another_repositorys_setting_does_not_apply():
    excluded_here = RepositoryFactory()
    RepositoryReviewSettings.objects.create(
        repository=excluded_here, points_exclude_paths=["**"]
    )
    elsewhere = reviewed(RepositoryFactory(), "docs/guide.md")
    assert PointsEntry.objects.filter(pull_request=elsewhere, points__gt=0).exists()
