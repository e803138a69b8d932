"""Apply normalized snapshots to our copy: idempotent and order-proof.

Rules (ARCHITECTURE "Apply is idempotent and order-proof"):
- the provider's ``updated_at`` is the version; an older snapshot never
  overwrites a newer one, it only fills fields the row does not know yet;
- a merged pull request stays merged; a dismissed GitHub review stays dismissed;
  a deleted comment stays deleted;
- every write is keyed by a unique constraint, so a replay changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from integrations.models import ConnectedRepository
from integrations.providers.base import (
    CommentSnapshot,
    EventKind,
    NormalizedEvent,
    PullRequestSnapshot,
    ReviewSnapshot,
    UserRef,
)
from reviews.assignment import Person, Strategy, owners_expand, reviewers_choose
from reviews.assignment import Request as AssignmentRequest
from reviews.codeowners import Ownership, find_file, parse
from reviews.models import (
    AvailabilityWindow,
    Comment,
    ProviderIdentity,
    PullRequest,
    PullRequestHead,
    PullState,
    RepositoryReviewSettings,
    Review,
    ReviewAssignment,
    ReviewerProfile,
    ReviewState,
)

logger = logging.getLogger(__name__)

# Snapshot fields copied onto PullRequest when the snapshot says something.
_PULL_FIELDS = {
    "external_id": "external_id",
    "title": "title",
    "state": "state",
    "draft": "draft",
    "head_sha": "head_sha",
    "head_ref": "head_ref",
    "base_ref": "base_ref",
    "url": "url",
    "requested_reviewers": "requested_reviewers",
    "requested_teams": "requested_teams",
    "assignees": "assignees",
    "labels": "labels",
    "additions": "additions",
    "deletions": "deletions",
    "changed_files": "changed_files",
    "merged_by": "merged_by_login",
    "created_at": "provider_created_at",
    "updated_at": "provider_updated_at",
    "merged_at": "merged_at",
    "closed_at": "closed_at",
    "author_external_id": "author_external_id",
}
# What an older snapshot may fill in. Lists are left out: an empty list is a
# real value ("nobody requested"), so only the newest snapshot sets them.
_UNKNOWN = (None, "")


@dataclass(frozen=True, slots=True)
class ApplyResult:
    kind: EventKind
    pull_request: PullRequest | None
    changed: bool


@transaction.atomic
def event_apply(
    *, event: NormalizedEvent, repository: ConnectedRepository | None
) -> ApplyResult:
    """Apply everything one normalized event carries, in one transaction."""
    pull_request = None
    changed = False
    if event.pull_request is not None and repository is not None:
        pull_request, changed = pull_request_upsert(
            repository=repository, snapshot=event.pull_request
        )
        if event.review is not None:
            changed |= review_upsert(pull_request=pull_request, snapshot=event.review)
        if event.comment is not None:
            changed |= comment_upsert(pull_request=pull_request, snapshot=event.comment)
        if event.thread_comment_ids:
            changed |= comments_mark_resolved(
                pull_request=pull_request,
                external_ids=event.thread_comment_ids,
                is_resolved=event.kind is EventKind.THREAD_RESOLVED,
            )
    if repository is not None:
        identities_record(
            provider=event.provider, host=repository.host, users=_people(event)
        )
    return ApplyResult(kind=event.kind, pull_request=pull_request, changed=changed)


def pull_request_upsert(
    *, repository: ConnectedRepository, snapshot: PullRequestSnapshot
) -> tuple[PullRequest, bool]:
    """Create or update one PR under the version guard; returns (row, changed)."""
    row = _locked_pull(repository, snapshot.number)
    if row is None:
        row, created = _pull_create(repository, snapshot)
        if created:
            _head_record(row, snapshot)
            return row, True
    values = _pull_values(snapshot)
    if _is_newer(snapshot, row):
        updates = {
            field: value
            for field, value in values.items()
            if getattr(row, field) != value
        }
    else:
        # Older (or a summary): only fill what we do not know yet.
        updates = {
            field: value
            for field, value in values.items()
            if getattr(row, field) in _UNKNOWN
            and not isinstance(value, list)
            and field != "provider_updated_at"
        }
    updates.update(_author_updates(row, snapshot, repository))
    _head_record(row, snapshot)
    if not updates:
        return row, False
    for field, value in updates.items():
        setattr(row, field, value)
    row.save(update_fields=[*updates, "updated_at"])
    return row, True


def _locked_pull(repository: ConnectedRepository, number: int) -> PullRequest | None:
    return (
        PullRequest.objects.select_for_update()
        .filter(repository=repository, number=number)
        .first()
    )


def _pull_create(
    repository: ConnectedRepository, snapshot: PullRequestSnapshot
) -> tuple[PullRequest, bool]:
    values = _pull_values(snapshot)
    values.update(_author_updates(None, snapshot, repository))
    try:
        with transaction.atomic():
            row = PullRequest.objects.create(
                repository=repository, number=snapshot.number, **values
            )
        return row, True
    except IntegrityError:
        # Another worker created it between our read and insert: use theirs.
        return PullRequest.objects.select_for_update().get(
            repository=repository, number=snapshot.number
        ), False


def _pull_values(snapshot: PullRequestSnapshot) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for source, target in _PULL_FIELDS.items():
        value = getattr(snapshot, source)
        if value is None:
            continue
        values[target] = list(value) if isinstance(value, tuple) else value
    values["state"] = str(snapshot.state)
    author_id = snapshot.author_external_id or (
        snapshot.author.external_id if snapshot.author else ""
    )
    if author_id:
        values["author_external_id"] = author_id
    else:
        values.pop("author_external_id", None)
    return values


def _is_newer(snapshot: PullRequestSnapshot, row: PullRequest) -> bool:
    if snapshot.updated_at is None:  # a summary never overrides a real snapshot
        return row.provider_updated_at is None and row.state != PullState.MERGED
    if row.state == PullState.MERGED and snapshot.state != PullState.MERGED:
        return False  # merged is final on both providers
    if row.provider_updated_at is None:
        return True
    return snapshot.updated_at >= row.provider_updated_at


def _author_updates(
    row: PullRequest | None, snapshot: PullRequestSnapshot, repository
) -> dict[str, str]:
    """The author's login, from the snapshot or (GitLab) from an id seen before."""
    if row is not None and row.author_login:
        return {}
    if snapshot.author is not None:
        return {"author_login": snapshot.author.login}
    if snapshot.author_external_id:
        login = (
            ProviderIdentity.objects.filter(
                provider=repository.provider,
                host=repository.host,
                external_id=snapshot.author_external_id,
            )
            .values_list("login", flat=True)
            .first()
        )
        if login:
            return {"author_login": login}
    return {}


