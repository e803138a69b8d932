"""The practice repository (README "Practice repository"): a team admin has
CodeQuest create a private repository from the built-in template, in the team's
organization or group (or their own account), push the template's files in one
commit and connect it; then anyone on the team opens a practice pull request
with planted problems for themselves (an admin for anyone), and their review is
scored against those problems (``reviews.practice``).

The provider calls follow the repository-creation path of the clients: validate
the name, create the repository, push the files, open the pull request. Every
step's result is stored before the next, so a run that stops half-way (a
timeout, a worker restart) resumes on the next try and never creates twice.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.credentials import (
    credential_client,
    credential_guard,
    oauth_connection,
    repository_client_guarded,
)
from integrations.models import (
    ConnectedRepository,
    Organization,
    PracticeRepository,
    SyncRun,
)
from integrations.providers import PROVIDERS, get_provider
from integrations.providers.base import (
    ProviderConflictError,
    ProviderError,
    ProviderTemporaryError,
    RepoClient,
)
from integrations.providers.hosts import safe_link
from integrations.services.connections import repository_connect
from integrations.services.webhooks import WebhookConflict
from integrations.tasks import practice_repository_task, practice_round_task
from reviews.models import Member, PracticeRound, ProviderIdentity
from reviews.practice import (
    CHANGE_FILES,
    CHANGE_MESSAGE,
    PROBLEMS,
    PULL_TITLE,
    REPOSITORY_DESCRIPTION,
    TEMPLATE_FILES,
    TEMPLATE_MESSAGE,
)

logger = logging.getLogger(__name__)

Status = PracticeRepository.Status
RoundStatus = PracticeRound.Status
DEFAULT_NAME = "codequest-practice"
# A name every provider accepts as a repository (GitHub) and a project path
# (GitLab): letters, digits, '.', '_' and '-', starting and ending with a letter
# or digit, at most 100 characters, no '..' and no '.git'/'.atom' ending.
NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")


class PracticeError(Exception):
    """Why a practice request was refused, in words for the person who asked."""


def practice_name_error(name: str) -> str:
    """What is wrong with a repository name, or "" when it is fine."""
    if not name:
        return "Give the repository a name."
    if len(name) > 100:
        return "At most 100 characters."
    if not NAME.fullmatch(name):
        return (
            "Letters, digits, '.', '_' and '-' only, starting and ending with a "
            "letter or digit."
        )
    if ".." in name or name.lower().endswith((".git", ".atom")):
        return "No '..', and no '.git' or '.atom' at the end."
    return ""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a practice repository may be created: (provider, owner)."""

    provider: str
    owner: str  # "" for the account of the person's connection
    label: str

    @property
    def value(self) -> str:
        return f"{self.provider}:{self.owner}"


def practice_places(*, user: Any, team: Organization) -> list[Place]:
    """For each provider the person has connected: the team's organization or
    group there (when the team follows one), then their own account."""
    places = []
    for slug, adapter in PROVIDERS.items():
        credential = oauth_connection(user=user, provider=slug)
        if credential is None:
            continue
        if team.source_provider == slug and team.source_path:
            owner = adapter.repository_namespace(team.source_path)
            places.append(Place(slug, owner, f"{adapter.name}: {owner} (the team's)"))
        account = credential.account_login or "your account"
        places.append(Place(slug, "", f"{adapter.name}: {account} (your account)"))
    return places


def practice_repository_request(
    *, user: Any, team: Organization, place: str, name: str
) -> PracticeRepository:
    """Ask for the team's practice repository (or try again after a failure):
    checked here, created in the background."""
    name = name.strip()
    problem = practice_name_error(name)
    if problem:
        raise PracticeError(f"“{name[:100]}” cannot be a repository name: {problem}")
    chosen = {item.value: item for item in practice_places(user=user, team=team)}
    if place not in chosen:
        raise PracticeError(
            "Choose where to create it among your connected accounts and the "
            "team's organization."
        )
    where = chosen[place]
    credential = oauth_connection(user=user, provider=where.provider)
    with transaction.atomic():
        practice = (
            PracticeRepository.objects.select_for_update()
            .filter(organization=team)
            .first()
        )
        if practice is not None and practice.status != Status.FAILED:
            state = practice.get_status_display().lower()
            raise PracticeError(f"The team's practice repository is {state} already.")
        if practice is None:
            practice = PracticeRepository(organization=team)
        if not practice.full_name:  # not created yet: where and what may change
            practice.provider, practice.owner, practice.name = (
                where.provider,
                where.owner,
                name,
            )
        practice.credential = credential
        practice.requested_by = user
        practice.status, practice.error = Status.QUEUED, ""
        practice.save()
        transaction.on_commit(lambda: practice_repository_task.delay(practice.pk))
    return practice


