"""Review practice: the repository-creation path of the clients (validate the
name, create, push the template in one commit, open the pull request), the
practice page, and scoring a review against the planted problems, whatever
order its deliveries arrive in. Provider HTTP is mocked with recorded answers
(tests/provider_responses/PROVENANCE.md)."""

from __future__ import annotations

import copy
import itertools
import json

import pytest
import responses
from django.contrib.auth import get_user_model
from django.db import transaction

from integrations.models import (
    ConnectedRepository,
    Organization,
    OrganizationMembership,
    PracticeRepository,
    ProviderCredential,
    WebhookEndpoint,
)
from integrations.providers import get_provider
from integrations.providers.base import ProviderConflictError, ProviderError
from integrations.services.practice import (
    PracticeError,
    practice_name_error,
    practice_repository_request,
    practice_repository_run,
    practice_round_open,
    practice_round_start,
)
from reviews.models import Member, PracticeRound, ProviderIdentity
from reviews.practice import (
    CHANGE_FILES,
    PROBLEMS,
    TEMPLATE_FILES,
    problems_found,
)
from rewards.models import PointsEntry
from tests.conftest import SHARED_FIXTURES, load_payload, post_webhook
from tests.integrations.test_connect_repo import (
    API,
    HOST,
    REPO,
    mock_github,
    recorded,
)
from tests.integrations.test_writes import body_of

pytestmark = pytest.mark.django_db

ORGS = f"https://{HOST}:443/api/v3/orgs"
MAIN_SHA = "04cde900a0775b51f762735637bd30de392a2793"  # git_ref.json
needs_corpus = pytest.mark.skipif(
    not (SHARED_FIXTURES / "github").exists(), reason="payload corpus not found"
)


@pytest.fixture(autouse=True)
def _client_settings(settings):
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.PUBLIC_URL = "https://cq.example.com"
    settings.CODEQUEST_ALLOWED_API_HOSTS = [HOST, "gitlab.example.com"]


@pytest.fixture
def team(team_admin):
    """The team ``core`` following the GitHub organization PyGithub; its admin
    ``lead`` has connected GitHub."""
    Organization.objects.filter(pk=team_admin.pk).update(
        source_provider="github", source_host=HOST, source_path="pygithub"
    )
    lead = get_user_model().objects.get(username="lead")
    credential = ProviderCredential(
        user=lead,
        provider="github",
        api_url=API,
        kind=ProviderCredential.Kind.OAUTH,
        account_login="lead-gh",
    )
    credential.token = "ghu_practice_token"
    credential.save()
    team_admin.refresh_from_db()
    return team_admin


def newcomer(team, username="newbie", login="newbie-gh"):
    user = get_user_model().objects.create_user(username, password="pw")
    OrganizationMembership.objects.create(organization=team, user=user)
    member = Member.objects.create(display_name=username, user=user)
    ProviderIdentity.objects.create(
        provider="github", host=HOST, login=login, member=member
    )
    return user


def serve_template_commit(rsps) -> None:
    rsps.get(f"{REPO}/git/ref/heads/main", json=recorded("git_ref.json"))
    rsps.get(f"{REPO}/git/commits/{MAIN_SHA}", json=recorded("git_commit.json"))
    rsps.post(f"{REPO}/git/trees", status=201, json=recorded("git_tree_created.json"))
    rsps.post(f"{REPO}/git/commits", status=201, json=recorded("git_commit.json"))
    rsps.patch(f"{REPO}/git/refs/heads/main", json=recorded("git_ref.json"))


def create_practice(client, team, django_capture_on_commit_callbacks, **form):
    data = {"place": "github:pygithub", "name": "PyGithub", **form}
    with django_capture_on_commit_callbacks() as queued:
        answer = client.post(f"/dashboard/teams/{team.slug}/practice/create/", data)
    assert answer.status_code == 302
    return queued


@pytest.fixture
def ready(client, team, django_capture_on_commit_callbacks):
    """The practice repository created, filled and connected."""
    create_practice(client, team, django_capture_on_commit_callbacks)
    practice = PracticeRepository.objects.get()
    with responses.RequestsMock() as rsps:
        rsps.post(f"{ORGS}/pygithub/repos", status=201, json=recorded("repo.json"))
        serve_template_commit(rsps)
        mock_github(rsps)
        assert practice_repository_run(practice_id=practice.pk) == "ready"
        created = body_of(rsps, "POST", "/orgs/pygithub/repos")
        tree = body_of(rsps, "POST", "/git/trees")["tree"]
    assert created == {
        "name": "PyGithub",
        "description": created["description"],
        "private": True,
        "auto_init": True,
    }
    assert sorted(item["path"] for item in tree) == sorted(TEMPLATE_FILES)
    return PracticeRepository.objects.select_related("repository").get()