def _head_record(row: PullRequest, snapshot: PullRequestSnapshot) -> None:
    """Remember every head sha with the earliest provider time we saw it at."""
    if not snapshot.head_sha:
        return
    seen_at = snapshot.updated_at or snapshot.created_at or timezone.now()
    PullRequestHead.objects.bulk_create(
        [PullRequestHead(pull_request=row, sha=snapshot.head_sha, seen_at=seen_at)],
        ignore_conflicts=True,
    )
    PullRequestHead.objects.filter(
        pull_request=row, sha=snapshot.head_sha, seen_at__gt=seen_at
    ).update(seen_at=seen_at)


def review_upsert(*, pull_request: PullRequest, snapshot: ReviewSnapshot) -> bool:
    """Create or update one review; returns whether anything changed."""
    values = {
        "reviewer_login": snapshot.reviewer.login,
        "reviewer_external_id": snapshot.reviewer.external_id,
        "state": str(snapshot.state),
        "body": snapshot.body,
        "commit_sha": snapshot.commit_sha,
        "submitted_at": snapshot.submitted_at,
    }
    row = _locked(Review, pull_request=pull_request, external_id=snapshot.external_id)
    if row is None:
        created = _create_or_none(
            Review,
            pull_request=pull_request,
            external_id=snapshot.external_id,
            **values,
        )
        if created is not None:
            return True
        row = _locked(
            Review, pull_request=pull_request, external_id=snapshot.external_id
        )
    if snapshot.submitted_at < row.submitted_at:
        return False
    same_time = snapshot.submitted_at == row.submitted_at
    if same_time and row.state == ReviewState.DISMISSED and snapshot.state != row.state:
        return False  # a dismissal at the same moment is final
    return _save_changes(row, values)


