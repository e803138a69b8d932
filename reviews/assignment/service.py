"""Gather the facts, run the chooser, request the reviewers on the provider.

Automatic runs (opened / ready for review) happen once per pull request and
never for drafts; ``trigger="manual"`` always runs. The decision and its
explanation are stored whatever happens on the provider; the provider's later
``requested_reviewers`` are the truth.
"""

from __future__ import annotations

import logging
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from integrations.credentials import repository_client
from integrations.models import ConnectedRepository
from integrations.providers import get_provider
from integrations.providers.base import Capability, EventKind, ProviderError
from integrations.providers.cache import cache_get, cache_set
from reviews.assignment.pipeline import (
    Decision,
    Person,
    Request,
    Strategy,
    owners_expand,
    reviewers_choose,
)
from reviews.bots import is_bot_login
from reviews.business_time import is_working_time, working_day_of
from reviews.codeowners import Ownership, find_file, parse
from reviews.give_take import give_take
from reviews.models import (
    AvailabilityWindow,
    ProviderIdentity,
    PullRequest,
    PullRequestFile,
    PullState,
    RepositoryReviewSettings,
    Review,
    ReviewAssignment,
    ReviewState,
)

logger = logging.getLogger(__name__)

ASSIGN_ON = {EventKind.PR_OPENED: "opened", EventKind.PR_READY: "ready_for_review"}
UNQUIETED = "quiet_label_removed"  # the last quiet label came off
AUTOMATIC_TRIGGERS = {*ASSIGN_ON.values(), UNQUIETED}
EXPERTISE_DAYS = 180  # history considered for expertise
EXPERTISE_HALF_LIFE_DAYS = 30  # a review 30 days old counts half
EXPERTISE_ROWS = 3000  # most recent matching files read, at most
TEAM_CACHE_SECONDS = 3600
# Our own requests count as open load for this long, until the provider's copy
# (its webhook) shows them.
PENDING_WINDOW = timedelta(minutes=10)
ASSIGN_LOCK = 0x5245_5649  # pg_advisory_xact_lock namespace: "REVI"


def reviewer_assign(
    *,
    pull_request_id: int,
    trigger: str,
    exclude: Iterable[str] = (),
    exclude_reason: str = "did not answer in time",
    keep: Iterable[str] = (),
    count: int | None = None,
) -> ReviewAssignment | None:
    """Choose reviewers for a PR and request them on the provider.

    ``exclude``: logins to leave out (SLA reassignment, a reroll), shown in the
    explanation as filtered with ``exclude_reason``. ``keep``: people already
    asked who stay (not chosen again). ``count``: how many to choose, when not
    the repository's number (replacing one of several).
    """
    pull = PullRequest.objects.select_related("repository").get(pk=pull_request_id)
    if not pull.repository.credential_id and not pull.repository.installation_id:
        # Known from webhooks only: nothing to read CODEOWNERS or request with.
        logger.info("reviews.assignment.no_credential", extra={"pull": pull.pk})
        return None
    settings_ = review_settings_get(pull.repository)
    automatic = trigger in AUTOMATIC_TRIGGERS
    if automatic and not _assignable(pull, settings_):
        return None
    try:
        client = repository_client(pull.repository)
        request = _assignment_request(
            pull,
            settings_,
            client,
            {
                **dict.fromkeys(keep, "already asked"),
                **dict.fromkeys(exclude, exclude_reason),
            },
        )
        if count is not None:
            request = replace(request, count=count)
    except ProviderError as exc:
        return _assignment_save(pull, settings_, trigger, automatic, None, str(exc))
    with transaction.atomic():
        # Choices for the same team are made one at a time, each seeing the
        # requests the previous one made (before the provider's copy shows them).
        _choices_lock(pull.repository)
        request = replace(request, people=_with_current_load(request.people, pull))
        decision = reviewers_choose(request)
        assignment = _assignment_save(pull, settings_, trigger, automatic, decision, "")
    if assignment is None or not (decision.reviewers or decision.teams):
        return assignment
    try:
        client.reviewers_request(
            pull.repository.full_name,
            pull.number,
            logins=list(decision.reviewers),
            teams=list(decision.teams),
        )
    except ProviderError as exc:
        assignment.status, assignment.error = ReviewAssignment.Status.FAILED, str(exc)
        assignment.save(update_fields=["status", "error"])
    return assignment


