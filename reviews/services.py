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
from dataclasses import field as dataclass_field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from integrations.models import ConnectedRepository
from integrations.providers.base import (
    CommentSnapshot,
    EventKind,
    IssueSnapshot,
    NormalizedEvent,
    PullRequestSnapshot,
    PushSnapshot,
    ReviewSnapshot,
    UserRef,
)
from reviews.models import (
    Comment,
    ForcePush,
    Issue,
    IssueGone,
    ProviderIdentity,
    PullRequest,
    PullRequestHead,
    PullState,
    Review,
    ReviewState,
)
from reviews.review_requests import (
    Sightings,
    review_request_answered,
    review_requests_sync,
    sightings_record,
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
    "merge_commit_sha": "merge_commit_sha",
    "closes": "closes_issues",
}
# What an older snapshot may fill in. Lists are left out: an empty list is a
# real value ("nobody requested"), so only the newest snapshot sets them.
_UNKNOWN = (None, "")


# Pull request rows a transaction has locked, by (repository id, number).
LockedPulls = dict[tuple[int, int], PullRequest]
# Head shas a batch saw, by (pull request id, sha): the earliest provider time.
HeadsSeen = dict[tuple[int, str], datetime]
# People a batch saw, by (provider, host, login): the latest reference.
PeopleSeen = dict[tuple[str, str, str], UserRef]


@dataclass
class Pending:
    """What a batch of events writes together before it commits rather than
    event by event (each would be a statement a delivery): the head shas seen,
    the people seen, the review-request sightings. Nothing applied in between
    reads them, except a GitLab author found by id (``_author_updates`` writes
    the people first)."""

    heads: HeadsSeen = dataclass_field(default_factory=dict)
    people: PeopleSeen = dataclass_field(default_factory=dict)
    sightings: Sightings = dataclass_field(default_factory=Sightings)

    def copy(self) -> Pending:
        return Pending(dict(self.heads), dict(self.people), self.sightings.copy())

    def write(self, recorded: set[tuple[Any, ...]] | None) -> bool:
        """Write everything, in an order that needs no lookups between: heads,
        people, then sightings (which follow the requests). Returns whether
        review requests were brought in line (some may be new)."""
        heads_record(self.heads)
        self.heads = {}
        people_record(self.people, recorded)
        followed = sightings_record(self.sightings)
        self.sightings = Sightings()
        return followed


@dataclass(frozen=True, slots=True)
class ApplyResult:
    kind: EventKind
    pull_request: PullRequest | None
    changed: bool


# Providers stamp snapshots to the second (GitHub; GitLab webhooks too), so two
# events of one pull request can share ``updated_at``: a push and "ready for
# review", say. Their order is then told by what kind of change each is: a
# state transition's snapshot already shows the state after any plain update of
# the same second (a push after "ready" shows ready too; one before it does
# not), so it wins. Equal ranks at an equal time keep the snapshot applied last;
# the next change or reconciliation settles those.
TIE_RANKS = {
    EventKind.PR_OPENED: 0,
    EventKind.PR_READY: 2,
    EventKind.PR_CONVERTED_TO_DRAFT: 2,
    EventKind.PR_REOPENED: 3,
    EventKind.PR_CLOSED: 4,
    EventKind.PR_MERGED: 4,
}
PLAIN_UPDATE_RANK = 1