def practice_repository_run(*, practice_id: int) -> str:
    """Create, fill and connect the practice repository, resuming after the
    last step done. Runs once at a time: a second delivery finds it taken."""
    if not PracticeRepository.objects.filter(
        pk=practice_id, status=Status.QUEUED
    ).update(status=Status.RUNNING, updated_at=timezone.now()):
        return "taken"
    practice = PracticeRepository.objects.select_related(
        "credential", "organization"
    ).get(pk=practice_id)
    credential = practice.credential
    if credential is None or credential.status != credential.Status.ACTIVE:
        return _finish(
            practice,
            Status.FAILED,
            "the connection that asked for it is gone; connect again and retry",
        )
    try:
        with credential_guard(credential):
            _steps(practice, credential_client(credential))
    except ProviderConflictError:
        return _finish(
            practice,
            Status.FAILED,
            f"a repository named {practice.name} exists there already; choose "
            "another name",
        )
    except ProviderTemporaryError as exc:
        return _finish(practice, Status.FAILED, f"{exc}; try again in a while")
    except (ProviderError, WebhookConflict) as exc:
        return _finish(practice, Status.FAILED, str(exc))
    except Exception:
        logger.exception("integrations.practice.failed", extra={"id": practice_id})
        return _finish(
            practice, Status.FAILED, "an unexpected error; the worker log has it"
        )
    return _finish(practice, Status.READY)


def _steps(practice: PracticeRepository, client: RepoClient) -> None:
    if not practice.full_name:
        created = client.repository_create(
            practice.owner, practice.name, description=REPOSITORY_DESCRIPTION
        )
        practice.full_name = created.full_name
        practice.default_branch = created.default_branch or ""
        _save(practice, f"created {created.full_name} (private)")
    if not practice.default_branch:  # an answer that did not say
        access = client.repository(practice.full_name)
        practice.default_branch = access.repository.default_branch or "main"
        _save(practice, f"its default branch is {practice.default_branch}")
    if not practice.template_sha:
        head = client.branch_head(practice.full_name, practice.default_branch)
        if head is None:
            raise ProviderTemporaryError(
                f"{practice.full_name} has no {practice.default_branch} branch yet"
            )
        practice.template_sha = client.commit_files(
            practice.full_name,
            branch=practice.default_branch,
            parent=head,
            message=TEMPLATE_MESSAGE,
            files=TEMPLATE_FILES,
            existing=("README.md",),  # the provider's own first README
        )
        _save(
            practice,
            f"pushed the template's {len(TEMPLATE_FILES)} files in one commit",
        )
    if practice.repository_id is None:
        result = repository_connect(
            provider=practice.provider,
            full_name=practice.full_name,
            credential=practice.credential,
            organization=practice.organization,
            trigger=SyncRun.Trigger.MANUAL,
            progress=lambda line: _note(practice, line),
        )
        ConnectedRepository.objects.filter(pk=result.repository.pk).update(
            is_practice=True
        )
        practice.repository = result.repository
        _save(practice, "connected to the team")


def _logged(practice: PracticeRepository, line: str) -> None:
    practice.log = [
        *practice.log,
        {"at": timezone.now().isoformat(), "line": line[:500]},
    ][-50:]


def _note(practice: PracticeRepository, line: str) -> None:
    _logged(practice, line)
    PracticeRepository.objects.filter(pk=practice.pk).update(
        log=practice.log, updated_at=timezone.now()
    )


def _save(practice: PracticeRepository, line: str) -> None:
    """Keep a step's result before the next step starts."""
    _logged(practice, line)
    practice.save(
        update_fields=[
            "full_name",
            "default_branch",
            "template_sha",
            "repository",
            "log",
            "updated_at",
        ]
    )


def _finish(practice: PracticeRepository, status: str, error: str = "") -> str:
    practice.status, practice.error = status, error[:2000]
    practice.save(update_fields=["status", "error", "updated_at"])
    return status


# --- practice rounds ----------------------------------------------------------