# --- the clients' repository creation ---------------------------------------------


def github_client():
    return get_provider("github").client("ghu_practice_token", API)


def test_github_creates_a_private_initialised_repository_in_the_organization():
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{ORGS}/BeaverSoftware/repos",
            status=201,
            json=recorded("repo_created.json"),
        )
        created = github_client().repository_create(
            "BeaverSoftware", "TestPyGithub2", description="practice"
        )
        body = json.loads(rsps.calls[0].request.body)
    assert (created.full_name, created.external_id) == (
        "BeaverSoftware/TestPyGithub2",
        4460019,
    )
    assert created.default_branch is None  # recorded in 2012: read it after
    assert body["private"] is True and body["auto_init"] is True


def test_github_creates_in_the_persons_own_account_without_an_owner():
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"https://{HOST}:443/api/v3/user/repos",
            status=201,
            json=recorded("repo_created.json"),
        )
        github_client().repository_create("", "TestPyGithub2", description="")


def test_github_taken_name_and_refusal_are_clear():
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{ORGS}/acme/repos", status=422, json=recorded("repo_name_taken.json")
        )
        with pytest.raises(ProviderConflictError, match="name is taken"):
            github_client().repository_create("acme", "shop", description="")
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{ORGS}/acme/repos",
            status=403,
            json={"message": "Resource not accessible by integration"},
        )
        with pytest.raises(ProviderError, match="403 Resource not accessible") as err:
            github_client().repository_create("acme", "shop", description="")
    assert not isinstance(err.value, ProviderConflictError)


GITLAB = "https://gitlab.example.com/api/v4"


def gitlab_client():
    return get_provider("gitlab").client("glpat-practice", "https://gitlab.example.com")


def test_gitlab_creates_a_private_project_in_the_group():
    from tests.integrations.test_connect_repo_gitlab import recorded as gitlab_recorded

    with responses.RequestsMock() as rsps:
        rsps.get(f"{GITLAB}/namespaces/group1", json=gitlab_recorded("namespace.json"))
        rsps.post(
            f"{GITLAB}/projects", status=201, json=gitlab_recorded("project.json")
        )
        created = gitlab_client().repository_create(
            "group1", "diaspora-project-site", description="practice"
        )
        body = json.loads(rsps.calls[1].request.body)
    assert created.full_name == "diaspora/diaspora-project-site"
    assert created.default_branch == "main"
    assert body["namespace_id"] == 2
    assert body["visibility"] == "private"
    assert body["initialize_with_readme"] is True
    assert body["path"] == body["name"] == "diaspora-project-site"


def test_gitlab_taken_name_refusal_and_unknown_group():
    from tests.integrations.test_connect_repo_gitlab import recorded as gitlab_recorded

    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{GITLAB}/projects",
            status=400,
            json=gitlab_recorded("project_name_taken.json"),
        )
        with pytest.raises(ProviderConflictError, match="name is taken"):
            gitlab_client().repository_create("", "shop", description="")
    with responses.RequestsMock() as rsps:
        rsps.post(f"{GITLAB}/projects", status=403, json={"message": "403 Forbidden"})
        with pytest.raises(ProviderError, match="403"):
            gitlab_client().repository_create("", "shop", description="")
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{GITLAB}/namespaces/nobody", status=404, json={"message": "404 Not found"}
        )
        with pytest.raises(ProviderError, match="not found"):
            gitlab_client().repository_create("nobody", "shop", description="")


# --- inline comments keep their place ---------------------------------------------


@needs_corpus
def test_github_review_comments_keep_their_file_and_line():
    adapter = get_provider("github")
    event = adapter.parse(
        "pull_request_review_comment",
        load_payload("github", "pull_request_review_comment.created.2.json"),
    )
    assert (event.comment.path, event.comment.line) == ("README.md", 265)
    legacy = adapter.parse(  # only the old diff ``position``: no line to keep
        "pull_request_review_comment",
        load_payload("github", "pull_request_review_comment.created.1.json"),
    )
    assert (legacy.comment.path, legacy.comment.line) == ("README.md", None)