def review_settings_get(repository: ConnectedRepository) -> RepositoryReviewSettings:
    """The repository's review settings, defaults when none were saved."""
    return RepositoryReviewSettings.objects.filter(
        repository=repository
    ).first() or RepositoryReviewSettings(repository=repository)


def review_settings_save(
    *, repository: ConnectedRepository, values: dict[str, Any]
) -> RepositoryReviewSettings:
    """Save a repository's review settings (one row, however many save at once)."""
    fields = {field.name for field in RepositoryReviewSettings._meta.get_fields()}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(f"unknown review settings: {', '.join(sorted(unknown))}")
    settings_, _ = RepositoryReviewSettings.objects.update_or_create(
        repository=repository, defaults=values
    )
    return settings_


def is_quiet(pull: PullRequest, settings_: Any) -> bool:
    """The pull request carries one of the repository's quiet labels
    (case-insensitive, as providers treat label names)."""
    quiet = {label.lower() for label in settings_.quiet_labels or ()}
    return bool(quiet & {label.lower() for label in pull.labels or ()})


def _assignable(pull: PullRequest, settings_: RepositoryReviewSettings) -> bool:
    return (
        settings_.auto_assign
        and pull.state == PullState.OPEN
        and not pull.draft
        and not is_quiet(pull, settings_)
        and not ReviewAssignment.objects.filter(
            pull_request=pull, is_automatic=True
        ).exists()
    )


def _assignment_request(
    pull: PullRequest, settings_, client, exclude: dict[str, str]
) -> Request:
    repository = pull.repository
    dialect = get_provider(repository.provider).codeowners_dialect
    files = client.changed_files(repository.full_name, pull.number)
    pull_files_record(pull=pull, paths=files)
    ref = pull.base_ref or repository.default_branch
    found = find_file(
        lambda path: client.file_read(repository.full_name, path, ref),
        dialect,
    )
    ownerships = _ownerships(parse(found[1], dialect), files) if found else ()
    owners = [owner for ownership in ownerships for owner in ownership.owners]
    teams = _teams(repository, settings_, [*owners, *settings_.pool], client)
    candidates = set(owners_expand(owners, teams)) | set(
        owners_expand(settings_.pool, teams)
    )
    people = _reviewer_facts(repository, candidates)
    people = _with_expertise(people, pull, files)
    if get_provider(repository.provider).can(Capability.BUSY_STATUS):
        people = _with_busy_status(people, client, pull.author_login)
    for login, reason in exclude.items():
        if login in people:
            people[login] = replace(people[login], unavailable=reason)
    return Request(
        author=pull.author_login,
        committers=_committers(pull, client),
        ownerships=ownerships,
        team_pool=tuple(settings_.pool),
        teams=teams,
        people=people,
        strategy=Strategy(settings_.strategy),
        count=settings_.reviewer_count,
        is_urgent="urgent" in {label.lower() for label in pull.labels},
    )


def _committers(pull: PullRequest, client) -> tuple[str, ...]:
    """Who wrote commits in this change; unknown (not fatal) if the call fails."""
    try:
        return tuple(client.committers(pull.repository.full_name, pull.number))
    except ProviderError as exc:
        logger.info("reviews.assignment.committers_unknown", extra={"error": str(exc)})
        return ()


def pull_files_record(*, pull: PullRequest, paths: Iterable[str]) -> None:
    """Remember the paths a PR changes (expertise reads them later)."""
    PullRequestFile.objects.bulk_create(
        [
            PullRequestFile(
                pull_request=pull, path=path[:1024], directory=_directory(path)
            )
            for path in dict.fromkeys(paths)
        ],
        ignore_conflicts=True,
        batch_size=500,
    )


def _directory(path: str) -> str:
    return posixpath.dirname(path)[:1024]


def _ownerships(codeowners, files: list[str]) -> tuple[Ownership, ...]:
    """Per section, the owners of every changed file it covers, merged."""
    merged: dict[str, Ownership] = {}
    for path in files:
        for ownership in codeowners.owners_for(path):
            before = merged.get(ownership.section)
            owners = tuple(
                dict.fromkeys((*(before.owners if before else ()), *ownership.owners))
            )
            merged[ownership.section] = Ownership(
                ownership.section, owners, ownership.approvals, ownership.is_optional
            )
    return tuple(merged.values())


