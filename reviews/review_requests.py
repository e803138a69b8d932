"""Who is asked to review a pull request: a function of every snapshot seen.

Each snapshot of a pull request carries the provider's list of requested
reviewers at that moment. A request's episode starts at the first snapshot
that shows the person after one that did not; it is active while the latest
snapshot shows them; it is answered by their first review since it started.
Snapshots arrive in any order (a late delivery, a reconciliation), so every
sighting is kept (``ReviewRequestSighting``) and the requests are derived from
all of them: the same snapshots give the same requests whatever their order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.db import connection, models
from django.utils import timezone

from reviews.models import PullRequest, Review, ReviewRequest, ReviewRequestSighting


class Episode(NamedTuple):
    started_at: datetime  # the first sighting of the latest unbroken run
    is_active: bool  # shown by the latest sighting


def episodes_derive(
    sightings: Iterable[tuple[datetime, Iterable[str]]],
) -> dict[str, Episode]:
    """Each login's latest request episode, from (moment, logins) sightings."""
    started: dict[str, datetime] = {}
    shown: set[str] = set()
    for seen_at, logins in sorted(sightings, key=lambda item: item[0]):
        now = set(logins)
        for login in now - shown:
            started[login] = seen_at
        shown = now
    return {login: Episode(at, login in shown) for login, at in started.items()}


@dataclass
class Sightings:
    """The sightings a batch of events saw, written together before it commits
    (``sightings_record``): one INSERT for all, and the requests of the pull
    requests they change brought in line together."""

    pulls: dict[int, PullRequest] = field(default_factory=dict)
    seen: dict[tuple[int, datetime], set[str]] = field(default_factory=dict)
    # Sightings some event said may move an episode (not merely newer and
    # showing the same people as the newest).
    moving: set[tuple[int, datetime]] = field(default_factory=set)

    def copy(self) -> Sightings:
        return Sightings(
            dict(self.pulls),
            {key: set(logins) for key, logins in self.seen.items()},
            set(self.moving),
        )

    def note(
        self,
        pull_request: PullRequest,
        seen_at: datetime,
        logins: list[str],
        *,
        moves: bool,
    ) -> None:
        key = (pull_request.pk, seen_at)
        self.pulls[pull_request.pk] = pull_request
        self.seen.setdefault(key, set()).update(logins)
        if moves:
            self.moving.add(key)


def review_requests_sync(
    *,
    pull_request: PullRequest,
    seen_at: datetime,
    logins: Iterable[str],
    is_new: bool = False,
    is_unchanged_latest: bool = False,
    sightings: Sightings | None = None,
) -> None:
    """Record one snapshot's requested reviewers and bring the requests in line
    with every sighting so far.

    ``is_new``: the pull request was just created, so it has no sightings, no
    requests and no reviews. ``is_unchanged_latest``: the snapshot is newer
    than every sighting and shows the same people as the newest one, so no
    episode moves (only the sighting is recorded).
    """
    shown = sorted(set(logins))
    if sightings is not None:
        sightings.note(pull_request, seen_at, shown, moves=not is_unchanged_latest)
        return
    if not _sighting_record(pull_request, seen_at, shown) or is_unchanged_latest:
        return  # seen before: the requests already follow it
    if is_new:
        ReviewRequest.objects.bulk_create(
            ReviewRequest(
                pull_request=pull_request, reviewer_login=login, requested_at=seen_at
            )
            for login in shown
        )
        return
    recorded = ReviewRequestSighting.objects.filter(pull_request=pull_request)
    wanted = episodes_derive(recorded.values_list("seen_at", "logins"))
    _requests_follow({pull_request.pk: pull_request}, {pull_request.pk: wanted})


def sightings_record(sightings: Sightings) -> bool:
    """Write a batch's sightings in one statement; then, for the pull requests
    where one is new (or added someone) and may move an episode, derive the
    requests from all their sightings and follow, together. The result is the
    one recording them one by one gives: requests are a function of the
    sightings, and every answer is derived from the reviews. Returns whether
    any pull request's requests were followed."""
    if not sightings.seen:
        return False
    table = ReviewRequestSighting._meta.db_table
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = sorted(sightings.seen.items())  # one lock order whoever writes
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name comes from the model, never from input.
            f"INSERT INTO {table} AS sighting (pull_request_id, seen_at, logins, "  # noqa: S608
            f"created_at) VALUES {', '.join(['(%s, %s, %s::jsonb, %s)'] * len(rows))} "
            "ON CONFLICT (pull_request_id, seen_at) DO UPDATE SET logins = ("
            "SELECT coalesce(jsonb_agg(DISTINCT login ORDER BY login), '[]'::jsonb) "
            "FROM jsonb_array_elements_text(sighting.logins || EXCLUDED.logins) "
            "AS login) WHERE NOT sighting.logins @> EXCLUDED.logins "
            "RETURNING pull_request_id, seen_at",
            [
                value
                for (pull_id, seen_at), logins in rows
                for value in (
                    pull_id,
                    ops.adapt_datetimefield_value(seen_at),
                    ops.adapt_json_value(sorted(logins), None),
                    now,
                )
            ],
        )
        changed = cursor.fetchall()
    follow = sorted(
        {
            pull_id
            for pull_id, seen_at in changed
            if (pull_id, seen_at) in sightings.moving
        }
    )
    if not follow:
        return False
    seen: dict[int, list[tuple[datetime, list[str]]]] = defaultdict(list)
    for pull_id, seen_at, logins in ReviewRequestSighting.objects.filter(
        pull_request_id__in=follow
    ).values_list("pull_request_id", "seen_at", "logins"):
        seen[pull_id].append((seen_at, logins))
    _requests_follow(
        {pk: sightings.pulls[pk] for pk in follow},
        {pk: episodes_derive(seen[pk]) for pk in follow},
    )
    return True