# No savepoint of its own inside a caller's transaction: a failure here fails
# the caller's unit of work (a delivery, a sync of one pull request) anyway.
@transaction.atomic(savepoint=False)
def event_apply(
    *,
    event: NormalizedEvent,
    repository: ConnectedRepository | None,
    recorded_people: set[tuple[Any, ...]] | None = None,
    locked_pulls: LockedPulls | None = None,
    pending: Pending | None = None,
) -> ApplyResult:
    """Apply everything one normalized event carries, in one transaction.

    A batch of events in one transaction passes what it already holds:
    ``recorded_people`` (identities written) and ``locked_pulls`` (pull request
    rows locked), so the same people and rows are not asked for again; and
    where it collects what it writes together before it commits: ``pending``.
    """
    pull_request = None
    changed = False
    if event.pull_request is not None and repository is not None:
        pull_request, changed = pull_request_upsert(
            repository=repository,
            snapshot=event.pull_request,
            tie_rank=TIE_RANKS.get(event.kind, PLAIN_UPDATE_RANK),
            locked=locked_pulls,
            pending=pending,
            recorded_people=recorded_people,
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
    if event.issue is not None and repository is not None:
        changed |= issue_upsert(repository=repository, snapshot=event.issue)
    if event.push is not None and event.push.is_forced and repository is not None:
        changed |= force_push_record(
            repository=repository, push=event.push, pushed_at=event.occurred_at
        )
    if repository is not None and pending is not None:
        for user in _people(event):
            if user.login:
                pending.people[(event.provider, repository.host, user.login)] = user
    elif repository is not None:
        identities_record(
            provider=event.provider,
            host=repository.host,
            users=_people(event),
            recorded=recorded_people,
        )
    return ApplyResult(kind=event.kind, pull_request=pull_request, changed=changed)


def pull_request_upsert(
    *,
    repository: ConnectedRepository,
    snapshot: PullRequestSnapshot,
    tie_rank: int = PLAIN_UPDATE_RANK,
    locked: LockedPulls | None = None,
    pending: Pending | None = None,
    recorded_people: set[tuple[Any, ...]] | None = None,
) -> tuple[PullRequest, bool]:
    """Create or update one PR under the version guard; returns (row, changed).

    ``pending``: where a batch collects what it writes together before it
    commits (``Pending``); without one, each is written now."""
    people = (pending.people if pending else None, recorded_people)
    heads = pending.heads if pending else None
    sightings = pending.sightings if pending else None
    row = _locked_pull(repository, snapshot.number, locked)
    if row is None:
        row, created = _pull_create(repository, snapshot, tie_rank, people)
        row.repository = repository
        if locked is not None:
            locked[(repository.pk, snapshot.number)] = row
        if created:
            _head_note(row, snapshot, heads)
            _requests_sync(row, snapshot, sightings, is_new=True)
            return row, True
    values = _pull_values(snapshot)
    if _is_newer(snapshot, row, tie_rank):
        values["provider_tie_rank"] = tie_rank
        updates = {
            field: value
            for field, value in values.items()
            if getattr(row, field) != value
        }
        if not updates and _applied_before(row, snapshot):
            return row, False
        _requests_sync(row, snapshot, sightings)
    else:
        if snapshot.updated_at is not None:  # a summary has no moment to place
            _requests_sync(row, snapshot, sightings)
        # Older (or a summary): only fill what we do not know yet.
        updates = {
            field: value
            for field, value in values.items()
            if getattr(row, field) in _UNKNOWN
            and not isinstance(value, list)
            and field != "provider_updated_at"
        }
    ready = _ready_moment(snapshot)
    if ready is not None and (row.ready_at is None or ready < row.ready_at):
        updates["ready_at"] = ready  # the earliest seen: any order gives it
    updates.update(_author_updates(row, snapshot, repository, people))
    _head_note(row, snapshot, heads)
    if not updates:
        return row, False
    for field, value in updates.items():
        setattr(row, field, value)
    _fields_save(row, list(updates))
    return row, True


def _ready_moment(snapshot: PullRequestSnapshot) -> datetime | None:
    """When this snapshot shows the pull request ready for review: its moment,
    when it says it is no draft."""
    if snapshot.draft is False and snapshot.updated_at is not None:
        return snapshot.updated_at
    return None


def _applied_before(row: PullRequest, snapshot: PullRequestSnapshot) -> bool:
    """This very version (same provider time, same values) was applied before,
    so its review requests and head are recorded: a review or a comment carries
    the pull request as it stood, and most of them change nothing about it."""
    return (
        snapshot.updated_at is not None
        and snapshot.updated_at == row.provider_updated_at
        and bool(row.author_login)
    )


def _locked_pull(
    repository: ConnectedRepository, number: int, locked: LockedPulls | None
) -> PullRequest | None:
    """The row, locked until the transaction ends. A row this transaction
    locked already is current as held: every write to it went through it."""
    if locked is not None and (row := locked.get((repository.pk, number))):
        return row
    row = _pull_locked_read(repository.pk, number)
    if row is not None:
        row.repository = repository
        if locked is not None:
            locked[(repository.pk, number)] = row
    return row


def _pull_create(
    repository: ConnectedRepository,
    snapshot: PullRequestSnapshot,
    tie_rank: int,
    people: tuple[PeopleSeen | None, set[tuple[Any, ...]] | None],
) -> tuple[PullRequest, bool]:
    values = _pull_values(snapshot)
    values["provider_tie_rank"] = tie_rank
    values["ready_at"] = _ready_moment(snapshot)
    values.update(_author_updates(None, snapshot, repository, people))
    row = PullRequest(repository=repository, number=snapshot.number, **values)
    if _insert_new(row):
        return row, True
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


def _is_newer(snapshot: PullRequestSnapshot, row: PullRequest, tie_rank: int) -> bool:
    if snapshot.updated_at is None:  # a summary never overrides a real snapshot
        return row.provider_updated_at is None and row.state != PullState.MERGED
    if row.state == PullState.MERGED and snapshot.state != PullState.MERGED:
        return False  # merged is final on both providers
    if row.provider_updated_at is None:
        return True
    if snapshot.updated_at == row.provider_updated_at:
        return tie_rank >= row.provider_tie_rank
    return snapshot.updated_at > row.provider_updated_at


def _author_updates(
    row: PullRequest | None,
    snapshot: PullRequestSnapshot,
    repository,
    people: tuple[PeopleSeen | None, set[tuple[Any, ...]] | None] = (None, None),
) -> dict[str, str]:
    """The author's login, from the snapshot or (GitLab) from an id seen before
    (by this batch too: what it saw is written first, then read)."""
    if row is not None and row.author_login:
        return {}
    if snapshot.author is not None:
        return {"author_login": snapshot.author.login}
    if snapshot.author_external_id:
        waiting, recorded = people
        if waiting and any(
            user.external_id == snapshot.author_external_id for user in waiting.values()
        ):
            people_record(waiting, recorded)
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


def _head_note(
    row: PullRequest, snapshot: PullRequestSnapshot, heads: HeadsSeen | None
) -> None:
    """Remember the snapshot's head sha with the provider time it was seen at:
    in the batch's ``heads``, or at once."""
    if not snapshot.head_sha:
        return
    seen_at = snapshot.updated_at or snapshot.created_at or timezone.now()
    if heads is None:
        heads_record({(row.pk, snapshot.head_sha): seen_at})
        return
    key = (row.pk, snapshot.head_sha)
    if key not in heads or heads[key] > seen_at:
        heads[key] = seen_at


def heads_record(heads: HeadsSeen) -> None:
    """Remember every head sha with the earliest provider time it was seen at:
    one statement for all of them (insert, or move the time back)."""
    if not heads:
        return
    table = PullRequestHead._meta.db_table
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = sorted(heads.items())  # one lock order whoever writes
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name comes from the model, never from input.
            f"INSERT INTO {table} (pull_request_id, sha, seen_at, created_at) "  # noqa: S608
            f"VALUES {', '.join(['(%s, %s, %s, %s)'] * len(rows))} "
            "ON CONFLICT (pull_request_id, sha) "
            f"DO UPDATE SET seen_at = EXCLUDED.seen_at WHERE {table}.seen_at > "
            "EXCLUDED.seen_at",
            [
                value
                for (pull_id, sha), seen_at in rows
                for value in (
                    pull_id,
                    sha,
                    ops.adapt_datetimefield_value(seen_at),
                    now,
                )
            ],
        )