def practice_round_start(
    *, team: Organization, member_user: Any, requested_by: Any
) -> PracticeRound:
    """Open a practice pull request for one person of the team (in the
    background): they need a login on the practice repository's code host."""
    practice = (
        PracticeRepository.objects.select_related("repository")
        .filter(organization=team, status=Status.READY)
        .first()
    )
    if practice is None or practice.repository is None:
        raise PracticeError("The team has no practice repository yet.")
    repository = practice.repository
    member = Member.objects.filter(user=member_user).first()
    login = (
        ProviderIdentity.objects.filter(
            member=member, provider=repository.provider, host=repository.host
        )
        .order_by("pk")
        .values_list("login", flat=True)
        .first()
        if member is not None
        else None
    )
    if member is None or login is None:
        name = get_provider(repository.provider).name
        raise PracticeError(
            f"{member_user.get_username()} has no {name} login linked here yet: "
            f"they sign in with {name} (or Connect {name}) first."
        )
    try:
        with transaction.atomic():
            round_ = PracticeRound.objects.create(
                repository=repository,
                member=member,
                login=login,
                problem_count=len(PROBLEMS),
                requested_by=requested_by,
            )
    except IntegrityError:
        raise PracticeError(
            f"{member_user.get_username()} has a practice review open already: "
            "it is waiting for their review."
        ) from None
    transaction.on_commit(lambda: practice_round_task.delay(round_.pk))
    return round_


def practice_round_open(*, round_id: int) -> str:
    """Branch, one commit with the planted problems, the pull request, and the
    person asked to review it. A second run reuses the branch it made."""
    round_ = (
        PracticeRound.objects.select_related("repository__credential")
        .filter(pk=round_id, status=RoundStatus.OPENING)
        .first()
    )
    if round_ is None:
        return "taken"
    repository = round_.repository
    round_.branch = round_.branch or f"practice/{round_.login.lower()}-{round_.pk}"
    try:
        with repository_client_guarded(repository) as client:
            number, url = _open(round_, repository, client)
            round_.pull_number, round_.pull_url = (
                number,
                safe_link(url, repository.provider),
            )
            round_.status = RoundStatus.OPEN
            round_.save(
                update_fields=[
                    "branch",
                    "pull_number",
                    "pull_url",
                    "status",
                    "updated_at",
                ]
            )
            _ask_for_review(round_, repository, client)
    except ProviderTemporaryError:
        round_.save(update_fields=["branch", "updated_at"])
        raise  # the task tries again; the branch is reused
    except ProviderError as exc:
        round_.status, round_.error = RoundStatus.FAILED, str(exc)[:2000]
        round_.save(update_fields=["branch", "status", "error", "updated_at"])
        return "failed"
    return "open"


def _open(
    round_: PracticeRound, repository: ConnectedRepository, client: RepoClient
) -> tuple[int, str]:
    full_name, base = repository.full_name, repository.default_branch or "main"
    if client.branch_head(full_name, round_.branch) is None:
        head = client.branch_head(full_name, base)
        if head is None:
            raise ProviderError(f"{full_name} has no {base} branch")
        client.commit_files(
            full_name,
            branch=round_.branch,
            parent=head,
            message=CHANGE_MESSAGE,
            files=CHANGE_FILES,
            existing=[path for path in CHANGE_FILES if path in TEMPLATE_FILES],
            create_branch=True,
        )
    return client.pull_create(
        full_name,
        head=round_.branch,
        base=base,
        title=PULL_TITLE,
        body=_pull_body(round_),
    )


def _ask_for_review(
    round_: PracticeRound, repository: ConnectedRepository, client: RepoClient
) -> None:
    """Request the person's review; the pull request's author cannot be asked
    (they practise on their own pull request, which is fine)."""
    author = repository.credential.account_login if repository.credential else ""
    if round_.login.lower() == author.lower():
        return
    try:
        client.reviewers_request(
            repository.full_name,
            round_.pull_number or 0,
            logins=[round_.login],
            teams=[],
        )
    except ProviderError as exc:  # the pull request is there; the page links it
        logger.warning(
            "integrations.practice.request_failed",
            extra={"round": round_.pk, "error": str(exc)[:200]},
        )


def _pull_body(round_: PracticeRound) -> str:
    return (
        f"A practice review for @{round_.login}.\n\n"
        "This change adds coupons and a customer's order history to the shop. "
        f"It has {len(PROBLEMS)} problems planted in it. Review it as you would "
        "a colleague's work: comment on each line you would not let through and "
        "say why, then submit your review.\n\n"
        "CodeQuest scores the review against the planted problems and shows "
        "what you found, and explains what you missed, on your dashboard. "
        "Nothing here is merged or deployed, and it earns no points."
    )
