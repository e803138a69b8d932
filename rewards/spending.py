"""Rewards to spend: a team's catalogue, redemptions and the spending ledger.

A person's spendable balance in a team is the confirmed points they earned
there, less what they spent there (``SpendEntry`` debits), less what waits for
approval; a season that resets balances starts the count again at its start.
Leaderboards, levels and lifetime totals never go down when someone spends:
they read the points ledger only. README "Rewards".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from integrations.models import Organization
from integrations.selectors import organizations_administered
from reviews.models import Member
from rewards.models import Redemption, Reward, Season, SpendEntry
from rewards.selectors import confirmed_points, of_team


class SpendError(Exception):
    """A redemption that cannot happen now (a 409: the state says no)."""


class NotTeamAdminError(PermissionError):
    """Only the team's admins make this change (a 403)."""


@dataclass(frozen=True)
class Balance:
    earned: int  # confirmed points earned in the team since ``since``
    spent: int  # approved redemptions since ``since`` (a positive number)
    held: int  # redemptions waiting for approval
    since: datetime | None  # the start of the last season that reset balances

    @property
    def available(self) -> int:
        return self.earned - self.spent - self.held


def balance_of(*, member: Member, organization: Organization) -> Balance:
    """What the person may spend in the team now: four queries."""
    since = balances_reset_at(organization)
    spent = SpendEntry.objects.filter(member=member, organization=organization)
    if since is not None:
        spent = spent.filter(created_at__gte=since)
    held = Redemption.objects.filter(
        member=member, organization=organization, status=Redemption.Status.PENDING
    ).aggregate(total=Sum("cost"))["total"]
    return Balance(
        earned=confirmed_points(
            scope=of_team(organization) & Q(identity__member=member), since=since
        ),
        spent=-(spent.aggregate(total=Sum("points"))["total"] or 0),
        held=held or 0,
        since=since,
    )


def balances_reset_at(organization: Organization) -> datetime | None:
    """The start of the team's latest season that reset balances, if any began."""
    return (
        Season.objects.filter(
            organization=organization,
            resets_balances=True,
            starts_at__lte=timezone.now(),
        )
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )


# --- the catalogue ----------------------------------------------------------------


def rewards_visible_to(user: Any) -> QuerySet[Reward]:
    rewards = Reward.objects.select_related("organization")
    if user.is_superuser:
        return rewards
    return rewards.filter(organization__memberships__user=user)


def reward_create(
    *,
    user: Any,
    organization: Organization,
    name: str,
    cost: int,
    stock: int | None,
    description: str = "",
) -> Reward:
    """A team admin adds a reward to the team's catalogue."""
    _require_admin(user, organization)
    if Reward.objects.filter(
        organization=organization, name=name, is_active=True
    ).exists():
        raise SpendError(f"the catalogue already offers {name!r}")
    return Reward.objects.create(
        organization=organization,
        name=name,
        cost=cost,
        stock=stock,
        description=description,
        created_by=user if user.is_authenticated else None,
    )


def reward_withdraw(*, user: Any, reward: Reward) -> None:
    """Stop offering a reward; its redemptions stay as they are."""
    _require_admin(user, reward.organization)
    Reward.objects.filter(pk=reward.pk).update(is_active=False)


# --- redemptions --------------------------------------------------------------------


def redemptions_visible_to(user: Any) -> QuerySet[Redemption]:
    """One's own redemptions, and every one of the teams one administers."""
    redemptions = Redemption.objects.select_related(
        "reward", "organization", "member__user", "decided_by"
    )
    if user.is_superuser:
        return redemptions
    member = getattr(user, "member", None)
    return redemptions.filter(
        Q(member_id=member.pk if member else None)
        | Q(organization__in=organizations_administered(user))
    )


@transaction.atomic
def redemption_request(*, user: Any, reward: Reward) -> Redemption:
    """The person asks for a reward: its points are held and one item of stock
    is set aside until a team admin decides."""
    member = getattr(user, "member", None)
    if member is None:
        raise SpendError("connect GitHub or GitLab first: points come from reviews")
    _lock_person(member)
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    if not reward.is_active:
        raise SpendError(f"{reward.name} is no longer offered")
    if reward.stock == 0:
        raise SpendError(f"{reward.name} is out of stock")
    balance = balance_of(member=member, organization=reward.organization)
    if balance.available < reward.cost:
        raise SpendError(
            f"{reward.name} costs {reward.cost} points; you have "
            f"{max(balance.available, 0)} to spend in {reward.organization.name}"
        )
    if reward.stock is not None:
        Reward.objects.filter(pk=reward.pk).update(stock=F("stock") - 1)
    return Redemption.objects.create(
        reward=reward,
        organization=reward.organization,
        member=member,
        cost=reward.cost,
    )


@transaction.atomic
def redemption_approve(*, user: Any, redemption: Redemption) -> Redemption:
    """A team admin approves (another admin when it is their own request):
    the debit line is written, once."""
    _require_admin(user, redemption.organization)
    if redemption.member.user_id == user.pk and not user.is_superuser:
        raise NotTeamAdminError(
            "another of the team's admins approves your own request"
        )
    redemption = _pending_locked(redemption)
    _lock_person(redemption.member)
    balance = balance_of(member=redemption.member, organization=redemption.organization)
    # The held points include this redemption's own.
    if balance.available < 0:
        raise SpendError(
            f"{redemption.member} no longer has {redemption.cost} points to spend "
            "(points were taken back since they asked); decline it instead"
        )
    _decide(redemption, Redemption.Status.APPROVED, user)
    SpendEntry.objects.create(
        member=redemption.member,
        organization=redemption.organization,
        points=-redemption.cost,
        reason=f"redeemed {redemption.reward.name}"[:200],
        redemption=redemption,
    )
    return redemption


@transaction.atomic
def redemption_decline(*, user: Any, redemption: Redemption) -> Redemption:
    """A team admin declines, or the person cancels their own: the points
    are free again and the item goes back into stock."""
    is_own = redemption.member.user_id == getattr(user, "pk", None)
    if not is_own:
        _require_admin(user, redemption.organization)
    redemption = _pending_locked(redemption)
    status = Redemption.Status.CANCELLED if is_own else Redemption.Status.DECLINED
    _decide(redemption, status, user)
    Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(
        stock=F("stock") + 1
    )
    return redemption


def _pending_locked(redemption: Redemption) -> Redemption:
    locked = (
        Redemption.objects.select_for_update(of=("self",))
        .select_related("reward", "organization", "member__user")
        .get(pk=redemption.pk)
    )
    if locked.status != Redemption.Status.PENDING:
        raise SpendError(f"this redemption is already {locked.status}")
    return locked


def _decide(redemption: Redemption, status: str, user: Any) -> None:
    redemption.status = status
    redemption.decided_by = user
    redemption.decided_at = timezone.now()
    redemption.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])


def _lock_person(member: Member) -> None:
    """One person's spending is serialized: two requests never spend the same
    points twice."""
    list(Member.objects.select_for_update().filter(pk=member.pk).values_list("pk"))


def _require_admin(user: Any, organization: Organization) -> None:
    if not organizations_administered(user).filter(pk=organization.pk).exists():
        raise NotTeamAdminError(f"only the admins of {organization.name} do this")