@needs_corpus
def test_gitlab_diff_notes_keep_their_file_and_line():
    from integrations.providers.gitlab.client import note_from_api
    from tests.integrations.test_connect_repo_gitlab import recorded as gitlab_recorded

    note = gitlab_recorded("diff_note.json")
    listed = note_from_api(note)
    assert (listed.path, listed.line) == ("package.json", 27)
    payload = load_payload("gitlab", "note.create.1.json")
    payload["object_attributes"]["position"] = note["position"]
    event = get_provider("gitlab").parse("Note Hook", payload)
    assert (event.comment.path, event.comment.line) == ("package.json", 27)
    plain = get_provider("gitlab").parse(
        "Note Hook", load_payload("gitlab", "note.create.1.json")
    )
    assert (plain.comment.path, plain.comment.line) == ("", None)


# --- names and places -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "-shop", "shop-", "has space", "a..b", "shop.git", "x" * 101, "ünïcode"],
)
def test_names_no_provider_accepts_are_refused(name):
    assert practice_name_error(name)


@pytest.mark.parametrize("name", ["shop", "codequest-practice", "A.b_c-9", "x"])
def test_good_names_pass(name):
    assert practice_name_error(name) == ""


def test_a_bad_name_or_place_is_a_message_and_creates_nothing(
    client, team, django_capture_on_commit_callbacks
):
    for form in ({"name": "bad name"}, {"place": "github:someone-else"}):
        queued = create_practice(
            client, team, django_capture_on_commit_callbacks, **form
        )
        assert not queued
    assert not PracticeRepository.objects.exists()
    page = client.get(f"/dashboard/teams/{team.slug}/practice/").content.decode()
    assert "Create practice repository" in page
    assert "pygithub (the team" in page and "lead-gh (your account)" in page


def test_members_cannot_create_and_other_teams_are_not_found(client, team):
    user = newcomer(team)
    client.force_login(user)
    answer = client.post(
        f"/dashboard/teams/{team.slug}/practice/create/",
        {"place": "github:pygithub", "name": "shop"},
    )
    assert answer.status_code == 403
    Organization.objects.create(name="Other", slug="other")
    assert client.get("/dashboard/teams/other/practice/").status_code == 404
    assert client.post("/dashboard/teams/other/practice/rounds/").status_code == 404
    assert not PracticeRepository.objects.exists()


def test_a_taken_name_fails_then_another_name_creates_it(
    client, team, django_capture_on_commit_callbacks
):
    create_practice(client, team, django_capture_on_commit_callbacks)
    practice = PracticeRepository.objects.get()
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{ORGS}/pygithub/repos", status=422, json=recorded("repo_name_taken.json")
        )
        assert practice_repository_run(practice_id=practice.pk) == "failed"
    practice.refresh_from_db()
    assert "exists there already; choose another name" in practice.error
    page = client.get(f"/dashboard/teams/{team.slug}/practice/").content.decode()
    assert "Try again" in page and "choose another name" in page

    queued = create_practice(
        client, team, django_capture_on_commit_callbacks, name="PyGithub2"
    )
    assert len(queued) == 1
    practice.refresh_from_db()
    assert (practice.name, practice.status) == ("PyGithub2", "queued")


def test_a_run_stopped_half_way_resumes_without_creating_twice(
    client, team, django_capture_on_commit_callbacks
):
    create_practice(client, team, django_capture_on_commit_callbacks)
    practice = PracticeRepository.objects.get()
    with responses.RequestsMock() as rsps:
        rsps.post(f"{ORGS}/pygithub/repos", status=201, json=recorded("repo.json"))
        rsps.get(f"{REPO}/git/ref/heads/main", json=recorded("git_ref.json"))
        rsps.get(f"{REPO}/git/commits/{MAIN_SHA}", json=recorded("git_commit.json"))
        rsps.post(
            f"{REPO}/git/trees",
            status=403,
            json={"message": "Resource not accessible by integration"},
        )
        assert practice_repository_run(practice_id=practice.pk) == "failed"
    practice.refresh_from_db()
    assert practice.full_name == "PyGithub/PyGithub" and not practice.template_sha

    create_practice(client, team, django_capture_on_commit_callbacks, name="ignored")
    with responses.RequestsMock() as rsps:  # no second POST /orgs/…/repos
        serve_template_commit(rsps)
        mock_github(rsps)
        assert practice_repository_run(practice_id=practice.pk) == "ready"
    practice.refresh_from_db()
    assert practice.name == "PyGithub"  # where and what are fixed once created
    assert practice.repository.is_practice
    assert practice_repository_run(practice_id=practice.pk) == "taken"


