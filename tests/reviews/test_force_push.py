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


# --- GitLab: the push hook does not say "forced"; the merge base does ------------


@pytest.fixture
def gitlab_world(settings):
    from integrations.models import ProviderCredential

    settings.CODEQUEST_ALLOWED_API_HOSTS = ["gitlab.com"]
    payload = load_payload("gitlab", "push.default.2.json")
    credential = ProviderCredential(
        provider="gitlab", api_url="https://gitlab.com", kind="access_token"
    )
    credential.token = "glpat-rewrite"
    credential.save()
    repository = ConnectedRepository.objects.create(
        provider="gitlab",
        host="gitlab.com",
        external_id=payload["project"]["id"],
        full_name=payload["project"]["path_with_namespace"],
        default_branch="main",  # so the master push is a pull request's branch
        credential=credential,
    )
    PullRequest.objects.create(
        repository=repository,
        number=7,
        state="open",
        head_ref="master",
        author_login="jsmith",
    )
    return repository, payload


def deliver_gitlab_push(client, payload, capture):
    from unittest import mock

    from integrations.models import WebhookDelivery
    from integrations.services import deliveries_process
    from tests.conftest import post_webhook

    with (
        mock.patch(
            "integrations.services.events.push_rewrite_check_task.delay"
        ) as delay,
        capture(execute=True),
    ):
        post_webhook(client, "gitlab", payload, "Push Hook")
        deliveries_process(
            delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True))
        )
    return [call.args for call in delay.call_args_list]


def test_a_gitlab_push_to_a_pull_requests_branch_is_checked(
    client, gitlab_world, django_capture_on_commit_callbacks
):
    repository, payload = gitlab_world
    checks = deliver_gitlab_push(client, payload, django_capture_on_commit_callbacks)
    assert len(checks) == 1
    repository_id, ref, before, after, _ = checks[0]
    assert (repository_id, ref, before, after) == (
        repository.pk,
        "refs/heads/master",
        payload["before"],
        payload["after"],
    )
    PullRequest.objects.update(state="merged")  # no open pull request there
    from integrations.models import WebhookDelivery

    WebhookDelivery.objects.all().delete()
    assert (
        deliver_gitlab_push(client, payload, django_capture_on_commit_callbacks) == []
    )


@pytest.mark.parametrize(
    ("answer", "rewritten"),
    [
        ("ancestor", False),  # the merge base is the old head: a fast-forward
        ("other", True),  # the old head is not in the new history
        ("gone", True),  # the old commit is no longer known
    ],
)
def test_the_merge_base_decides_whether_a_gitlab_push_rewrote(
    gitlab_world, answer, rewritten
):
    import responses

    from integrations.services.pushes import push_rewrite_check
    from tests.integrations.test_connect_repo_gitlab import recorded

    repository, payload = gitlab_world
    Review.objects.create(
        pull_request=PullRequest.objects.get(),
        external_id="approval-1",
        reviewer_login="kim",
        state="approved",
        commit_sha=payload["before"],
        submitted_at="2026-11-20T09:00:00+00:00",
    )
    base = recorded("merge_base.json")
    if answer == "ancestor":
        base["id"] = payload["before"]
    url = (
        "https://gitlab.com/api/v4/projects/gitlab-org%2Fhello-world"
        "/repository/merge_base"
    )
    with responses.RequestsMock() as rsps:
        if answer == "gone":
            rsps.get(url, status=404, json={"message": "404 Commit Not Found"})
        else:
            rsps.get(url, json=base)
        found = push_rewrite_check(
            repository_id=repository.pk,
            ref="refs/heads/master",
            before=payload["before"],
            after=payload["after"],
            pushed_at="2026-11-20T10:00:00+00:00",
        )
        asked = rsps.calls[0].request.url
    assert found is rewritten
    assert "refs%5B%5D=" + payload["before"] in asked
    assert ForcePush.objects.filter(before_sha=payload["before"]).exists() is rewritten
    # Kim approved the old head: an older version once the branch was rewritten.
    assert stale_pulls() == ([7] if rewritten else [])
