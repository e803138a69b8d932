"""Read-side queries for pull requests and reviews, team-scoped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.providers.cache import cache_get
from integrations.selectors import repositories_visible_to
from reviews.assignment.explanations import reasons_for
from reviews.bots import is_bot_login
from reviews.business_time import business_hours_between, working_day_of
from reviews.models import (
    Comment,
    ForcePush,
    Issue,
    ProviderIdentity,
    PullRequest,
    Review,
    ReviewAssignment,
    ReviewRequest,
    ReviewState,
)


def _scoped(queryset: QuerySet, user: Any, prefix: str) -> QuerySet:
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{prefix}__in": repositories_visible_to(user)})


def pull_request_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[PullRequest]:
    queryset = _scoped(
        PullRequest.objects.select_related("repository"), user, "repository"
    )
    lookups = {
        "provider": "repository__provider",
        "repository": "repository__full_name",
        "number": "number",
        "state": "state",
        "author": "author_login",
    }
    for name, lookup in lookups.items():
        if name in filters:
            queryset = queryset.filter(**{lookup: filters[name]})
    return queryset.order_by("-provider_updated_at", "-id")


def review_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[Review]:
    comments = (
        Comment.objects.filter(
            pull_request=OuterRef("pull_request"),
            review_external_id=OuterRef("external_id"),
            is_deleted=False,
        )
        .order_by()
        .values("pull_request")
        .annotate(total=Count("id"))
        .values("total")
    )
    queryset = _scoped(
        Review.objects.select_related("pull_request__repository"),
        user,
        "pull_request__repository",
    ).annotate(
        comment_count=Coalesce(Subquery(comments, output_field=IntegerField()), 0)
    )
    lookups = {
        "provider": "pull_request__repository__provider",
        "repository": "pull_request__repository__full_name",
        "number": "pull_request__number",
        "reviewer": "reviewer_login",
        "state": "state",
    }
    for name, lookup in lookups.items():
        if name in filters:
            queryset = queryset.filter(**{lookup: filters[name]})
    return queryset.order_by("-submitted_at", "-id")


def member_label(identity: ProviderIdentity) -> str:
    """The person behind a login: their username once linked, else provider:login."""
    member = identity.member
    if member is not None and member.user is not None:
        return member.user.get_username()
    if member is not None:
        return member.display_name
    return f"{identity.provider}:{identity.login}"


@dataclass(frozen=True)
class QueueItem:
    """One pull request waiting for the person's review."""

    pull_request: PullRequest
    login: str
    requested_at: datetime
    waited_hours: float
    sla_hours: int
    is_reminded: bool
    why: tuple[str, ...]
    # The issues its description closes that we know of (others by number).
    closes: tuple[Any, ...] = ()
    # Asked of a team the person is in, not of them by name: the first of the
    # team who answers takes it.
    team: str = ""

    @property
    def is_overdue(self) -> bool:
        return self.waited_hours >= self.sla_hours

    @property
    def sla_share(self) -> int:
        """How much of the SLA is used, in percent (capped at 100 for the bar)."""
        return min(int(100 * self.waited_hours / max(self.sla_hours, 1)), 100)

    @property
    def size(self) -> int:
        pull = self.pull_request
        return (pull.additions or 0) + (pull.deletions or 0)


def my_identities(user: Any) -> list[ProviderIdentity]:
    """The provider logins linked to this person (empty until one is linked)."""
    return list(
        ProviderIdentity.objects.filter(member__user=user).select_related(
            "reviewer_profile"
        )
    )


def look_alikes(
    *, user: Any, identities: list[ProviderIdentity]
) -> list[ProviderIdentity]:
    """Logins nobody linked that look like this person: the same login as one
    of theirs, on a code host they have not linked, with work in their teams'
    repositories. Offered to them to link by connecting that host (which
    proves the login is theirs); never linked on a claim. One query."""
    if not identities:
        return []
    linked_sites = {(identity.provider, identity.host) for identity in identities}
    same_login = Q()
    for identity in identities:
        same_login |= Q(login__iexact=identity.login)
    repositories = repositories_visible_to(user)
    reviewed = Review.objects.filter(
        reviewer_login__iexact=OuterRef("login"),
        pull_request__repository__in=repositories,
        pull_request__repository__provider=OuterRef("provider"),
        pull_request__repository__host=OuterRef("host"),
    )
    authored = PullRequest.objects.filter(
        author_login__iexact=OuterRef("login"),
        repository__in=repositories,
        repository__provider=OuterRef("provider"),
        repository__host=OuterRef("host"),
    )
    found = (
        ProviderIdentity.objects.filter(same_login, member__isnull=True)
        .filter(Exists(reviewed) | Exists(authored))
        .order_by("provider", "host", "login")
    )
    return [
        identity
        for identity in found[:20]
        if (identity.provider, identity.host) not in linked_sites
    ]