def test_the_practice_repository_is_created_filled_and_connected(ready, team):
    repository = ready.repository
    assert (repository.full_name, repository.organization_id) == (
        "PyGithub/PyGithub",
        team.pk,
    )
    assert repository.is_practice
    assert WebhookEndpoint.objects.filter(repository=repository).exists()
    assert [step["line"] for step in ready.log][:3] == [
        "created PyGithub/PyGithub (private)",
        "pushed the template's 5 files in one commit",
        ready.log[2]["line"],
    ]
    with pytest.raises(PracticeError, match="ready already"):
        practice_repository_request(
            user=get_user_model().objects.get(username="lead"),
            team=team,
            place="github:pygithub",
            name="again",
        )


# --- practice rounds ----------------------------------------------------------------


def open_round(client, team, django_capture_on_commit_callbacks, **form):
    with django_capture_on_commit_callbacks() as queued:
        answer = client.post(f"/dashboard/teams/{team.slug}/practice/rounds/", form)
    assert answer.status_code == 302
    return queued


def serve_round(rsps, branch: str) -> None:
    rsps.get(
        f"{REPO}/git/ref/heads/{branch}", status=404, json={"message": "Not Found"}
    )
    rsps.get(f"{REPO}/git/ref/heads/main", json=recorded("git_ref.json"))
    rsps.get(f"{REPO}/git/commits/{MAIN_SHA}", json=recorded("git_commit.json"))
    rsps.post(f"{REPO}/git/trees", status=201, json=recorded("git_tree_created.json"))
    rsps.post(f"{REPO}/git/commits", status=201, json=recorded("git_commit.json"))
    rsps.post(f"{REPO}/git/refs", status=201, json=recorded("git_ref_created.json"))
    rsps.post(f"{REPO}/pulls", status=201, json=recorded("pulls_open.json")[0])
    rsps.get(REPO, json=recorded("repo.json"))
    rsps.post(
        f"{REPO}/pulls/32/requested_reviewers",
        status=201,
        json=recorded("pulls_open.json")[0],
    )


@pytest.fixture
def opened(client, team, ready, django_capture_on_commit_callbacks):
    """``newbie`` started a practice review; its pull request is #32."""
    user = newcomer(team)
    client.force_login(user)
    queued = open_round(client, team, django_capture_on_commit_callbacks)
    assert len(queued) == 1
    round_ = PracticeRound.objects.get()
    with responses.RequestsMock() as rsps:
        serve_round(rsps, f"practice/newbie-gh-{round_.pk}")
        assert practice_round_open(round_id=round_.pk) == "open"
        tree = body_of(rsps, "POST", "/git/trees")["tree"]
        pull = body_of(rsps, "POST", "/pulls")
        asked = body_of(rsps, "POST", "/requested_reviewers")
    assert sorted(item["path"] for item in tree) == sorted(CHANGE_FILES)
    assert pull["head"] == f"practice/newbie-gh-{round_.pk}"
    assert pull["base"] == "main"
    assert "@newbie-gh" in pull["body"]
    assert asked["reviewers"] == ["newbie-gh"]
    round_.refresh_from_db()
    assert (round_.status, round_.pull_number) == ("open", 32)
    assert round_.pull_url.startswith(f"https://{HOST}/")
    assert practice_round_open(round_id=round_.pk) == "taken"
    return round_


def test_a_round_needs_a_linked_login_and_only_one_at_a_time(
    client, team, ready, django_capture_on_commit_callbacks
):
    loner = get_user_model().objects.create_user("loner", password="pw")
    OrganizationMembership.objects.create(organization=team, user=loner)
    client.force_login(loner)
    assert not open_round(client, team, django_capture_on_commit_callbacks)
    with pytest.raises(PracticeError, match="no GitHub login linked"):
        practice_round_start(team=team, member_user=loner, requested_by=loner)

    user = newcomer(team)
    practice_round_start(team=team, member_user=user, requested_by=user)
    with pytest.raises(PracticeError, match="open already"):
        practice_round_start(team=team, member_user=user, requested_by=user)


