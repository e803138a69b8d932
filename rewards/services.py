"""Points for review work: the ledger is a function of the pull request's state.

After every event, whichever road brought it (webhook, sync, replay), what the
pull request's stored facts earn is recomputed (``rewards.credits``: sessions,
comments, size and timeliness bonuses, merge credit; never your own work,
bots, rubber stamps or spam), kept as ``Credit`` rows, shared out under each
person's daily cap, and the append-only ledger gets the difference as new
lines. So any order of the same events, with duplicates and replays, ends in
the same ledger; a take-back (dismissal, deleted comment, spam) is a
compensating line. README "Points" lists the rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q, Subquery

from integrations.providers.base import NormalizedEvent
from reviews.bots import is_bot, is_bot_login
from reviews.business_time import business_hours_between, working_day_of
from reviews.codeowners import path_matches
from reviews.models import (
    Comment,
    Member,
    ProviderIdentity,
    PullRequest,
    PullRequestFile,
    RepositoryReviewSettings,
    Review,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)
from rewards import reciprocal
from rewards.credits import (
    Claim,
    CommentFact,
    Earned,
    PullFacts,
    ReviewFact,
    allot,
    credits_earned,
)
from rewards.models import Credit, Kudos, PointsEntry, PointsRule

# The starting rules; admins change them (each change bumps the rule's version).
DEFAULT_RULES = {
    "review_session": (10, "A review with substance (a verdict, or a real comment)"),
    "review_comment": (2, "A substantive review comment (5 per pull request)"),
    "review_size": (2, "Per 100 changed lines you reviewed (up to 500)"),
    "review_timely": (3, "You answered within the review SLA"),
    "merge_author": (5, "Your pull request was merged after review"),
    "merge_reviewer": (3, "A pull request you reviewed was merged"),
    "review_helpful": (
        5,
        "The author marked your review helpful (once per pull request)",
    ),
    "kudos": (2, "Kudos from a teammate"),
    "quest": (0, "A quest completed (each quest sets its own points)"),
}
REVIEW_RULES = ("review_session", "review_comment", "review_size", "review_timely")
SPAM_LABELS = {"spam"}
TAKEN_BACK = {
    "review_session": "review dismissed",
    "review_size": "review dismissed",
    "review_timely": "review dismissed",
    "review_comment": "comment deleted or no longer counts",
    "merge_author": "merge credit withdrawn",
    "merge_reviewer": "merge credit withdrawn",
}
OVER_CAP = "over the daily cap"
RECOUNTED = "recounted under the current rules"
EXCLUDED = "pull request changes only paths excluded from points"
PRACTICE = "practice pull request: earns no points"

PersonDay = tuple[str, int, datetime]  # ("m"|"i", member or identity id, UTC day)


def points_award(
    *, event: NormalizedEvent, pull_request: PullRequest | None
) -> list[PointsEntry]:
    """The ledger lines an event led to (usually none); idempotent, order-proof.

    The event itself is not read: its facts are already stored by apply.
    """
    if pull_request is None:
        return []
    return points_reconcile(pull_request=pull_request)


def points_reconcile(
    *, pull_request: PullRequest, recount: bool = False
) -> list[PointsEntry]:
    """Recompute what ``pull_request`` earns and bring the ledger in line.

    ``recount`` also revisits every day the pull request already has ledger
    lines on (lines written before credits existed), labelling what it moves.
    """
    return pulls_reconcile(pulls=[pull_request], recount=recount)


# No savepoint inside a caller's transaction (see reviews.services.event_apply).
@transaction.atomic(savepoint=False)
def pulls_reconcile(
    *, pulls: Iterable[PullRequest], recount: bool = False
) -> list[PointsEntry]:
    """Recompute what each pull request earns and bring the ledger in line,
    set-wise: a fixed number of queries for any number of pull requests (a
    batch of deliveries touches dozens), plus one write per changed credit.

    The result is the one reconciling them one by one gives: the ledger is a
    function of the stored state.
    """
    pks = {pull.pk for pull in pulls}
    # Later reciprocal exchanges of the same pairs count these pull requests'
    # approvals: they are recomputed with them (rewards.reciprocal).
    pks |= reciprocal.followers(reciprocal.reviews_of(pks))
    rows = [row for row in _locked_with_work(pks) if row.has_work or recount]
    if not rows:
        return []  # no review, no comment, no credit yet: nothing can change
    stored = _Stored.read(rows)
    facts = {row.pk: _facts(row, stored) for row in rows}
    earned = {pk: credits_earned(pull_facts) for pk, pull_facts in facts.items()}
    identities = _identities(rows, earned, stored.people)
    rules = rules_all()
    touched = _credits_sync(rows, earned, identities, rules)
    whys = {
        pk: (
            PRACTICE
            if pk in stored.practice
            else EXCLUDED
            if pk in stored.excluded
            else "pull request marked as spam"
            if pull_facts.is_spam
            else ""
        )
        for pk, pull_facts in facts.items()
    }
    if recount:
        whys = {pk: why or RECOUNTED for pk, why in whys.items()}
        for entry in PointsEntry.objects.filter(pull_request__in=rows).select_related(
            "identity"
        ):
            touched[_person_day(entry.identity, entry.earned_at)].add(
                entry.pull_request_id
            )
    return _ledger_follow(touched, whys, rules)


def points_recount(*, pulls: Iterable[PullRequest]) -> Iterator[list[PointsEntry]]:
    """Recount pull requests one by one (each in its own transaction); yields
    the lines each one led to. Safe to run again: a second run writes nothing."""
    for pull in pulls:
        yield points_reconcile(pull_request=pull, recount=True)


def _locked_with_work(pks: set[int]) -> list[Any]:
    """Lock the pull requests (one recompute at a time, in id order so two
    workers take them in the same order) and read them, with their repository
    and, in the same query, whether each has anything that earns or earned
    (``has_work``). Rows this transaction holds already are read as stored."""
    return list(
        PullRequest.objects.select_for_update(of=("self",))
        .select_related("repository")
        .filter(pk__in=pks)
        .annotate(has_work=_HAS_WORK)
        .order_by("pk")
    )


# When the pull request's author first marked the review helpful (Kudos).
_HELPFUL_AT = Subquery(
    Kudos.objects.filter(review=OuterRef("pk"), kind=Kudos.Kind.HELPFUL)
    .order_by("created_at")
    .values("created_at")[:1]
)

_HAS_WORK = (
    Exists(Review.objects.filter(pull_request=OuterRef("pk")))
    | Exists(Comment.objects.filter(pull_request=OuterRef("pk")))
    | Exists(Credit.objects.filter(pull_request=OuterRef("pk")))
)


def is_spam(pull: PullRequest) -> bool:
    return bool(SPAM_LABELS & {label.lower() for label in pull.labels})


# --- facts ----------------------------------------------------------------------

_CommentRow = tuple[str, str, str, str, datetime, str]  # kind … review_external_id
# external_id, login, state, body, commit sha, submitted at, marked helpful at
_ReviewRow = tuple[str, str, str, str, str, datetime, datetime | None]


@dataclass
class _Stored:
    """What the pull requests' facts are made of, read in a fixed number of
    queries for all of them together."""

    comments: dict[int, list[_CommentRow]]
    reviews: dict[int, list[_ReviewRow]]
    first_assignments: dict[int, datetime]
    people: dict[tuple[str, str, str], ProviderIdentity]  # (provider, host, login)
    timeliness: _Timeliness
    # Pull requests that change only paths their repository excludes from points.
    excluded: set[int]
    # Pull requests of a practice repository: they earn nothing.
    practice: set[int]
    # Reciprocal exchanges among their approvals: pull -> review -> share.
    shares: dict[int, dict[str, reciprocal.Share]]

    @classmethod
    def read(cls, rows: list[PullRequest]) -> _Stored:
        comments: dict[int, list[_CommentRow]] = defaultdict(list)
        for pull_id, *row in Comment.objects.filter(
            pull_request__in=rows, is_deleted=False
        ).values_list(
            "pull_request_id",
            "kind",
            "external_id",
            "author_login",
            "body",
            "provider_created_at",
            "review_external_id",
        ):
            comments[pull_id].append(tuple(row))  # type: ignore[arg-type]
        reviews: dict[int, list[_ReviewRow]] = defaultdict(list)
        for pull_id, *row in (
            Review.objects.filter(pull_request__in=rows)
            .annotate(helpful_at=_HELPFUL_AT)
            .values_list(
                "pull_request_id",
                "external_id",
                "reviewer_login",
                "state",
                "body",
                "commit_sha",
                "submitted_at",
                "helpful_at",
            )
        ):
            reviews[pull_id].append(tuple(row))  # type: ignore[arg-type]
        first_assignments = dict(
            ReviewAssignment.objects.filter(pull_request__in=rows)
            .values("pull_request_id")
            .annotate(first=Min("created_at"))
            .values_list("pull_request_id", "first")
        )
        logins: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in rows:
            logins[_site(row)] |= {
                row.author_login,
                *(review[1] for review in reviews[row.pk]),
                *(comment[2] for comment in comments[row.pk]),
            }
        sla_hours, excluded_paths = _repository_settings(rows)
        return cls(
            comments,
            reviews,
            first_assignments,
            _people(logins),
            _Timeliness(rows, sla_hours),
            _excluded(rows, excluded_paths),
            {row.pk for row in rows if row.repository.is_practice},
            reciprocal.shares(_exchanges(rows, reviews, comments)),
        )


def _exchanges(
    rows: list[PullRequest],
    reviews: dict[int, list[_ReviewRow]],
    comments: dict[int, list[_CommentRow]],
) -> list[reciprocal.Approval]:
    """The pull requests' reviews that are reciprocal exchanges, from what
    was read (most pull requests have none, and cost no query)."""
    found = []
    for row in rows:
        inline: dict[str, list[str]] = defaultdict(list)
        for _kind, _id, _login, body, _at, review_id in comments[row.pk]:
            inline[review_id].append(body)
        for external_id, login, state, body, _sha, submitted_at, _ in reviews[row.pk]:
            if reciprocal.is_exchange(
                state=state,
                body=body,
                additions=row.additions,
                deletions=row.deletions,
                inline_bodies=inline.get(external_id, ()),
            ):
                found.append(
                    reciprocal.Approval(
                        row.pk,
                        external_id,
                        _site(row),
                        login,
                        row.author_login,
                        submitted_at,
                    )
                )
    return found


def _repository_settings(
    rows: list[PullRequest],
) -> tuple[dict[int, int], dict[int, list[str]]]:
    """Each repository's review SLA and paths excluded from points, one query."""
    repositories = {row.repository_id for row in rows}
    saved = {
        pk: (hours, paths)
        for pk, hours, paths in RepositoryReviewSettings.objects.filter(
            repository_id__in=repositories
        ).values_list("repository_id", "sla_hours", "points_exclude_paths")
    }
    default = RepositoryReviewSettings._meta.get_field("sla_hours").get_default()
    sla_hours = {pk: saved[pk][0] if pk in saved else default for pk in repositories}
    excluded = {pk: paths for pk, (_, paths) in saved.items() if paths}
    return sla_hours, excluded