def _teams(
    repository: ConnectedRepository, settings_, owners: list[str], client
) -> dict[str, tuple[str, ...]]:
    """Team members: listed in the review settings, otherwise asked of the provider.

    Provider answers are cached for an hour (Django cache) per repository host;
    a team the provider does not know stays unexpanded (and may be requested as
    a team in the fallback).
    """
    teams = {name: tuple(members) for name, members in settings_.teams.items()}
    adapter = get_provider(repository.provider)
    if not adapter.can(Capability.TEAM_MEMBERS):
        return teams
    for owner in dict.fromkeys(owners):
        if owner in teams or not adapter.is_team_reference(owner):
            continue
        key = f"team-members:{repository.provider}:{repository.host}:{owner}"
        members = cache_get(key, "team_members")
        if members is None:
            try:
                members = client.team_members(repository.full_name, owner)
            except ProviderError as exc:
                logger.info(
                    "reviews.assignment.team_unreadable",
                    extra={"team": owner, "error": str(exc)},
                )
                continue
            cache_set(key, members, TEAM_CACHE_SECONDS)
        if members:
            teams[owner] = tuple(members)
    return teams


def _reviewer_facts(
    repository: ConnectedRepository, logins: set[str]
) -> dict[str, Person]:
    """What the chooser needs to know about each candidate: six queries in all."""
    now = timezone.now()
    identities = {
        identity.login: identity
        for identity in ProviderIdentity.objects.filter(
            provider=repository.provider, host=repository.host, login__in=logins
        ).select_related("reviewer_profile")
    }
    away = dict(
        AvailabilityWindow.objects.filter(
            identity__in=identities.values(), starts_at__lte=now, ends_at__gt=now
        ).values_list("identity__login", "ends_at")
    )
    recent = ReviewAssignment.objects.filter(
        pull_request__repository=repository,
        created_at__gte=now - timedelta(days=30),
    ).values_list("reviewers", "created_at")
    load = _open_load(repository, logins)
    site = (repository.provider, repository.host)
    balances = give_take({(*site, login) for login in logins})
    people = {}
    for login in logins:
        identity = identities.get(login)
        profile = getattr(identity, "reviewer_profile", None) if identity else None
        mine = [when for reviewers, when in recent if login in reviewers]
        count, lines = load.get(login, (0, 0))
        people[login] = Person(
            login=login,
            is_bot=is_bot_login(login, marked=bool(identity and identity.is_bot)),
            never_assign=bool(profile and profile.never_assign),
            unavailable=f"away until {away[login]:%Y-%m-%d}" if login in away else "",
            outside_working_hours=bool(profile)
            and not is_working_time(now, **working_day_of(profile)),
            capacity=profile.capacity if profile else 5,
            open_requests=count,
            open_request_lines=lines,
            requests_last_30_days=len(mine),
            last_requested_at=max(mine) if mine else None,
            give_take=balances[(*site, login.lower())].balance,
        )
    return people


def _open_load(
    repository: ConnectedRepository, logins: set[str]
) -> dict[str, tuple[int, int]]:
    """Open requests (count, changed lines) per login across the team: the
    provider's requested reviewers, plus what we requested in the last minutes
    that its copy may not show yet (the webhook comes after our request)."""
    open_pulls = PullRequest.objects.filter(
        repository__organization=repository.organization, state=PullState.OPEN
    )
    if repository.organization_id is None:
        open_pulls = open_pulls.filter(repository=repository)
    asked: dict[int, set[str]] = defaultdict(set)
    for pull_id, reviewers in ReviewAssignment.objects.filter(
        pull_request__in=open_pulls,
        created_at__gte=timezone.now() - PENDING_WINDOW,
    ).values_list("pull_request_id", "reviewers"):
        asked[pull_id].update(reviewers)
    load: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pull_id, reviewers, additions, deletions in open_pulls.values_list(
        "pk", "requested_reviewers", "additions", "deletions"
    ):
        for login in (set(reviewers) | asked.get(pull_id, set())) & logins:
            load[login][0] += 1
            load[login][1] += (additions or 0) + (deletions or 0)
    return {login: (count, lines) for login, (count, lines) in load.items()}


def _with_current_load(
    people: dict[str, Person], pull: PullRequest
) -> dict[str, Person]:
    """The candidates' open load read again under the choices lock."""
    load = _open_load(pull.repository, set(people))
    return {
        login: replace(
            person,
            open_requests=load.get(login, (0, 0))[0],
            open_request_lines=load.get(login, (0, 0))[1],
        )
        for login, person in people.items()
    }


def _choices_lock(repository: ConnectedRepository) -> None:
    """A transaction-scoped lock per team (or repository without one)."""
    if connection.vendor != "postgresql":
        return  # SQLite (development) writes one transaction at a time anyway
    scope = repository.organization_id or -repository.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ASSIGN_LOCK, scope])