def comment_upsert(*, pull_request: PullRequest, snapshot: CommentSnapshot) -> bool:
    values = {
        "review_external_id": snapshot.review_external_id,
        "author_login": snapshot.author.login,
        "author_external_id": snapshot.author.external_id,
        "body": snapshot.body,
        "is_deleted": snapshot.is_deleted,
        "provider_created_at": snapshot.created_at,
        "provider_updated_at": snapshot.updated_at,
    }
    keys = {
        "pull_request": pull_request,
        "kind": str(snapshot.kind),
        "external_id": snapshot.external_id,
    }
    row = _locked(Comment, **keys)
    if row is None:
        if _create_or_none(Comment, **keys, **values) is not None:
            return True
        row = _locked(Comment, **keys)
    if row.is_deleted:
        return False  # deletion is final
    if not snapshot.is_deleted and snapshot.updated_at < row.provider_updated_at:
        return False
    return _save_changes(row, values)


def comments_mark_resolved(
    *, pull_request: PullRequest, external_ids: Iterable[str], is_resolved: bool
) -> bool:
    updated = (
        Comment.objects.filter(
            pull_request=pull_request, external_id__in=list(external_ids)
        )
        .exclude(is_resolved=is_resolved)
        .update(is_resolved=is_resolved)
    )
    return updated > 0


def identities_record(*, provider: str, host: str, users: Iterable[UserRef]) -> None:
    """Remember every login we see (one query), keeping the provider's user id."""
    unique = {user.login: user for user in users if user.login}
    if not unique:
        return
    ProviderIdentity.objects.bulk_create(
        [
            ProviderIdentity(
                provider=provider,
                host=host,
                login=user.login,
                external_id=user.external_id,
                is_bot=user.is_bot,
            )
            for user in sorted(unique.values(), key=lambda user: user.login)
        ],
        update_conflicts=True,
        unique_fields=["provider", "host", "login"],
        update_fields=["external_id", "is_bot"],
    )


def _people(event: NormalizedEvent) -> list[UserRef]:
    people = [event.actor]
    if event.pull_request is not None:
        people.append(event.pull_request.author)
    if event.review is not None:
        people.append(event.review.reviewer)
    if event.comment is not None:
        people.append(event.comment.author)
    return [person for person in people if person is not None and person.external_id]


def _locked(model: type[models.Model], **keys: Any) -> Any:
    return model.objects.select_for_update().filter(**keys).first()


def _create_or_none(model: type[models.Model], **values: Any) -> Any:
    try:
        with transaction.atomic():
            return model.objects.create(**values)
    except IntegrityError:
        return None


def _save_changes(row: models.Model, values: dict[str, Any]) -> bool:
    changed = [field for field, value in values.items() if getattr(row, field) != value]
    if not changed:
        return False
    for field in changed:
        setattr(row, field, values[field])
    row.save(update_fields=[*changed, "updated_at"])
    return True


# --- reviewer assignment --------------------------------------------------------

ASSIGN_ON = {EventKind.PR_OPENED: "opened", EventKind.PR_READY: "ready_for_review"}


def reviewer_assign(*, pull_request_id: int, trigger: str) -> ReviewAssignment | None:
    """Choose reviewers for a PR and request them on the provider.

    Automatic runs (opened / ready for review) happen once per PR and never for
    drafts; ``trigger="manual"`` always runs. The decision and its explanation
    are stored whatever happens on the provider.
    """
    from integrations.providers.base import ProviderError
    from integrations.services import repository_client

    pull = PullRequest.objects.select_related("repository").get(pk=pull_request_id)
    if not pull.repository.credential_id and not pull.repository.installation_id:
        # Known from webhooks only: nothing to read CODEOWNERS or request with.
        logger.info("reviews.assignment.no_credential", extra={"pull": pull.pk})
        return None
    settings_ = RepositoryReviewSettings.objects.filter(
        repository=pull.repository
    ).first() or RepositoryReviewSettings(repository=pull.repository)
    automatic = trigger != "manual"
    if automatic and not _assignable(pull, settings_):
        return None
    try:
        client = repository_client(pull.repository)
        request = _assignment_request(pull, settings_, client)
    except ProviderError as exc:
        return _assignment_save(pull, settings_, trigger, automatic, None, str(exc))
    decision = reviewers_choose(request)
    error = ""
    if decision.reviewers or decision.teams:
        try:
            client.reviewers_request(
                pull.repository.full_name,
                pull.number,
                logins=list(decision.reviewers),
                teams=list(decision.teams),
            )
        except ProviderError as exc:
            error = str(exc)
    return _assignment_save(pull, settings_, trigger, automatic, decision, error)