def review_queue(
    *, user: Any, identities: list[ProviderIdentity], now: datetime | None = None
) -> list[QueueItem]:
    """Open pull requests waiting for this person's review, oldest request first.

    Two queries whatever the length: the requests (with their pull request,
    repository and review settings) and the assignments that explain them.
    """
    if not identities:
        return []
    now = now or timezone.now()
    by_login = Q()
    for identity in identities:
        by_login |= Q(
            reviewer_login=identity.login,
            pull_request__repository__provider=identity.provider,
            pull_request__repository__host=identity.host,
        )
    requests = _scoped(
        ReviewRequest.objects.filter(
            by_login,
            is_active=True,
            responded_at__isnull=True,
            pull_request__state="open",
        ).select_related("pull_request__repository__review_settings"),
        user,
        "pull_request__repository",
    ).order_by("requested_at", "id")[:100]
    requests = list(requests)
    assignments: dict[int, list] = {}
    for assignment in ReviewAssignment.objects.filter(
        pull_request__in=[request.pull_request_id for request in requests]
    ).order_by("-created_at"):
        assignments.setdefault(assignment.pull_request_id, []).append(assignment)
    profiles = {identity.login: identity for identity in identities}
    team_items = _team_requests(user, identities, {r.pull_request_id for r in requests})
    closes = issues_closed_by(
        [request.pull_request for request in requests]
        + [pull for pull, _, _ in team_items]
    )
    items = []
    for request in requests:
        profile = getattr(
            profiles.get(request.reviewer_login), "reviewer_profile", None
        )
        settings_ = getattr(request.pull_request.repository, "review_settings", None)
        items.append(
            QueueItem(
                pull_request=request.pull_request,
                login=request.reviewer_login,
                requested_at=request.requested_at,
                waited_hours=business_hours_between(
                    request.requested_at, now, **working_day_of(profile)
                ),
                sla_hours=settings_.sla_hours if settings_ else 9,
                is_reminded=request.reminded_at is not None,
                why=_why(request, assignments.get(request.pull_request_id, [])),
                closes=closes.get(request.pull_request_id, ()),
            )
        )
    for pull, login, team in team_items:
        profile = getattr(profiles.get(login), "reviewer_profile", None)
        settings_ = getattr(pull.repository, "review_settings", None)
        since = pull.provider_created_at or pull.created_at
        items.append(
            QueueItem(
                pull_request=pull,
                login=login,
                requested_at=since,
                waited_hours=business_hours_between(
                    since, now, **working_day_of(profile)
                ),
                sla_hours=settings_.sla_hours if settings_ else 9,
                is_reminded=False,
                why=(
                    f"asked of {team}, a team you are in: the first to answer takes it",
                ),
                closes=closes.get(pull.pk, ()),
                team=team,
            )
        )
    items.sort(key=lambda item: (item.requested_at, item.pull_request.pk))
    return items


def _team_requests(
    user: Any, identities: list[ProviderIdentity], asked: set[int]
) -> list[tuple[PullRequest, str, str]]:
    """Open pull requests asked of a team the person is in (by the repository's
    review settings, or as the provider listed it when CodeQuest last read the
    team), that they are not asked by name and have not reviewed: two queries.
    (pull request, the person's login there, the team)."""
    logins: dict[tuple[str, str], set[str]] = {}
    for identity in identities:
        logins.setdefault((identity.provider, identity.host), set()).add(
            identity.login.lower()
        )
    pulls = list(
        _scoped(
            PullRequest.objects.filter(state="open")
            .exclude(draft=True)
            .exclude(requested_teams=[])
            .exclude(pk__in=asked)
            .select_related("repository__review_settings"),
            user,
            "repository",
        ).order_by("pk")[:200]
    )
    found = []
    for pull in pulls:
        repository = pull.repository
        mine = logins.get((repository.provider, repository.host), set())
        if not mine or (pull.author_login or "").lower() in mine:
            continue
        settings_ = getattr(repository, "review_settings", None)
        configured = settings_.teams if settings_ else {}
        owner = repository.full_name.split("/", 1)[0]
        for slug in pull.requested_teams:
            team = slug if slug.startswith("@") else f"@{owner}/{slug}"
            members = configured.get(team) or cache_get(
                f"team-members:{repository.provider}:{repository.host}:{team}",
                "team_members",
            )
            hit = mine & {str(member).lower() for member in members or ()}
            if hit:
                found.append((pull, sorted(hit)[0], team))
                break
    if not found:
        return []
    reviewed = set(
        Review.objects.filter(
            pull_request__in=[pull for pull, _, _ in found],
            reviewer_login__in=[login for _, login, _ in found],
        ).values_list("pull_request_id", "reviewer_login")
    )
    return [item for item in found if (item[0].pk, item[1]) not in reviewed]