def _excluded(rows: list[PullRequest], patterns: dict[int, list[str]]) -> set[int]:
    """The pull requests whose every changed path (as read when reviewers were
    chosen) matches one of ``points.exclude_paths``: one query, when any
    repository excludes paths."""
    if not patterns:
        return set()
    files: dict[int, list[str]] = defaultdict(list)
    for pull_id, path in PullRequestFile.objects.filter(
        pull_request__in=[row for row in rows if row.repository_id in patterns]
    ).values_list("pull_request_id", "path"):
        files[pull_id].append(path)
    return {
        row.pk
        for row in rows
        if files.get(row.pk)
        and all(
            any(path_matches(pattern, path) for pattern in patterns[row.repository_id])
            for path in files[row.pk]
        )
    }


def _site(pull: PullRequest) -> tuple[str, str]:
    return (pull.repository.provider, pull.repository.host)


def _people(
    logins: dict[tuple[str, str], set[str]],
) -> dict[tuple[str, str, str], ProviderIdentity]:
    """The identities of these logins, by (provider, host, login), in one query."""
    wanted = Q()
    for (provider, host), names in logins.items():
        names = {login for login in names if login}
        if names:
            wanted |= Q(provider=provider, host=host, login__in=sorted(names))
    if not wanted:
        return {}
    return {
        (identity.provider, identity.host, identity.login): identity
        for identity in ProviderIdentity.objects.filter(wanted)
    }


