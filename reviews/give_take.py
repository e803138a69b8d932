"""Give and take (README "Badges and levels"): review work a person gave
against what they received over the last 90 days, each pull request weighted
by its size (1 + changed lines / 100, at most 11). Private to the person on
their profile; it also breaks ties in reviewer assignment, before the
alphabet: among equally good candidates, whoever received more than they gave
is asked first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from reviews.models import PullRequest, Review

WINDOW = timedelta(days=90)
Login = tuple[str, str, str]  # provider, host, login (lowercased)


def size_weight(additions: int | None, deletions: int | None) -> float:
    return min(1 + ((additions or 0) + (deletions or 0)) / 100, 11.0)


@dataclass(frozen=True, slots=True)
class GiveTake:
    given: float = 0.0  # size-weighted pull requests reviewed for others
    received: float = 0.0  # size-weighted reviews others gave one's own
    reviews_given: int = 0
    reviews_received: int = 0

    @property
    def balance(self) -> float:
        return round(self.given - self.received, 1)

    def __add__(self, other: GiveTake) -> GiveTake:
        return GiveTake(
            round(self.given + other.given, 1),
            round(self.received + other.received, 1),
            self.reviews_given + other.reviews_given,
            self.reviews_received + other.reviews_received,
        )


def give_take(
    logins: set[Login], *, now: datetime | None = None
) -> dict[Login, GiveTake]:
    """Per login: two queries, whatever their number."""
    logins = {(provider, host, login.lower()) for provider, host, login in logins}
    if not logins:
        return {}
    since = (now or timezone.now()) - WINDOW
    reviewed, authored = Q(), Q()
    for provider, host, login in logins:
        reviewed |= Q(
            pull_request__repository__provider=provider,
            pull_request__repository__host=host,
            reviewer=login,
        )
        authored |= Q(
            repository__provider=provider, repository__host=host, author=login
        )
    given: dict[Login, list[float]] = defaultdict(list)
    for _pull, provider, host, login, additions, deletions in (
        Review.objects.annotate(reviewer=Lower("reviewer_login"))
        .filter(reviewed, submitted_at__gte=since)
        .exclude(reviewer_login=F("pull_request__author_login"))
        .values_list(
            "pull_request_id",  # one per pull request reviewed, however often
            "pull_request__repository__provider",
            "pull_request__repository__host",
            "reviewer",
            "pull_request__additions",
            "pull_request__deletions",
        )
        .distinct()
        .order_by()
    ):
        given[(provider, host, login)].append(size_weight(additions, deletions))
    received: dict[Login, GiveTake] = defaultdict(GiveTake)
    for provider, host, author, additions, deletions, reviewers in (
        PullRequest.objects.annotate(author=Lower("author_login"))
        .filter(authored, provider_created_at__gte=since)
        .annotate(
            reviewers=Count(
                "reviews__reviewer_login",
                distinct=True,
                filter=~Q(reviews__reviewer_login=F("author_login"))
                & ~Q(reviews__reviewer_login__endswith="[bot]"),
            )
        )
        .values_list(
            "repository__provider",
            "repository__host",
            "author",
            "additions",
            "deletions",
            "reviewers",
        )
    ):
        received[(provider, host, author)] += GiveTake(
            received=reviewers * size_weight(additions, deletions),
            reviews_received=reviewers,
        )
    return {
        login: GiveTake(
            given=round(sum(given.get(login, [])), 1),
            reviews_given=len(given.get(login, [])),
        )
        + received.get(login, GiveTake())
        for login in logins
    }