def _requests_sync(
    row: PullRequest,
    snapshot: PullRequestSnapshot,
    sightings: Sightings | None,
    *,
    is_new: bool = False,
) -> None:
    """Record who the snapshot shows asked to review (``reviews.review_requests``
    derives the requests from every snapshot, whatever their order)."""
    if snapshot.requested_reviewers is None:
        return
    seen_at = snapshot.updated_at or snapshot.created_at or timezone.now()
    is_latest = row.provider_updated_at is None or seen_at > row.provider_updated_at
    review_requests_sync(
        pull_request=row,
        seen_at=seen_at,
        logins=snapshot.requested_reviewers,
        is_new=is_new,
        is_unchanged_latest=is_latest
        and set(snapshot.requested_reviewers) == set(row.requested_reviewers),
        sightings=sightings,
    )


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
    keys = {"pull_request": pull_request, "external_id": snapshot.external_id}
    if _insert_new(Review(**keys, **values)):
        review_request_answered(
            pull_request=pull_request,
            login=snapshot.reviewer.login,
            when=snapshot.submitted_at,
        )
        return True
    row = _locked(Review, **keys)
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
        "path": snapshot.path,
        "line": snapshot.line,
        "is_deleted": snapshot.is_deleted,
        "provider_created_at": snapshot.created_at,
        "provider_updated_at": snapshot.updated_at,
    }
    keys = {
        "pull_request": pull_request,
        "kind": str(snapshot.kind),
        "external_id": snapshot.external_id,
    }
    if _insert_new(Comment(**keys, **values)):
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