def _with_expertise(
    people: dict[str, Person], pull: PullRequest, files: list[str]
) -> dict[str, Person]:
    scores = expertise_scores(pull=pull, paths=files, logins=set(people))
    return {
        login: replace(person, expertise=scores.get(login, 0.0))
        for login, person in people.items()
    }


def expertise_scores(
    *, pull: PullRequest, paths: Iterable[str], logins: set[str]
) -> dict[str, float]:
    """Who reviewed or wrote changes to these files recently, 0..1 (best = 1).

    A past PR that changed one of the same files counts fully, one that changed
    a file in the same directory counts half; each authorship or review of it
    is weighted by recency (half-life EXPERTISE_HALF_LIFE_DAYS). Two queries.
    """
    paths = set(paths)
    if not paths or not logins:
        return {}
    now = timezone.now()
    touched = (
        PullRequestFile.objects.filter(
            pull_request__repository_id=pull.repository_id,
            directory__in={_directory(path) for path in paths},
            pull_request__provider_created_at__gte=now - timedelta(days=EXPERTISE_DAYS),
        )
        .exclude(pull_request=pull)
        .order_by("-pull_request__provider_created_at")
        .values_list(
            "pull_request_id",
            "path",
            "pull_request__author_login",
            "pull_request__provider_created_at",
        )[:EXPERTISE_ROWS]
    )
    match: dict[int, float] = {}
    authors: dict[int, tuple[str, datetime]] = {}
    for pull_id, path, author, created in touched:
        match[pull_id] = max(match.get(pull_id, 0.0), 1.0 if path in paths else 0.5)
        authors[pull_id] = (author, created)
    raw: dict[str, float] = defaultdict(float)
    for pull_id, (author, created) in authors.items():
        if author in logins:
            raw[author] += match[pull_id] * _decay(now, created)
    reviews = (
        Review.objects.filter(
            pull_request_id__in=list(match), reviewer_login__in=logins
        )
        .exclude(state=ReviewState.DISMISSED)
        .values_list("pull_request_id", "reviewer_login", "submitted_at")
    )
    for pull_id, login, submitted in reviews:
        raw[login] += match[pull_id] * _decay(now, submitted)
    best = max(raw.values(), default=0.0)
    if not best:
        return {}
    return {login: round(value / best, 4) for login, value in raw.items()}


def _decay(now: datetime, when: datetime) -> float:
    age_days = max((now - when).total_seconds(), 0) / 86400
    return 0.5 ** (age_days / EXPERTISE_HALF_LIFE_DAYS)


def _with_busy_status(
    people: dict[str, Person], client, author: str
) -> dict[str, Person]:
    """Mark people whose provider status says they are busy (where one exists).

    Only candidates not already filtered for a cheaper reason are asked about;
    when the provider cannot answer, nobody is marked busy.
    """
    ask = sorted(
        login
        for login, person in people.items()
        if login != author
        and not (person.is_bot or person.never_assign or person.unavailable)
    )
    if not ask:
        return people
    try:
        busy = client.users_busy(ask)
    except ProviderError as exc:
        logger.info("reviews.assignment.busy_unknown", extra={"error": str(exc)})
        return people
    return {
        login: replace(person, unavailable=f"busy on the provider: {busy[login]}")
        if login in busy
        else person
        for login, person in people.items()
    }


def _assignment_save(
    pull: PullRequest,
    settings_: RepositoryReviewSettings,
    trigger: str,
    automatic: bool,
    decision: Decision | None,
    error: str,
) -> ReviewAssignment | None:
    reviewers = list(decision.reviewers) if decision else []
    teams = list(decision.teams) if decision else []
    if error:
        status = ReviewAssignment.Status.FAILED
    elif reviewers or teams:
        status = ReviewAssignment.Status.REQUESTED
    else:
        status = ReviewAssignment.Status.NOBODY
    values: dict[str, Any] = {
        "pull_request": pull,
        "trigger": trigger,
        "is_automatic": automatic,
        "strategy": settings_.strategy,
        "reviewers": reviewers,
        "teams": teams,
        "explanation": decision.explanation if decision else {},
        "head_sha": pull.head_sha,
        "status": status,
        "error": error[:2000],
    }
    try:
        with transaction.atomic():
            return ReviewAssignment.objects.create(**values)
    except IntegrityError:
        return None  # another worker made the automatic assignment first
