"""Kudos (README "Kudos"): authors mark reviews of their pull requests as
helpful, and teammates thank each other within a small weekly budget.

A helpful mark is a fact about the pull request: the reviewer's bonus is one of
its credits (``rewards.credits._helpful_credits``), so marking, unmarking and
replays all end in the same ledger. Peer kudos are paid once, as a ledger
line of the team (source ``kudos:<id>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from integrations.models import Organization, OrganizationMembership
from reviews.bots import is_bot_login
from reviews.models import Member, ProviderIdentity, Review
from rewards.models import Kudos, PointsEntry
from rewards.services import paying_identities, points_reconcile, rule_get

PEER_PER_WEEK = 3
THANKABLE_DAYS = 30


class KudosError(ValueError):
    """Kudos that cannot be given as asked (the message says why)."""


class NotTheAuthorError(KudosError):
    """Only a pull request's author marks its reviews helpful (a 403)."""


class BudgetSpentError(KudosError):
    """The week's peer kudos are given (a 409)."""


def _member_of(user: Any) -> Member:
    member = getattr(user, "member", None)
    if member is None:
        raise KudosError("connect GitHub or GitLab first: kudos go between people")
    return member


def _logins(member: Member) -> set[tuple[str, str, str]]:
    return set(member.identities.values_list("provider", "host", "login"))


def reviews_visible_to(user: Any) -> QuerySet[Review]:
    reviews = Review.objects.select_related("pull_request__repository")
    if user.is_superuser:
        return reviews
    return reviews.filter(
        pull_request__repository__organization__memberships__user=user
    )


@transaction.atomic
def helpful_mark(*, user: Any, review: Review, helpful: bool = True) -> Kudos | None:
    """The pull request's author marks (or unmarks) a review as helpful; the
    pull request's credits follow at once."""
    member = _member_of(user)
    pull = review.pull_request
    site = (pull.repository.provider, pull.repository.host)
    mine = _logins(member)
    if (*site, pull.author_login) not in mine:
        raise NotTheAuthorError(
            "only the pull request's author marks its reviews helpful"
        )
    if (*site, review.reviewer_login) in mine or is_bot_login(review.reviewer_login):
        raise KudosError("mark a review by someone else, not a bot")
    if pull.repository.organization_id is None:
        raise KudosError("the repository belongs to no team")
    kudos = None
    if helpful:
        kudos, _ = Kudos.objects.get_or_create(
            giver=member,
            review=review,
            defaults={
                "kind": Kudos.Kind.HELPFUL,
                "organization_id": pull.repository.organization_id,
                "receiver": _person_of(site, review.reviewer_login),
            },
        )
    else:
        Kudos.objects.filter(giver=member, review=review).delete()
    points_reconcile(pull_request=pull)
    return kudos


def _person_of(site: tuple[str, str], login: str) -> Member | None:
    identity = (
        ProviderIdentity.objects.filter(provider=site[0], host=site[1], login=login)
        .select_related("member")
        .first()
    )
    return identity.member if identity else None


def peer_budget_left(*, member: Member, organization: Organization) -> int:
    since = timezone.now() - timedelta(days=7)
    given = Kudos.objects.filter(
        giver=member,
        organization=organization,
        kind=Kudos.Kind.PEER,
        created_at__gte=since,
    ).count()
    return max(PEER_PER_WEEK - given, 0)


@transaction.atomic
def peer_kudos_give(
    *, user: Any, organization: Organization, receiver: Member, message: str
) -> Kudos:
    """Thank a teammate: at most three in any seven days per person and team,
    paid to them once (rule ``kudos``)."""
    giver = _member_of(user)
    list(Member.objects.select_for_update().filter(pk=giver.pk).values_list("pk"))
    if receiver.pk == giver.pk:
        raise KudosError("kudos go to someone else")
    teammates = OrganizationMembership.objects.filter(organization=organization)
    if not teammates.filter(user_id=receiver.user_id).exists() or not (
        teammates.filter(user=user).exists() or user.is_superuser
    ):
        raise KudosError(f"kudos go to people of {organization.name}")
    if not peer_budget_left(member=giver, organization=organization):
        raise BudgetSpentError(
            f"you gave {PEER_PER_WEEK} kudos in the last seven days; more later"
        )
    payee = paying_identities([receiver.pk]).get(receiver.pk)
    if payee is None:
        raise KudosError(f"{receiver} has no code host login to be paid on yet")
    kudos = Kudos.objects.create(
        organization=organization,
        kind=Kudos.Kind.PEER,
        giver=giver,
        receiver=receiver,
        message=message,
    )
    rule = rule_get("kudos")
    PointsEntry.objects.create(
        identity_id=payee,
        rule=rule,
        rule_version=rule.version,
        points=rule.points,
        reason=f"kudos from {giver}: {message}"[:200],
        source=f"kudos:{kudos.pk}",
        organization=organization,
        earned_at=kudos.created_at,
    )
    return kudos


@dataclass(frozen=True)
class Thankable:
    review: Review
    helpful: bool


def reviews_to_thank(*, user: Any) -> list[Thankable]:
    """Reviews by others (not bots) of the person's pull requests in the last
    30 days, newest first, each with whether they marked it helpful."""
    member = getattr(user, "member", None)
    if member is None:
        return []
    mine = Q()
    for provider, host, login in _logins(member):
        mine |= Q(
            pull_request__repository__provider=provider,
            pull_request__repository__host=host,
            pull_request__author_login=login,
        )
    if not mine:
        return []
    reviews = list(
        reviews_visible_to(user)
        .filter(mine, submitted_at__gte=timezone.now() - timedelta(days=THANKABLE_DAYS))
        .exclude(state="dismissed")
        .order_by("-submitted_at", "-pk")[:50]
    )
    marked = set(
        Kudos.objects.filter(giver=member, review__in=reviews).values_list(
            "review_id", flat=True
        )
    )
    logins = {login for _, _, login in _logins(member)}
    return [
        Thankable(review, review.pk in marked)
        for review in reviews
        if review.reviewer_login not in logins
        and not is_bot_login(review.reviewer_login)
    ]


def kudos_visible_to(*, user: Any) -> QuerySet[Kudos]:
    """Kudos the person gave or received; a team's kudos are not a public
    feed."""
    member = getattr(user, "member", None)
    if member is None:
        return Kudos.objects.none()
    return (
        Kudos.objects.filter(Q(giver=member) | Q(receiver=member))
        .select_related(
            "giver__user",
            "receiver__user",
            "organization",
            "review__pull_request__repository",
        )
        .order_by("-created_at", "-pk")
    )