def issue_upsert(*, repository: ConnectedRepository, snapshot: IssueSnapshot) -> bool:
    """Keep an issue as its newest event says (an older event, arriving late,
    changes nothing); a deleted or transferred one is removed, and a late
    event of it does not bring it back."""
    values = {
        "title": snapshot.title[:10000],
        "state": snapshot.state,
        "url": snapshot.url[:500],
        "author_login": snapshot.author.login if snapshot.author else "",
        "labels": list(snapshot.labels),
        "provider_created_at": snapshot.created_at,
        "provider_updated_at": snapshot.updated_at,
        "closed_at": snapshot.closed_at,
    }
    row = (
        Issue.objects.select_for_update()
        .filter(repository=repository, number=snapshot.number)
        .first()
    )
    if snapshot.is_deleted:
        gone = IssueGone.objects.get_or_create(
            repository=repository,
            number=snapshot.number,
            defaults={"gone_at": snapshot.updated_at},
        )[1]
        return bool(Issue.objects.filter(pk=row.pk).delete()[0]) if row else gone
    if IssueGone.objects.filter(repository=repository, number=snapshot.number).exists():
        return False
    if row is None:
        if not values["author_login"]:
            values.pop("author_login")
        _, created = Issue.objects.get_or_create(
            repository=repository, number=snapshot.number, defaults=values
        )
        return created
    if snapshot.updated_at <= row.provider_updated_at:
        return False
    if not values["author_login"]:
        values.pop("author_login")  # GitLab names the author only sometimes
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    return True


def force_push_record(
    *, repository: ConnectedRepository, push: PushSnapshot, pushed_at: Any
) -> bool:
    """Remember a branch rewrite (idempotent). Which approvals it outdated is
    read from it when shown, so the order events arrive in does not matter."""
    if not push.ref.startswith(BRANCH_PREFIX) or not push.before.strip("0"):
        return False  # a tag, or a new branch: nothing was rewritten
    _, created = ForcePush.objects.get_or_create(
        repository=repository,
        ref=push.ref.removeprefix(BRANCH_PREFIX),
        before_sha=push.before,
        after_sha=push.after,
        defaults={"pushed_at": pushed_at},
    )
    return created


BRANCH_PREFIX = "refs/heads/"


def identities_record(
    *,
    provider: str,
    host: str,
    users: Iterable[UserRef],
    recorded: set[tuple[Any, ...]] | None = None,
) -> None:
    """Remember every login we see, keeping the provider's user id.

    Read first, then upsert only what is new or changed: an upsert of an
    unchanged row still locks it until commit, and every worker sees the same
    reviewers all day. ``recorded``: what this batch already wrote (skipped,
    then added to).
    """
    unique = {user.login: user for user in users if user.login}
    if recorded is not None:
        seen = {
            login: (provider, host, login, user.external_id, user.is_bot)
            for login, user in unique.items()
        }
        unique = {login: unique[login] for login in seen if seen[login] not in recorded}
        recorded.update(seen.values())
    if not unique:
        return
    known = {
        login: (external_id, is_bot)
        for login, external_id, is_bot in ProviderIdentity.objects.filter(
            provider=provider, host=host, login__in=list(unique)
        ).values_list("login", "external_id", "is_bot")
    }
    unique = {
        login: user
        for login, user in unique.items()
        if known.get(login) != (user.external_id, user.is_bot)
    }
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