def _assignable(pull: PullRequest, settings_: RepositoryReviewSettings) -> bool:
    return (
        settings_.auto_assign
        and pull.state == PullState.OPEN
        and not pull.draft
        and not ReviewAssignment.objects.filter(
            pull_request=pull, is_automatic=True
        ).exists()
    )


def _assignment_request(pull: PullRequest, settings_, client) -> AssignmentRequest:
    repository = pull.repository
    files = client.changed_files(repository.full_name, pull.number)
    ref = pull.base_ref or repository.default_branch
    found = find_file(
        lambda path: client.file_read(repository.full_name, path, ref),
        repository.provider,
    )
    ownerships = (
        _ownerships(parse(found[1], repository.provider), files) if found else ()
    )
    teams = {name: tuple(members) for name, members in settings_.teams.items()}
    candidates = {
        login
        for ownership in ownerships
        for login in owners_expand(ownership.owners, teams)
    } | set(owners_expand(settings_.pool, teams))
    return AssignmentRequest(
        author=pull.author_login,
        ownerships=ownerships,
        team_pool=tuple(settings_.pool),
        teams=teams,
        people=_reviewer_facts(repository, candidates),
        strategy=Strategy(settings_.strategy),
        count=settings_.reviewer_count,
        is_urgent="urgent" in {label.lower() for label in pull.labels},
    )


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


def _reviewer_facts(
    repository: ConnectedRepository, logins: set[str]
) -> dict[str, Person]:
    """What the chooser needs to know about each candidate: four queries in all."""
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
    open_pulls = PullRequest.objects.filter(
        repository__organization=repository.organization, state=PullState.OPEN
    ).values_list("requested_reviewers", "additions", "deletions")
    recent = ReviewAssignment.objects.filter(
        pull_request__repository=repository,
        created_at__gte=now - timedelta(days=30),
    ).values_list("reviewers", "created_at")
    people = {}
    for login in logins:
        identity = identities.get(login)
        profile = getattr(identity, "reviewer_profile", None) if identity else None
        requested = [
            (adds or 0) + (dels or 0)
            for reviewers, adds, dels in open_pulls
            if login in reviewers
        ]
        mine = [when for reviewers, when in recent if login in reviewers]
        people[login] = Person(
            login=login,
            is_bot=bool(identity and identity.is_bot),
            never_assign=bool(profile and profile.never_assign),
            unavailable=f"away until {away[login]:%Y-%m-%d}" if login in away else "",
            outside_working_hours=bool(profile) and not _working_now(profile, now),
            capacity=profile.capacity if profile else 5,
            open_requests=len(requested),
            open_request_lines=sum(requested),
            requests_last_30_days=len(mine),
            last_requested_at=max(mine) if mine else None,
        )
    return people


def _working_now(profile: ReviewerProfile, now) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        local = now.astimezone(ZoneInfo(profile.timezone))
    except ZoneInfoNotFoundError:
        return True
    return local.weekday() < 5 and (
        profile.workday_start_hour <= local.hour < profile.workday_end_hour
    )


def _assignment_save(pull, settings_, trigger, automatic, decision, error):
    reviewers = list(decision.reviewers) if decision else []
    teams = list(decision.teams) if decision else []
    if error:
        status = ReviewAssignment.Status.FAILED
    elif reviewers or teams:
        status = ReviewAssignment.Status.REQUESTED
    else:
        status = ReviewAssignment.Status.NOBODY
    try:
        with transaction.atomic():
            return ReviewAssignment.objects.create(
                pull_request=pull,
                trigger=trigger,
                is_automatic=automatic,
                strategy=settings_.strategy,
                reviewers=reviewers,
                teams=teams,
                explanation=decision.explanation if decision else {},
                head_sha=pull.head_sha,
                status=status,
                error=error[:2000],
            )
    except IntegrityError:
        return None  # another worker made the automatic assignment first