def _facts(pull: PullRequest, stored: _Stored) -> PullFacts:
    """One pull request's stored facts, from what was read for all of them."""
    comments = stored.comments.get(pull.pk, [])
    inline: dict[str, list[str]] = defaultdict(list)
    for _kind, _id, _login, body, _at, review_id in comments:
        if review_id:
            inline[review_id].append(body)
    shares = stored.shares.get(pull.pk, {})
    no_share = reciprocal.Share(100, "")
    reviews = tuple(
        ReviewFact(
            *row[:6],
            tuple(inline.get(row[0], ())),
            shares.get(row[0], no_share).percent,
            shares.get(row[0], no_share).note,
            row[6],
        )
        for row in stored.reviews.get(pull.pk, [])
    )
    site = _site(pull)

    def person(login: str) -> ProviderIdentity | None:
        return stored.people.get((*site, login))

    author = person(pull.author_login)
    return PullFacts(
        pull_id=pull.pk,
        label=f"{pull.repository.full_name}#{pull.number}",
        author_login=pull.author_login,
        size=(pull.additions or 0) + (pull.deletions or 0),
        is_spam=is_spam(pull) or pull.pk in stored.excluded | stored.practice,
        merged_at=(pull.merged_at or pull.provider_updated_at)
        if pull.state == "merged"
        else None,
        first_request_at=stored.first_assignments.get(pull.pk)
        or pull.provider_created_at,
        reviews=reviews,
        comments=tuple(
            CommentFact(kind, external_id, login, body, created_at)
            for kind, external_id, login, body, created_at, _ in comments
        ),
        may_earn=lambda login: _may_earn(login, person(login), author, pull),
        author_may_earn=not (author is not None and is_bot(author))
        and not is_bot_login(pull.author_login),
        answered_in_time=lambda login, when: stored.timeliness.answered_in_time(
            pull, login, when
        ),
        followed_since=pull.repository.followed_since,
    )