def test_admins_open_rounds_for_teammates_members_only_for_themselves(
    client, team, ready, django_capture_on_commit_callbacks
):
    user = newcomer(team)
    outsider = get_user_model().objects.create_user("outsider", password="pw")
    assert not open_round(
        client, team, django_capture_on_commit_callbacks, user=str(outsider.pk)
    )
    assert len(
        open_round(client, team, django_capture_on_commit_callbacks, user=user.pk)
    )
    assert PracticeRound.objects.get().member.user == user

    other = newcomer(team, "second", "second-gh")
    client.force_login(user)
    answer = client.post(
        f"/dashboard/teams/{team.slug}/practice/rounds/", {"user": other.pk}
    )
    assert answer.status_code == 403


def test_a_refused_pull_request_fails_the_round_and_says_why(
    client, team, ready, django_capture_on_commit_callbacks
):
    user = newcomer(team)
    round_ = practice_round_start(team=team, member_user=user, requested_by=user)
    with responses.RequestsMock() as rsps:
        branch = f"practice/newbie-gh-{round_.pk}"
        rsps.get(f"{REPO}/git/ref/heads/{branch}", json=recorded("git_ref.json"))
        rsps.post(
            f"{REPO}/pulls", status=422, json=recorded("pull_create_refused.json")
        )
        assert practice_round_open(round_id=round_.pk) == "failed"
    round_.refresh_from_db()
    assert round_.status == "failed" and "422" in round_.error
    # A failed round does not block the next one.
    practice_round_start(team=team, member_user=user, requested_by=user)


def comment_payload(login: str, path: str, line: int, comment_id: int, minute: int):
    payload = load_payload("github", "pull_request_review_comment.created.2.json")
    payload["pull_request"].update(
        number=32, updated_at=f"2024-05-01T10:{minute:02d}:00Z"
    )
    payload["comment"].update(
        id=comment_id,
        user={"login": login, "id": 7000 + comment_id, "type": "User"},
        path=path,
        line=line,
        original_line=line,
        body=f"Look at {path}:{line} again, please.",
        created_at=f"2024-05-01T10:{minute:02d}:00Z",
        updated_at=f"2024-05-01T10:{minute:02d}:00Z",
    )
    return payload


def review_payload(login: str, minute: int, review_id: int = 555):
    payload = load_payload("github", "pull_request_review.submitted.2.json")
    payload["pull_request"].update(
        number=32, updated_at=f"2024-05-01T10:{minute:02d}:00Z"
    )
    payload["review"].update(
        id=review_id,
        user={"login": login, "id": 7000, "type": "User"},
        state="changes_requested",
        body="A few things to fix.",
        submitted_at=f"2024-05-01T10:{minute:02d}:00Z",
    )
    return payload


def problem(key: str):
    return next(item for item in PROBLEMS if item.key == key)


def through_the_hook(payload: dict) -> dict:
    """The delivery as GitHub sends it for the practice repository."""
    payload = copy.deepcopy(payload)
    payload["repository"].update(
        id=3544490,
        name="PyGithub",
        full_name="PyGithub/PyGithub",
        html_url=f"https://{HOST}/PyGithub/PyGithub",
    )
    return payload


