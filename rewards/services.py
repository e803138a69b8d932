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
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from integrations.providers.base import NormalizedEvent
from reviews.assignment.service import review_settings_get
from reviews.business_time import business_hours_between, working_day_of
from reviews.models import (
    Comment,
    Member,
    ProviderIdentity,
    PullRequest,
    Review,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)
from rewards.credits import (
    Claim,
    CommentFact,
    Earned,
    PullFacts,
    ReviewFact,
    allot,
    credits_earned,
)
from rewards.models import Credit, PointsEntry, PointsRule

# The starting rules; admins change them (each change bumps the rule's version).
DEFAULT_RULES = {
    "review_session": (10, "A review with substance (a verdict, or a real comment)"),
    "review_comment": (2, "A substantive review comment (5 per pull request)"),
    "review_size": (2, "Per 100 changed lines you reviewed (up to 500)"),
    "review_timely": (3, "You answered within the review SLA"),
    "merge_author": (5, "Your pull request was merged after review"),
    "merge_reviewer": (3, "A pull request you reviewed was merged"),
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


# No savepoint inside a caller's transaction (see reviews.services.event_apply).
@transaction.atomic(savepoint=False)
def points_reconcile(
    *, pull_request: PullRequest, recount: bool = False, is_locked: bool = False
) -> list[PointsEntry]:
    """Recompute what ``pull_request`` earns and bring the ledger in line.

    ``recount`` also revisits every day the pull request already has ledger
    lines on (lines written before credits existed), labelling what it moves.
    ``is_locked``: the caller's transaction holds the row locked and the
    instance (with its repository) is current, so it is not read again.
    """
    pull = pull_request if is_locked else _locked_with_work(pull_request)
    if pull is None:
        return []
    has_work = _has_work(pull) if is_locked else pull.has_work
    if not (has_work or recount):
        return []  # no review, no comment, no credit yet: nothing can change
    facts, people = _facts(pull)
    earned = credits_earned(facts)
    identities = _identities(pull, {item.login for item in earned}, people)
    touched = _credits_sync(pull, earned, identities)
    why = "pull request marked as spam" if facts.is_spam else ""
    if recount:
        why = why or RECOUNTED
        touched |= {
            _person_day(entry.identity, entry.earned_at)
            for entry in PointsEntry.objects.filter(pull_request=pull).select_related(
                "identity"
            )
        }
    return _ledger_follow(touched, pull.pk, why)


def points_recount(*, pulls: Iterable[PullRequest]) -> Iterator[list[PointsEntry]]:
    """Recount pull requests one by one (each in its own transaction); yields
    the lines each one led to. Safe to run again: a second run writes nothing."""
    for pull in pulls:
        yield points_reconcile(pull_request=pull, recount=True)


def _locked_with_work(pull: PullRequest) -> Any:
    """Lock the pull request (one recompute at a time) and read it, with its
    repository and, in the same query, whether it has anything that earns or
    earned (``has_work``); None when it no longer exists."""
    return (
        PullRequest.objects.select_for_update(of=("self",))
        .select_related("repository")
        .filter(pk=pull.pk)
        .annotate(has_work=_HAS_WORK)
        .first()
    )


_HAS_WORK = (
    Exists(Review.objects.filter(pull_request=OuterRef("pk")))
    | Exists(Comment.objects.filter(pull_request=OuterRef("pk")))
    | Exists(Credit.objects.filter(pull_request=OuterRef("pk")))
)


def _has_work(pull: PullRequest) -> bool:
    return bool(
        PullRequest.objects.filter(pk=pull.pk)
        .annotate(has_work=_HAS_WORK)
        .values_list("has_work", flat=True)
        .first()
    )


def is_spam(pull: PullRequest) -> bool:
    return bool(SPAM_LABELS & {label.lower() for label in pull.labels})


# --- facts ----------------------------------------------------------------------


def _facts(pull: PullRequest) -> tuple[PullFacts, dict[str, ProviderIdentity]]:
    """The pull request's stored facts, in a fixed number of queries, and the
    identities of the people they name."""
    comments = list(
        Comment.objects.filter(pull_request=pull, is_deleted=False).values_list(
            "kind",
            "external_id",
            "author_login",
            "body",
            "provider_created_at",
            "review_external_id",
        )
    )
    inline: dict[str, list[str]] = defaultdict(list)
    for _kind, _id, _login, body, _at, review_id in comments:
        if review_id:
            inline[review_id].append(body)
    reviews = tuple(
        ReviewFact(
            external_id,
            login,
            state,
            body,
            sha,
            submitted_at,
            tuple(inline.get(external_id, ())),
        )
        for external_id, login, state, body, sha, submitted_at in Review.objects.filter(
            pull_request=pull
        ).values_list(
            "external_id",
            "reviewer_login",
            "state",
            "body",
            "commit_sha",
            "submitted_at",
        )
    )
    logins = {review.login for review in reviews} | {row[2] for row in comments}
    people = _people(pull, logins | {pull.author_login})
    author = people.get(pull.author_login)
    first_assignment = (
        ReviewAssignment.objects.filter(pull_request=pull)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    facts = PullFacts(
        pull_id=pull.pk,
        label=f"{pull.repository.full_name}#{pull.number}",
        author_login=pull.author_login,
        size=(pull.additions or 0) + (pull.deletions or 0),
        is_spam=is_spam(pull),
        merged_at=(pull.merged_at or pull.provider_updated_at)
        if pull.state == "merged"
        else None,
        first_request_at=first_assignment or pull.provider_created_at,
        reviews=reviews,
        comments=tuple(
            CommentFact(kind, external_id, login, body, created_at)
            for kind, external_id, login, body, created_at, _ in comments
        ),
        may_earn=lambda login: _may_earn(login, people.get(login), author, pull),
        author_may_earn=not (author is not None and _is_bot(author))
        and not pull.author_login.endswith("[bot]"),
        answered_in_time=_timeliness(pull),
        followed_since=pull.repository.followed_since,
    )
    return facts, people


def _people(pull: PullRequest, logins: set[str]) -> dict[str, ProviderIdentity]:
    return {
        identity.login: identity
        for identity in ProviderIdentity.objects.filter(
            provider=pull.repository.provider,
            host=pull.repository.host,
            login__in=[login for login in logins if login],
        )
    }


def _may_earn(
    login: str,
    identity: ProviderIdentity | None,
    author: ProviderIdentity | None,
    pull: PullRequest,
) -> bool:
    """Rules are about people: nobody earns on a pull request they wrote (under
    any of their linked logins), and bots earn nothing."""
    if not login or login == pull.author_login or login.endswith("[bot]"):
        return False
    if identity is not None and _is_bot(identity):
        return False
    if identity is None or author is None or author.member_id is None:
        return True
    return identity.member_id != author.member_id


def _is_bot(identity: ProviderIdentity) -> bool:
    return identity.is_bot or identity.login.endswith("[bot]")


def _timeliness(pull: PullRequest):
    """``(login, when) -> bool``: asked to review before ``when``, and answered
    within the repository's SLA in the reviewer's business hours. What it needs
    is read once, when the first reviewer is looked at."""
    known: dict[str, Any] = {}

    def facts() -> dict[str, Any]:
        if not known:
            asked: dict[str, list[datetime]] = defaultdict(list)
            for login, requested_at in ReviewRequest.objects.filter(
                pull_request=pull
            ).values_list("reviewer_login", "requested_at"):
                asked[login].append(requested_at)
            known["asked"] = asked
            known["profiles"] = {
                profile.identity.login: profile
                for profile in ReviewerProfile.objects.filter(
                    identity__provider=pull.repository.provider,
                    identity__host=pull.repository.host,
                    identity__login__in=list(asked),
                ).select_related("identity")
            }
            known["sla_hours"] = review_settings_get(pull.repository).sla_hours
        return known

    def answered_in_time(login: str, when: datetime) -> bool:
        # Strictly before: a request first seen with the review itself has no
        # known request time, so it earns no timeliness credit.
        asked = [moment for moment in facts()["asked"].get(login, ()) if moment < when]
        if not asked:
            return False
        profile = facts()["profiles"].get(login)
        waited = business_hours_between(min(asked), when, **working_day_of(profile))
        return waited <= facts()["sla_hours"]

    return answered_in_time


def _identities(
    pull: PullRequest, logins: set[str], known: dict[str, ProviderIdentity]
) -> dict[str, ProviderIdentity]:
    """The identities that earn (from those already read), created the first
    time a login earns."""
    found = {login: known[login] for login in logins if login in known}
    for login in logins - set(found):
        found[login], _ = ProviderIdentity.objects.get_or_create(
            provider=pull.repository.provider, host=pull.repository.host, login=login
        )
    return found


# --- credits --------------------------------------------------------------------


def _credits_sync(
    pull: PullRequest, earned: list[Earned], identities: dict[str, ProviderIdentity]
) -> set[PersonDay]:
    """Make the pull request's Credit rows what its facts earn; the person-days
    whose share-out may have changed."""
    rules = rules_all()
    existing = {
        (credit.identity_id, credit.rule_id, credit.key): credit
        for credit in Credit.objects.filter(pull_request=pull).select_related(
            "identity"
        )
    }
    touched: set[PersonDay] = set()
    wanted: set[tuple[int, int, str]] = set()
    for item in earned:
        rule, identity = rules[item.rule], identities[item.login]
        if not rule.is_active or rule.points <= 0:
            continue
        handle = (identity.pk, rule.pk, item.key)
        wanted.add(handle)
        credit = existing.get(handle)
        if credit is None:
            credit = Credit(
                pull_request=pull, identity=identity, rule=rule, key=item.key
            )
        elif (credit.earned_at, credit.units, credit.reason) == (
            item.earned_at,
            item.units,
            item.reason,
        ):
            continue
        else:
            touched.add(_person_day(credit.identity, credit.earned_at))
        if credit.pk is None or credit.units != item.units:
            credit.points, credit.rule_version = rule.points * item.units, rule.version
        credit.units, credit.reason, credit.earned_at = (
            item.units,
            item.reason,
            item.earned_at,
        )
        credit.save()
        touched.add(_person_day(identity, item.earned_at))
    for handle, credit in existing.items():
        if handle not in wanted:
            touched.add(_person_day(credit.identity, credit.earned_at))
            credit.delete()
    return touched


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


_CREDIT_COLUMNS = [
    {"rule_key": "rule__key", "repository_id": "pull_request__repository_id"}.get(
        name, name
    )
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


def _ledger_follow(
    touched: set[PersonDay], pull_id: int, why: str
) -> list[PointsEntry]:
    """Follow every person-day a recount touched: lock the people (all their
    logins), read their credits and ledger lines of those days in one query
    each, then share out and append day by day (``_day_follow``).

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
    # Lines of pull requests with credits (and of this one): a pull request
    # whose credits were never computed keeps its lines until its next event.
    followed = {
        person_day: {credit.pull_request_id for credit in credits[person_day]}
        | {pull_id}
        for person_day in touched
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
    entries = []
    for person_day in sorted(touched):
        entries += _day_follow(credits[person_day], lines[person_day], why)
    return entries


def _day_follow(
    credits: list[_CreditRow], lines: list[_EntryRow], why: str
) -> list[PointsEntry]:
    """Share one person's credits of one day under the cap, then append the
    difference between what the ledger holds and what they earn, per line key
    and moment (so a credit that moved to another time moves in the ledger too)."""
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
    entries = []
    for line in sorted(set(wanted) | set(held), key=str):
        difference = wanted.get(line, 0) - held.get(line, 0)
        if difference:
            entries.append(
                _append(line, difference, about.get(line), sample.get(line), why)
            )
    return entries


def base_key(source: str) -> str:
    """The credit a ledger line belongs to (``key``, ``key#2``…; older lines
    ended their take-backs in ``:reversed``)."""
    return source.split("#", 1)[0].removesuffix(":reversed")


def _append(
    line: tuple,
    points: int,
    credit: _CreditRow | None,
    earlier: _EntryRow | None,
    why: str,
) -> PointsEntry:
    identity_id, rule_id, key, earned_at = line
    model = credit or earlier  # a line comes from one or the other
    taken = (
        PointsEntry.objects.filter(identity_id=identity_id, rule_id=rule_id)
        .filter(Q(source=key) | Q(source__startswith=f"{key}#"))
        .count()
    )
    if points > 0 and credit is not None:
        reason = credit.reason
    elif credit is not None:
        reason = OVER_CAP
    else:
        rule_key = PointsRule.objects.values_list("key", flat=True).get(pk=rule_id)
        reason = why or TAKEN_BACK.get(rule_key, "no longer earned")
    entry = PointsEntry(
        identity_id=identity_id,
        rule_id=rule_id,
        rule_version=model.rule_version,
        points=points,
        reason=reason[:200],
        source=key if not taken else f"{key}#{taken + 1}",
        pull_request_id=model.pull_request_id,
        repository_id=model.repository_id,
        earned_at=earned_at,
    )
    entry.save()
    return entry


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