def _may_earn(
    login: str,
    identity: ProviderIdentity | None,
    author: ProviderIdentity | None,
    pull: PullRequest,
) -> bool:
    """Rules are about people: nobody earns on a pull request they wrote (under
    any of their linked logins), and bots earn nothing."""
    if not login or login == pull.author_login or is_bot_login(login):
        return False
    if identity is not None and is_bot(identity):
        return False
    if identity is None or author is None or author.member_id is None:
        return True
    return identity.member_id != author.member_id


class _Timeliness:
    """Asked to review before a moment, and answered within the repository's
    SLA in the reviewer's business hours? What it needs is read for all the
    pull requests at once, when the first reviewer is looked at."""

    def __init__(self, rows: list[PullRequest], sla_hours: dict[int, int]) -> None:
        self.rows = rows
        self.asked: dict[int, dict[str, list[datetime]]] = {}
        self.profiles: dict[tuple[str, str, str], ReviewerProfile] = {}
        self.sla_hours = sla_hours

    def answered_in_time(self, pull: PullRequest, login: str, when: datetime) -> bool:
        if not self.asked:
            self._read()
        # Strictly before: a request first seen with the review itself has no
        # known request time, so it earns no timeliness credit.
        asked = [
            moment
            for moment in self.asked.get(pull.pk, {}).get(login, ())
            if moment < when
        ]
        if not asked:
            return False
        profile = self.profiles.get((*_site(pull), login))
        waited = business_hours_between(min(asked), when, **working_day_of(profile))
        return waited <= self.sla_hours[pull.repository_id]

    def _read(self) -> None:
        logins: dict[tuple[str, str], set[str]] = defaultdict(set)
        sites = {row.pk: _site(row) for row in self.rows}
        self.asked = {row.pk: defaultdict(list) for row in self.rows}
        for pull_id, login, requested_at in ReviewRequest.objects.filter(
            pull_request__in=self.rows
        ).values_list("pull_request_id", "reviewer_login", "requested_at"):
            self.asked[pull_id][login].append(requested_at)
            logins[sites[pull_id]].add(login)
        wanted = Q()
        for (provider, host), names in logins.items():
            wanted |= Q(
                identity__provider=provider,
                identity__host=host,
                identity__login__in=sorted(names),
            )
        if wanted:
            for profile in ReviewerProfile.objects.filter(wanted).select_related(
                "identity"
            ):
                identity = profile.identity
                self.profiles[(identity.provider, identity.host, identity.login)] = (
                    profile
                )