def people_record(
    waiting: PeopleSeen, recorded: set[tuple[Any, ...]] | None = None
) -> None:
    """Write the identities a batch saw (``identities_record`` per code host:
    one read, and one upsert when anything is new or changed); empties it."""
    hosts: dict[tuple[str, str], list[UserRef]] = {}
    for (provider, host, _login), user in sorted(waiting.items()):
        hosts.setdefault((provider, host), []).append(user)
    waiting.clear()
    for (provider, host), users in hosts.items():
        identities_record(provider=provider, host=host, users=users, recorded=recorded)


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


def _insert_new(row: models.Model) -> bool:
    """INSERT the row unless one with the same unique key exists; whether it
    was new (its pk is then set).

    One statement, no savepoint: most reviews and comments a delivery brings
    are new, and a failed INSERT would end the transaction without one.
    """
    meta = row._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    params = [
        field.get_db_prep_save(field.pre_save(row, add=True), connection)
        for field in fields
    ]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            # Table and column names come from the model, never from input.
            f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}",
            params,
        )
        found = cursor.fetchone()
    if found is None:
        return False
    row.pk = found[0]
    row._state.adding, row._state.db = False, connection.alias
    return True


def _save_changes(row: models.Model, values: dict[str, Any]) -> bool:
    changed = [field for field, value in values.items() if getattr(row, field) != value]
    if not changed:
        return False
    for field in changed:
        setattr(row, field, values[field])
    _fields_save(row, changed)
    return True


# The statements every delivery makes are written here rather than through the
# ORM's query building, which costs more than PostgreSQL's answer (about
# 0.4-0.6 ms a statement on a 2-core machine against 0.2-0.4 ms for the round
# trip; bench/README.md "Third round").


def _fields_save(row: models.Model, names: list[str]) -> None:
    """``row.save(update_fields=[*names, "updated_at"])`` as one UPDATE: the
    same columns, the same values, ``updated_at`` now."""
    meta = row._meta
    row.updated_at = timezone.now()  # type: ignore[attr-defined]
    fields = [meta.get_field(name) for name in dict.fromkeys([*names, "updated_at"])]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            # Table and column names come from the model, never from input.
            f"UPDATE {quote(meta.db_table)} SET "  # noqa: S608
            + ", ".join(f"{quote(field.column)} = %s" for field in fields)
            + f" WHERE {quote(meta.pk.column)} = %s",
            [
                *(
                    field.get_db_prep_save(getattr(row, field.attname), connection)
                    for field in fields
                ),
                row.pk,
            ],
        )


# Marker values the compiled statement's parameters are recognised by.
_REPOSITORY_MARK, _NUMBER_MARK = 2_000_000_001, 2_000_000_002


@cache
def _pull_locked_sql() -> tuple[str, tuple[str, ...]]:
    """``SELECT … FOR UPDATE`` of one pull request by (repository, number), as
    the ORM writes it, built once; with the order its parameters go in."""
    sql, params = (
        PullRequest.objects.select_for_update()
        .filter(repository_id=_REPOSITORY_MARK, number=_NUMBER_MARK)
        .order_by()
        .query.sql_with_params()
    )
    names = {_REPOSITORY_MARK: "repository", _NUMBER_MARK: "number"}
    if sorted(params) != sorted(names):
        raise RuntimeError(f"unexpected parameters {params!r}")
    return str(sql), tuple(names[value] for value in params)


def _pull_locked_read(repository_id: int, number: int) -> PullRequest | None:
    sql, order = _pull_locked_sql()
    values = {"repository": repository_id, "number": number}
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[name] for name in order])
        values = cursor.fetchone()
    if values is None:
        return None
    values = list(values)
    for index, column, converters in _pull_converters():
        for convert in converters:
            values[index] = convert(values[index], column, connection)
    names = [field.attname for field in PullRequest._meta.concrete_fields]
    return PullRequest.from_db(connection.alias, names, values)


@cache
def _pull_converters() -> list[tuple[int, Any, list[Any]]]:
    """What the ORM does to each column it reads (JSON text decoded, say)."""
    table = PullRequest._meta.db_table
    found = []
    for index, field in enumerate(PullRequest._meta.concrete_fields):
        column = field.get_col(table)
        converters = [
            *connection.ops.get_db_converters(column),
            *field.get_db_converters(connection),
        ]
        if converters:
            found.append((index, column, converters))
    return found
