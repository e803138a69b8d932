"""Two pull requests opened in the same second never push a reviewer past
their capacity: our own pending requests count, and choices are serialized."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import ProviderCredential
from reviews.assignment.service import reviewer_assign
from reviews.models import (
    ProviderIdentity,
    PullRequest,
    RepositoryReviewSettings,
    ReviewerProfile,
)
from tests.factories import OrganizationFactory, RepositoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Provider:
    """The provider side, in memory: one owned area, nothing else."""

    def changed_files(self, full_name, number):
        return ["api/views.py"]

    def committers(self, full_name, number):
        return []

    def file_read(self, full_name, path, ref):
        return "/api/ @acme/api\n" if path == "CODEOWNERS" else None

    def team_members(self, full_name, team):
        return []

    def users_busy(self, logins):
        return {}

    def reviewers_request(self, full_name, number, *, logins, teams):
        pass


@pytest.fixture
def pulls():
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", kind="access_token"
    )
    credential.token = "t"
    credential.save()
    repository = RepositoryFactory(
        organization=OrganizationFactory(), credential=credential
    )
    RepositoryReviewSettings.objects.create(
        repository=repository, teams={"@acme/api": ["ana", "bo"]}
    )
    for login in ("ana", "bo"):
        identity = ProviderIdentity.objects.create(
            provider="github", host="github.com", login=login
        )
        ReviewerProfile.objects.create(identity=identity, capacity=1)
    return [
        PullRequest.objects.create(
            repository=repository,
            number=number,
            title=f"Change {number}",
            state="open",
            draft=False,
            author_login="zed",
            provider_created_at=timezone.now(),
            provider_updated_at=timezone.now(),
        )
        for number in (1, 2)
    ]


def test_simultaneous_assignments_respect_capacity(pulls):
    chosen: dict[int, tuple[str, ...]] = {}

    def assign(pull: PullRequest) -> None:
        try:
            assignment = reviewer_assign(pull_request_id=pull.pk, trigger="opened")
            chosen[pull.number] = tuple(assignment.reviewers)
        finally:
            connection.close()

    with mock.patch(
        "reviews.assignment.service.repository_client", return_value=Provider()
    ):
        threads = [threading.Thread(target=assign, args=(pull,)) for pull in pulls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Neither webhook has updated requested_reviewers yet; still one each.
    assert sorted(chosen.values()) == [("ana",), ("bo",)]