def _identities(
    rows: list[PullRequest],
    earned: dict[int, list[Earned]],
    known: dict[tuple[str, str, str], ProviderIdentity],
) -> dict[tuple[str, str, str], ProviderIdentity]:
    """The identities that earn (from those already read), created the first
    time a login earns."""
    found = dict(known)
    for row in rows:
        provider, host = _site(row)
        for login in sorted({item.login for item in earned[row.pk]}):
            if (provider, host, login) not in found:
                found[(provider, host, login)], _ = (
                    ProviderIdentity.objects.get_or_create(
                        provider=provider, host=host, login=login
                    )
                )
    return found


# --- credits --------------------------------------------------------------------


def _credits_sync(
    rows: list[PullRequest],
    earned: dict[int, list[Earned]],
    identities: dict[tuple[str, str, str], ProviderIdentity],
    rules: dict[str, PointsRule],
) -> dict[PersonDay, set[int]]:
    """Make the pull requests' Credit rows what their facts earn: new ones in
    one INSERT, changed ones saved, gone ones in one DELETE. Returns the
    person-days whose share-out may have changed, each with the pull requests
    that moved it."""
    existing: dict[tuple[int, int, str], Credit] = {
        (credit.identity_id, credit.rule_id, credit.key): credit
        for credit in Credit.objects.filter(pull_request__in=rows).select_related(
            "identity"
        )
    }
    touched: dict[PersonDay, set[int]] = defaultdict(set)
    created: dict[tuple[int, int, str], Credit] = {}
    wanted: set[tuple[int, int, str]] = set()
    for row in rows:
        for item in earned[row.pk]:
            rule, identity = rules[item.rule], identities[(*_site(row), item.login)]
            if not rule.is_active or rule.points <= 0:
                continue
            handle = (identity.pk, rule.pk, item.key)
            wanted.add(handle)
            credit = existing.get(handle) or created.get(handle)
            if credit is None:
                credit = created[handle] = Credit(
                    pull_request=row, identity=identity, rule=rule, key=item.key
                )
            elif _credit_is_current(credit, item):
                continue
            elif credit.pk is not None:
                touched[_person_day(credit.identity, credit.earned_at)].add(row.pk)
            _credit_set(credit, item, rule)
            if credit.pk is not None:
                credit.save()
            touched[_person_day(identity, item.earned_at)].add(row.pk)
    Credit.objects.bulk_create(created.values())
    gone = [credit for handle, credit in existing.items() if handle not in wanted]
    for credit in gone:
        touched[_person_day(credit.identity, credit.earned_at)].add(
            credit.pull_request_id
        )
    if gone:
        Credit.objects.filter(pk__in=[credit.pk for credit in gone]).delete()
    return touched


def _credit_is_current(credit: Credit, item: Earned) -> bool:
    return (credit.earned_at, credit.units, credit.reason, credit.share) == (
        item.earned_at,
        item.units,
        item.reason,
        item.share,
    )


def _credit_set(credit: Credit, item: Earned, rule: PointsRule) -> None:
    """Points are priced when a credit appears or its units change, so a later
    change of a rule never re-prices past work; a share (reciprocal exchanges)
    pays part of that price, rounded down."""
    if credit.pk is None or credit.units != item.units:
        credit.full_points = rule.points * item.units
        credit.rule_version = rule.version
    credit.units, credit.reason, credit.share = item.units, item.reason, item.share
    credit.points = credit.full_points * item.share // 100
    credit.earned_at = item.earned_at


def _person_day(identity: ProviderIdentity, moment: datetime) -> PersonDay:
    if identity.member_id:
        return ("m", identity.member_id, _day(moment))
    return ("i", identity.pk, _day(moment))