def review_request_answered(
    *, pull_request: PullRequest, login: str, when: datetime
) -> None:
    """A review at ``when`` answers the request it follows, if not answered
    earlier. (One statement written here: it runs for every review.)"""
    table = ReviewRequest._meta.db_table
    moment = connection.ops.adapt_datetimefield_value(when)
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name comes from the model, never from input.
            f"UPDATE {table} SET responded_at = %s WHERE pull_request_id = %s "  # noqa: S608
            "AND reviewer_login = %s AND requested_at <= %s "
            "AND (responded_at IS NULL OR responded_at > %s)",
            [moment, pull_request.pk, login, moment, moment],
        )


def _sighting_record(
    pull_request: PullRequest, seen_at: datetime, logins: list[str]
) -> bool:
    """Insert the sighting; whether it is new or added someone. Two snapshots
    of the same second keep everyone either showed (providers stamp to the
    second; see ``reviews.services.TIE_RANKS``)."""
    table = ReviewRequestSighting._meta.db_table
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name comes from the model, never from input.
            f"INSERT INTO {table} AS sighting (pull_request_id, seen_at, logins, "  # noqa: S608
            "created_at) VALUES (%s, %s, %s::jsonb, %s) "
            "ON CONFLICT (pull_request_id, seen_at) DO UPDATE SET logins = ("
            "SELECT coalesce(jsonb_agg(DISTINCT login ORDER BY login), '[]'::jsonb) "
            "FROM jsonb_array_elements_text(sighting.logins || EXCLUDED.logins) "
            "AS login) WHERE NOT sighting.logins @> EXCLUDED.logins RETURNING 1",
            [
                pull_request.pk,
                ops.adapt_datetimefield_value(seen_at),
                ops.adapt_json_value(logins, None),
                ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        return cursor.fetchone() is not None


def _requests_follow(
    pulls: dict[int, PullRequest], wanted: dict[int, dict[str, Episode]]
) -> None:
    """For each pull request, write what differs: new requests, episodes that
    moved (their answer and reminder belong to the old one), activity; then
    answer what a review already answers (a review can arrive before its
    request). One read, one insert and one answer for all of them."""
    held: dict[int, dict[str, ReviewRequest]] = defaultdict(dict)
    for request in ReviewRequest.objects.filter(pull_request_id__in=list(pulls)):
        held[request.pull_request_id][request.reviewer_login] = request
    ReviewRequest.objects.bulk_create(
        ReviewRequest(
            pull_request=pulls[pk],
            reviewer_login=login,
            requested_at=episode.started_at,
            is_active=episode.is_active,
        )
        for pk in sorted(pulls)
        for login, episode in sorted(wanted[pk].items())
        if login not in held[pk]
    )
    unanswered: set[tuple[int, str]] = {
        (pk, login) for pk in pulls for login in wanted[pk] if login not in held[pk]
    }
    for pk in sorted(pulls):
        for login, request in held[pk].items():
            # A request no sighting shows (recorded before sightings were
            # kept) is no longer asked for once a snapshot says who is.
            episode = wanted[pk].get(login, Episode(request.requested_at, False))
            changes = _changes(request, episode)
            if "requested_at" in changes:
                unanswered.add((pk, login))
            if changes:
                ReviewRequest.objects.filter(pk=request.pk).update(**changes)
    if unanswered:
        _answers_find(unanswered)


def _changes(request: ReviewRequest, episode: Episode) -> dict[str, object]:
    """What to write so the request follows its episode, in one UPDATE."""
    changes: dict[str, object] = {}
    if request.is_active != episode.is_active:
        changes["is_active"] = episode.is_active
    if request.requested_at != episode.started_at:
        changes.update(requested_at=episode.started_at, responded_at=None)
        if request.reminded_at is not None and request.reminded_at < episode.started_at:
            changes["reminded_at"] = None  # it reminded of an earlier episode
    return changes


def _answers_find(requests: set[tuple[int, str]]) -> None:
    """Each of these requests (pull request id, login) answered by the
    reviewer's first review since it was made, if any."""
    first_reviews = (
        Review.objects.filter(
            pull_request=models.OuterRef("pull_request"),
            reviewer_login=models.OuterRef("reviewer_login"),
            submitted_at__gte=models.OuterRef("requested_at"),
        )
        .order_by("submitted_at")
        .values("submitted_at")[:1]
    )
    match = models.Q()
    for pull_id, login in sorted(requests):
        match |= models.Q(pull_request_id=pull_id, reviewer_login=login)
    ReviewRequest.objects.filter(match).update(
        responded_at=models.Subquery(first_reviews)
    )
