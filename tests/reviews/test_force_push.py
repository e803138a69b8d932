"""A force-push that rewrites a pull request's branch outdates the approvals of
the commit it replaced ("approved an older version"), whatever order the
deliveries arrive in; tags, new branches and ordinary pushes outdate nothing."""

from __future__ import annotations

import copy
import itertools

import pytest
from django.contrib.auth import get_user_model

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
)
from reviews.models import ForcePush, Member, ProviderIdentity, PullRequest, Review
from reviews.selectors import my_stale_approvals, pulls_with_stale_approval
from tests.conftest import load_payload
from tests.reviews.test_apply_order import _at, apply_all

pytestmark = pytest.mark.django_db

NEW_HEAD = "f" * 40


def story(*, forced: bool = True, ref: str = "refs/heads/changes") -> dict:
    opened = load_payload("github", "pull_request.opened.1.json")
    old_head = opened["pull_request"]["head"]["sha"]
    opened["pull_request"]["updated_at"] = _at(0)
    review = copy.deepcopy(
        load_payload("github", "pull_request_review.submitted.2.json")
    )
    review["pull_request"]["updated_at"] = _at(5)
    review["review"].update(state="approved", submitted_at=_at(5), commit_id=old_head)
    push = copy.deepcopy(load_payload("github", "push.default.5.json"))
    push.update(ref=ref, before=old_head, after=NEW_HEAD, forced=forced, created=False)
    synchronized = copy.deepcopy(opened)
    synchronized["action"] = "synchronize"
    synchronized["pull_request"]["updated_at"] = _at(10)
    synchronized["pull_request"]["head"] = {
        **synchronized["pull_request"]["head"],
        "sha": NEW_HEAD,
    }
    return {
        "opened": ("pull_request", opened),
        "approved": ("pull_request_review", review),
        "pushed": ("push", push),
        "synchronized": ("pull_request", synchronized),
    }


def stale_pulls() -> list[int]:
    return list(
        PullRequest.objects.filter(pulls_with_stale_approval()).values_list(
            "number", flat=True
        )
    )


def test_every_order_ends_with_the_approval_outdated():
    deliveries = story()
    seen = set()
    for order in itertools.permutations(deliveries):
        ConnectedRepository.objects.all().delete()
        apply_all("github", [deliveries[name] for name in order])
        apply_all("github", [deliveries["pushed"], deliveries["approved"]])  # replays
        pull = PullRequest.objects.get()
        seen.add(
            (
                pull.head_sha,
                tuple(stale_pulls()),
                ForcePush.objects.count(),
                Review.objects.count(),
            )
        )
    assert seen == {(NEW_HEAD, (2,), 1, 1)}


@pytest.mark.parametrize(
    "case",
    [
        {"forced": False},  # an ordinary push adds commits: nothing rewritten
        {"ref": "refs/tags/v1.0"},  # a tag
        {"ref": "refs/heads/other-branch"},  # another branch
    ],
)
def test_pushes_that_rewrite_nothing_here_outdate_nothing(case):
    deliveries = story(**case)
    apply_all("github", list(deliveries.values()))
    assert stale_pulls() == []


def test_a_new_branch_is_not_a_rewrite():
    deliveries = story()
    deliveries["pushed"][1]["before"] = "0" * 40
    apply_all("github", list(deliveries.values()))
    assert ForcePush.objects.count() == 0


def test_the_reviewer_sees_it_in_the_queue_and_the_team_on_today(client):
    deliveries = story()
    apply_all("github", list(deliveries.values()))
    repository = ConnectedRepository.objects.get()
    team = Organization.objects.create(name="Octo", slug="octo")
    repository.organization = team
    repository.save()
    reviewer = Review.objects.get().reviewer_login
    user = get_user_model().objects.create_user("reviewer")
    OrganizationMembership.objects.create(organization=team, user=user)
    member = Member.objects.create(user=user, display_name="Reviewer")
    identity = ProviderIdentity.objects.get(login=reviewer)
    identity.member = member
    identity.save()
    (stale,) = my_stale_approvals(user=user, identities=[identity])
    assert stale.pull_request.number == 2
    client.force_login(user)
    queue = client.get("/dashboard/queue/").content.decode()
    assert "Approved an older version" in queue
    assert f"you approved {stale.commit_sha[:7]}, now at {NEW_HEAD[:7]}" in queue
    today = client.get("/dashboard/").content.decode()
    assert "approved an older version" in today
    # Another team's person sees none of it.
    stranger = get_user_model().objects.create_user("stranger")
    assert my_stale_approvals(user=stranger, identities=[identity]) == []