def _day(moment: datetime) -> datetime:
    """The UTC day a moment falls on (daily caps count UTC days)."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# --- the ledger follows the credits -----------------------------------------------


class _CreditRow(NamedTuple):
    pk: int
    points: int
    earned_at: datetime
    rule_key: str
    key: str
    identity_id: int
    rule_id: int
    rule_version: int
    pull_request_id: int
    reason: str
    repository_id: int | None
    organization_id: int | None


_CREDIT_COLUMNS = [
    {
        "rule_key": "rule__key",
        "repository_id": "pull_request__repository_id",
        "organization_id": "pull_request__repository__organization_id",
    }.get(name, name)
    for name in _CreditRow._fields
]


class _EntryRow(NamedTuple):
    identity_id: int
    rule_id: int
    source: str
    earned_at: datetime
    points: int
    rule_version: int
    pull_request_id: int | None
    repository_id: int | None
    organization_id: int | None


def _ledger_follow(
    touched: dict[PersonDay, set[int]],
    whys: dict[int, str],
    rules: dict[str, PointsRule],
) -> list[PointsEntry]:
    """Follow every person-day a recount touched: lock the people (all their
    logins), read their credits and ledger lines of those days in one query
    each, share out and compare day by day (``_day_follow``), then append every
    difference in one INSERT (``_append``).

    Rows are read as tuples: a busy reviewer's day holds a hundred of them.
    """
    if not touched:
        return []
    owner = _people_locked({(kind, pk) for kind, pk, _day in touched})
    days = sorted({day for _kind, _pk, day in touched})
    span = {"earned_at__gte": days[0], "earned_at__lt": days[-1] + timedelta(days=1)}
    credits: dict[PersonDay, list[_CreditRow]] = defaultdict(list)
    for row in Credit.objects.filter(identity_id__in=owner, **span).values_list(
        *_CREDIT_COLUMNS
    ):
        credit = _CreditRow(*row)
        person_day = (*owner[credit.identity_id], _day(credit.earned_at))
        if person_day in touched:
            credits[person_day].append(credit)
    # Lines of pull requests with credits (and of those that moved the day): a
    # pull request whose credits were never computed keeps its lines until its
    # next event.
    followed = {
        person_day: {credit.pull_request_id for credit in credits[person_day]} | pulls
        for person_day, pulls in touched.items()
    }
    lines: dict[PersonDay, list[_EntryRow]] = defaultdict(list)
    for row in PointsEntry.objects.filter(
        identity_id__in=owner,
        pull_request_id__in=set().union(*followed.values()),
        **span,
    ).values_list(*_EntryRow._fields):
        entry = _EntryRow(*row)
        person_day = (*owner[entry.identity_id], _day(entry.earned_at))
        if entry.pull_request_id in followed.get(person_day, ()):
            lines[person_day].append(entry)
    differences = []
    for person_day in sorted(touched):
        differences += _day_follow(credits[person_day], lines[person_day])
    return _append(differences, whys, {rule.pk: rule.key for rule in rules.values()})


class _Difference(NamedTuple):
    line: tuple[int, int, str, datetime]  # identity, rule, credit key, earned at
    points: int
    credit: _CreditRow | None  # what is earned now, if anything
    model: _CreditRow | _EntryRow  # the credit, else a line written before


def _day_follow(credits: list[_CreditRow], lines: list[_EntryRow]) -> list[_Difference]:
    """Share one person's credits of one day under the cap; the difference
    between what the ledger holds and what they earn, per line key and moment
    (so a credit that moved to another time moves in the ledger too)."""
    kept = allot(
        (Claim(c.pk, c.points, c.earned_at, (c.rule_key, c.key)) for c in credits),
        settings.REWARDS_DAILY_CAP,
    )
    wanted: dict[tuple, int] = {}
    about: dict[tuple, _CreditRow] = {}
    for credit in credits:
        line = (credit.identity_id, credit.rule_id, credit.key, credit.earned_at)
        wanted[line] = kept[credit.pk]
        about[line] = credit
    held: dict[tuple, int] = defaultdict(int)
    sample: dict[tuple, _EntryRow] = {}
    for entry in lines:
        line = (
            entry.identity_id,
            entry.rule_id,
            base_key(entry.source),
            entry.earned_at,
        )
        held[line] += entry.points
        sample.setdefault(line, entry)
    return [
        _Difference(line, difference, about.get(line), about.get(line) or sample[line])
        for line in sorted(set(wanted) | set(held), key=str)
        if (difference := wanted.get(line, 0) - held.get(line, 0))
    ]


def base_key(source: str) -> str:
    """The credit a ledger line belongs to (``key``, ``key#2``…; older lines
    ended their take-backs in ``:reversed``)."""
    return source.split("#", 1)[0].removesuffix(":reversed")


def _append(
    differences: list[_Difference], whys: dict[int, str], rule_keys: dict[int, str]
) -> list[PointsEntry]:
    """Write the differences as new ledger lines, in one INSERT. A credit's
    first line is sourced by its key, later ones ``key#2``, ``key#3``…"""
    if not differences:
        return []
    taken = _lines_taken(
        {(*diff.line[:3], diff.model.pull_request_id) for diff in differences}
    )
    entries = []
    for diff in differences:
        identity_id, rule_id, key, earned_at = diff.line
        model = diff.model
        count = taken[(identity_id, rule_id, key)]
        taken[(identity_id, rule_id, key)] += 1
        entries.append(
            PointsEntry(
                identity_id=identity_id,
                rule_id=rule_id,
                rule_version=model.rule_version,
                points=diff.points,
                reason=_reason(diff, whys.get(model.pull_request_id, ""), rule_keys)[
                    :200
                ],
                source=key if not count else f"{key}#{count + 1}",
                pull_request_id=model.pull_request_id,
                repository_id=model.repository_id,
                # the team the line counts for: the repository's now, or for a
                # take-back of a line written before, that line's
                organization_id=model.organization_id,
                earned_at=earned_at,
            )
        )
    return PointsEntry.objects.bulk_create(entries)