@dataclass(frozen=True)
class ClosedIssue:
    """An issue a pull request says it closes ("fixes #12")."""

    number: int
    title: str = ""
    state: str = ""
    link: str = ""


def issues_closed_by(pulls: list[PullRequest]) -> dict[int, tuple[ClosedIssue, ...]]:
    """Per pull request, the issues its description closes, with their title
    and state where we keep the issue: one query for all of them."""
    wanted = Q()
    for pull in pulls:
        if pull.closes_issues:
            wanted |= Q(repository_id=pull.repository_id, number__in=pull.closes_issues)
    known = (
        {
            (issue.repository_id, issue.number): issue
            for issue in Issue.objects.filter(wanted).select_related("repository")
        }
        if wanted
        else {}
    )
    found: dict[int, tuple[ClosedIssue, ...]] = {}
    for pull in pulls:
        items = []
        for number in pull.closes_issues or ():
            issue = known.get((pull.repository_id, number))
            items.append(
                ClosedIssue(number, issue.title, issue.state, issue.link)
                if issue
                else ClosedIssue(number)
            )
        if items:
            found[pull.pk] = tuple(items)
    return found


def _why(request, assignments: list) -> tuple[str, ...]:
    """The stored explanation of the assignment that picked this person."""
    login = request.reviewer_login
    for assignment in assignments:
        if login not in assignment.reviewers:
            continue
        return reasons_for(assignment.explanation, login)
    return ("requested directly on the provider",)


def stale_approvals() -> Exists:
    """For a Review queryset: an approval of a commit that a force-push on the
    pull request's branch replaced ("approved an older version")."""
    return Exists(
        ForcePush.objects.filter(
            repository=OuterRef("pull_request__repository"),
            ref=OuterRef("pull_request__head_ref"),
            before_sha=OuterRef("commit_sha"),
        )
    )


def pulls_with_stale_approval() -> Exists:
    """For a PullRequest queryset: it holds an approval of a rewritten commit."""
    return Exists(
        Review.objects.filter(pull_request=OuterRef("pk"), state=ReviewState.APPROVED)
        .exclude(commit_sha="")
        .exclude(commit_sha=OuterRef("head_sha"))
        .filter(
            Exists(
                ForcePush.objects.filter(
                    repository=OuterRef(OuterRef("repository")),
                    ref=OuterRef(OuterRef("head_ref")),
                    before_sha=OuterRef("commit_sha"),
                )
            )
        )
    )


def my_stale_approvals(
    *, user: Any, identities: list[ProviderIdentity]
) -> list[Review]:
    """This person's approvals, on open pull requests, of a version a
    force-push replaced: they may want to look again. One query."""
    if not identities:
        return []
    by_login = Q()
    for identity in identities:
        by_login |= Q(
            reviewer_login=identity.login,
            pull_request__repository__provider=identity.provider,
            pull_request__repository__host=identity.host,
        )
    reviews = (
        _scoped(
            Review.objects.filter(
                by_login, state=ReviewState.APPROVED, pull_request__state="open"
            ),
            user,
            "pull_request__repository",
        )
        .exclude(commit_sha="")
        .exclude(commit_sha=F("pull_request__head_sha"))
        .filter(stale_approvals())
        .select_related("pull_request__repository")
        .order_by("-submitted_at", "-id")
    )
    return list(reviews[:50])


@dataclass(frozen=True)
class TurnItem:
    """One of the person's own pull requests that waits on them."""

    pull_request: PullRequest
    reason: str  # "changes requested", "approved: ready to merge?"


@dataclass(frozen=True, slots=True)
class Turn:
    """Why a pull request waits on its author, and what put the ball there."""

    words: str  # "changes requested: your turn"
    cause: str  # "review:12" or "comment:34": one message per cause
    by: str  # the login that asked
    at: datetime


APPROVED_WORDS = "approved: ready to merge?"
CHANGES_WORDS = "changes requested: your turn"