@needs_corpus
def test_end_to_end_create_open_review_scored_through_the_webhook(
    client, team, opened, eager_celery, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.objects.get(repository=opened.repository)
    sql, secret = problem("sql-injection"), problem("secret-in-code")
    deliveries = [
        (
            "pull_request_review_comment",
            comment_payload("newbie-gh", sql.path, sql.line, 1, 1),
        ),
        (
            "pull_request_review_comment",
            comment_payload("newbie-gh", secret.path, secret.line + 1, 2, 2),
        ),
        (
            "pull_request_review_comment",
            comment_payload("newbie-gh", "shop/cart.py", 3, 3, 3),
        ),
        (
            "pull_request_review_comment",
            comment_payload(
                "someone-else", "shop/cart.py", problem("off-by-one").line, 4, 4
            ),
        ),
    ]
    for event, payload in deliveries:
        with django_capture_on_commit_callbacks(execute=True):
            answer = post_webhook(
                client,
                "github",
                through_the_hook(payload),
                event,
                hook=endpoint.public_id,
                secret=endpoint.secret,
            )
        assert answer.status_code == 202, answer.content
    opened.refresh_from_db()
    assert opened.status == "open"
    assert opened.found == ["sql-injection", "secret-in-code"]
    page = client.get(f"/dashboard/teams/{team.slug}/practice/").content.decode()
    assert "of 6 planted problems found" in page
    assert sql.explanation not in page  # nothing explained before the review
    assert problem("off-by-one").title not in page  # the missed stay hidden

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(
            client,
            "github",
            through_the_hook(review_payload("newbie-gh", 5)),
            "pull_request_review",
            hook=endpoint.public_id,
            secret=endpoint.secret,
        )
    opened.refresh_from_db()
    assert opened.status == "reviewed" and opened.reviewed_at is not None
    page = client.get(f"/dashboard/teams/{team.slug}/practice/").content.decode()
    assert problem("off-by-one").explanation.split(",")[0] in page
    assert page.count('class="outcome found"') == 2
    assert page.count('class="outcome missed"') == 4
    assert not PointsEntry.objects.exists()  # practice earns nothing


def test_the_nearest_problem_takes_a_comment_one_comment_one_problem():
    secret, default = problem("secret-in-code"), problem("mutable-default")
    assert secret.path == default.path and default.line - secret.line <= 4
    middle = (secret.line + default.line + 1) // 2
    assert len(problems_found([(secret.path, middle)])) == 1
    assert problems_found(
        [(secret.path, secret.line), (default.path, default.line)]
    ) == [
        "secret-in-code",
        "mutable-default",
    ]
    assert problems_found([("shop/other.py", secret.line), ("", 5), ("x", None)]) == []


def test_every_planted_line_is_in_the_change_once():
    for item in PROBLEMS:
        lines = CHANGE_FILES[item.path].splitlines()
        assert item.snippet in lines[item.line - 1]


@needs_corpus
def test_every_order_with_duplicates_ends_in_the_same_score():
    """A person with two linked logins: their comments on two planted problems,
    a third one then deleted, their review. Any order, each twice: the same
    problems found, the same status, no points. (Another person's comment not
    counting is in the end-to-end test.)"""
    from integrations.services import repository_upsert
    from integrations.services.events import event_handle

    adapter = get_provider("github")
    base = load_payload("github", "pull_request_review_comment.created.2.json")
    snapshot = adapter.parse("pull_request_review_comment", base).repository
    sql, default = problem("sql-injection"), problem("mutable-default")
    deleted = comment_payload("newbie-alt", problem("float-money").path, 28, 12, 3)
    deleted["action"] = "deleted"
    deliveries = [
        (
            "pull_request_review_comment",
            comment_payload("newbie-gh", sql.path, sql.line, 10, 1),
        ),
        (
            "pull_request_review_comment",
            comment_payload("newbie-alt", default.path, default.line, 11, 2),
        ),
        (
            "pull_request_review_comment",
            comment_payload("newbie-alt", "shop/cart.py", 28, 12, 3),
        ),
        ("pull_request_review_comment", deleted),
        ("pull_request_review", review_payload("newbie-gh", 6)),
    ]
    member = Member.objects.create(display_name="newbie")

    class Rollback(Exception):
        pass

    def outcome(order):
        try:
            with transaction.atomic():
                repository = repository_upsert(snapshot=snapshot)
                ConnectedRepository.objects.filter(pk=repository.pk).update(
                    is_practice=True
                )
                repository.refresh_from_db()
                for login in ("newbie-gh", "newbie-alt"):
                    ProviderIdentity.objects.update_or_create(
                        provider="github",
                        host=repository.host,
                        login=login,
                        defaults={"member": member},
                    )
                PracticeRound.objects.create(
                    repository=repository,
                    member=member,
                    login="newbie-gh",
                    status="open",
                    pull_number=32,
                )
                for index in order:
                    event_name, payload = deliveries[index]
                    for _twice in range(2):
                        event = adapter.parse(event_name, copy.deepcopy(payload))
                        event_handle(event=event, repository=repository)
                round_ = PracticeRound.objects.get()
                result = (
                    round_.status,
                    tuple(round_.found),
                    round_.reviewed_at,
                    PointsEntry.objects.count(),
                )
                raise Rollback
        except Rollback:
            return result

    expected = outcome(range(len(deliveries)))
    assert expected[:2] == ("reviewed", ("sql-injection", "mutable-default"))
    assert expected[3] == 0
    for order in itertools.permutations(range(len(deliveries))):
        assert outcome(order) == expected, order