def _reason(diff: _Difference, why: str, rule_keys: dict[int, str]) -> str:
    if diff.credit is not None:
        return diff.credit.reason if diff.points > 0 else OVER_CAP
    return why or TAKEN_BACK.get(rule_keys.get(diff.line[1], ""), "no longer earned")


def _lines_taken(handles: set[tuple[int, int, str, int | None]]) -> dict[tuple, int]:
    """How many ledger lines each (identity, rule, credit key) has already, in
    one query: a credit's key names its pull request, so its lines are among
    that pull request's lines of that person (read by two indexed ids, not by
    prefixes of the source)."""
    taken: dict[tuple, int] = {handle[:3]: 0 for handle in handles}
    for identity_id, rule_id, source in PointsEntry.objects.filter(
        identity_id__in={handle[0] for handle in handles},
        pull_request_id__in={handle[3] for handle in handles},
    ).values_list("identity_id", "rule_id", "source"):
        handle = (identity_id, rule_id, source.split("#", 1)[0])
        if handle in taken:
            taken[handle] += 1
    return taken


def _people_locked(people: set[tuple[str, int]]) -> dict[int, tuple[str, int]]:
    """Lock the people (one person's share-outs are serialized, in pk order so
    two workers take them in the same order); every identity id of theirs ->
    the person ("m", member id) or ("i", identity id)."""
    members = sorted(pk for kind, pk in people if kind == "m")
    loose = sorted(pk for kind, pk in people if kind == "i")
    owner: dict[int, tuple[str, int]] = {}
    if members:
        _lock_rows(Member, members)
        for identity_id, member_id in ProviderIdentity.objects.filter(
            member_id__in=members
        ).values_list("pk", "member_id"):
            owner[identity_id] = ("m", member_id)
    if loose:
        _lock_rows(ProviderIdentity, loose)
        owner.update({pk: ("i", pk) for pk in loose})
    return owner


def _lock_rows(model: type[Member] | type[ProviderIdentity], pks: list[int]) -> None:
    """Lock the rows, in pk order (two workers take them in the same order)."""
    rows = model.objects.select_for_update().filter(pk__in=pks).order_by("pk")
    list(rows.values_list("pk"))  # evaluated: the lock is taken now


# --- rules ---------------------------------------------------------------------


def rules_all() -> dict[str, PointsRule]:
    """Every rule by key, in one query (created from DEFAULT_RULES when new)."""
    rules = {
        rule.key: rule for rule in PointsRule.objects.filter(key__in=DEFAULT_RULES)
    }
    for key in DEFAULT_RULES:
        if key not in rules:
            rules[key] = rule_get(key)
    return rules


def rule_get(key: str) -> PointsRule:
    """A rule as admins last set it, created from DEFAULT_RULES the first time."""
    points, description = DEFAULT_RULES[key]
    rule, _ = PointsRule.objects.get_or_create(
        key=key, defaults={"points": points, "description": description}
    )
    return rule


def paying_identities(members: Iterable[int]) -> dict[int, int]:
    """Each person's first login that is not a bot's: lines paid to a person
    rather than earned on a pull request (quests, kudos) land there; boards
    and levels count all of a person's logins together."""
    chosen: dict[int, int] = {}
    for pk, member, login, marked in (
        ProviderIdentity.objects.filter(member_id__in=list(members))
        .order_by("pk")
        .values_list("pk", "member_id", "login", "is_bot")
    ):
        if member not in chosen and not is_bot_login(login, marked=marked):
            chosen[member] = pk
    return chosen