def author_turns(pulls: list[PullRequest]) -> dict[int, Turn]:
    """The pull requests of these that wait on their author, and why: a
    reviewer's latest verdict asks for changes; else a question in a comment
    the author has not answered since; else approved and not merged. Two
    queries, whatever the number of pull requests."""
    latest: dict[tuple[int, str], tuple[str, int, str, datetime]] = {}
    for pk, pull_id, login, state, when in (
        Review.objects.filter(pull_request__in=pulls)
        .exclude(state=ReviewState.COMMENTED)
        .order_by("submitted_at", "pk")
        .values_list("pk", "pull_request_id", "reviewer_login", "state", "submitted_at")
    ):
        latest[(pull_id, login.lower())] = (state, pk, login, when)
    verdicts: dict[int, dict[str, tuple[int, str, datetime]]] = {}
    for (pull_id, _login), (state, pk, login, when) in latest.items():
        seen = verdicts.setdefault(pull_id, {})
        if state not in seen or pk > seen[state][0]:
            seen[state] = (pk, login, when)
    questions = open_questions(pulls)
    turns = {}
    for pull in pulls:
        seen = verdicts.get(pull.pk, {})
        if ReviewState.CHANGES_REQUESTED in seen:
            pk, login, when = seen[ReviewState.CHANGES_REQUESTED]
            turns[pull.pk] = Turn(CHANGES_WORDS, f"review:{pk}", login, when)
        elif pull.pk in questions:
            turns[pull.pk] = questions[pull.pk]
        elif ReviewState.APPROVED in seen:
            pk, login, when = seen[ReviewState.APPROVED]
            turns[pull.pk] = Turn(APPROVED_WORDS, f"review:{pk}", login, when)
    return turns


def open_questions(pulls: list[PullRequest]) -> dict[int, Turn]:
    """Per pull request, the latest question someone else asked in a comment
    that its author has not answered with a comment since (bots' comments and
    resolved threads do not ask). One query."""
    authors = {pull.pk: pull.author_login.lower() for pull in pulls}
    found: dict[int, Turn] = {}
    for pk, pull_id, login, body, when, resolved in (
        Comment.objects.filter(pull_request__in=pulls, is_deleted=False)
        .order_by("provider_created_at", "pk")
        .values_list(
            "pk",
            "pull_request_id",
            "author_login",
            "body",
            "provider_created_at",
            "is_resolved",
        )
    ):
        if login.lower() == authors[pull_id]:
            found.pop(pull_id, None)  # the author answered
        elif not resolved and not is_bot_login(login) and asks(body):
            found[pull_id] = Turn(
                f"a question from @{login}: your turn", f"comment:{pk}", login, when
            )
    return found


_FENCE = re.compile(r"^\s*(```|~~~)")


def asks(body: str) -> bool:
    """A comment asks something: a line of its own text (not quoted, not code,
    not a command) ends with a question mark."""
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        text = re.sub(r"`[^`]*`", "", line).strip()
        if fenced or text.startswith((">", "/")):
            continue
        if text.rstrip(" )*_").endswith("?"):
            return True
    return False


@dataclass(frozen=True)
class MyPull:
    """One of the person's own open pull requests, and who the ball is with
    (its attention set): the author, for ``turn``; else the people and teams
    asked who have not answered."""

    pull_request: PullRequest
    turn: str  # why it waits on the author, or ""
    waiting_on: tuple[str, ...]  # "@login" or "team <slug>"

    @property
    def with_author(self) -> bool:
        return bool(self.turn)


def my_pulls(*, user: Any, identities: list[ProviderIdentity]) -> list[MyPull]:
    """The person's own open pull requests (any of their linked logins), oldest
    first, each with who it waits on. Four queries."""
    if not identities:
        return []
    mine = Q()
    for identity in identities:
        mine |= Q(
            author_login__iexact=identity.login,
            repository__provider=identity.provider,
            repository__host=identity.host,
        )
    pulls = list(
        _scoped(
            PullRequest.objects.filter(mine, state="open").select_related("repository"),
            user,
            "repository",
        ).order_by("provider_created_at", "pk")[:50]
    )
    turns = author_turns(pulls)
    asked: dict[int, list[str]] = {}
    for pull_id, login in (
        ReviewRequest.objects.filter(
            pull_request__in=pulls, is_active=True, responded_at__isnull=True
        )
        .order_by("requested_at", "pk")
        .values_list("pull_request_id", "reviewer_login")
    ):
        asked.setdefault(pull_id, []).append(f"@{login}")
    return [
        MyPull(
            pull,
            turns[pull.pk].words if pull.pk in turns else "",
            tuple(
                asked.get(pull.pk, [])
                + [f"team {team}" for team in pull.requested_teams or ()]
            ),
        )
        for pull in pulls
    ]


def my_turn(*, user: Any, identities: list[ProviderIdentity]) -> list[TurnItem]:
    """The person's own open pull requests where the ball is with them: a
    reviewer asked for changes, someone asked a question, or it is approved
    and not merged."""
    return [
        TurnItem(item.pull_request, item.turn)
        for item in my_pulls(user=user, identities=identities)
        if item.with_author
    ]
