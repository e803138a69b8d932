"""Dashboard pages: spend points on a team's rewards; team admins keep the
catalogue and decide redemptions (README "Rewards")."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from codequest.api import MAX_ID
from codequest.forms import errors_line
from integrations.models import Organization
from integrations.selectors import organizations_administered, organizations_of
from reviews.views import team_param
from rewards import spending
from rewards.models import Redemption


class RewardForm(forms.Form):
    name = forms.CharField(max_length=100)
    cost = forms.IntegerField(min_value=1, max_value=10_000_000, label="Cost (points)")
    stock = forms.IntegerField(
        min_value=0,
        max_value=1_000_000,
        required=False,
        help_text="Leave empty for no limit.",
    )
    description = forms.CharField(max_length=300, required=False)


@login_required
def rewards_view(request: HttpRequest) -> HttpResponse:
    teams = organizations_of(request.user)
    team = team_param(request, teams) or (teams[0][0] if teams else "")
    organization = Organization.objects.filter(slug=team).first() if team else None
    member = getattr(request.user, "member", None)
    context: dict = {"teams": teams, "team": team, "section": "rewards"}
    if organization is not None:
        is_admin = (
            organizations_administered(request.user).filter(pk=organization.pk).exists()
        )
        redemptions = spending.redemptions_visible_to(request.user).filter(
            organization=organization
        )
        balance = (
            spending.balance_of(member=member, organization=organization)
            if member
            else None
        )
        catalogue = list(
            spending.rewards_visible_to(request.user).filter(
                organization=organization, is_active=True
            )
        )
        for reward in catalogue:  # what the person still lacks for it
            reward.short_by = max(
                reward.cost - (balance.available if balance else 0), 0
            )
        context.update(
            organization=organization,
            is_admin=is_admin,
            balance=balance,
            catalogue=catalogue,
            mine=list(redemptions.filter(member=member)[:50]) if member else [],
            waiting=list(
                redemptions.filter(status=Redemption.Status.PENDING).order_by(
                    "created_at", "pk"
                )[:100]
            )
            if is_admin
            else [],
            form=RewardForm(),
        )
    return render(request, "dashboard/rewards.html", context)


@login_required
@require_POST
def reward_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    organization = Organization.objects.filter(
        slug=slug, memberships__user=request.user
    ).first()
    if organization is None:
        raise Http404("no such team")
    form = RewardForm(request.POST)
    if not form.is_valid():
        errors = errors_line(form)
        messages.error(request, f"The reward was not added ({errors}).")
        return _back(organization.slug)
    try:
        reward = spending.reward_create(
            user=request.user, organization=organization, **form.cleaned_data
        )
    except spending.NotTeamAdminError as exc:
        messages.error(request, f"The reward was not added: {exc}.")
    except spending.SpendError as exc:
        messages.error(request, f"The reward was not added: {exc}.")
    else:
        messages.success(request, f"{reward.name} is in the catalogue.")
    return _back(organization.slug)


@login_required
@require_POST
def reward_action_view(
    request: HttpRequest, reward_id: int, action: str
) -> HttpResponse:
    reward = (
        spending.rewards_visible_to(request.user).filter(pk=reward_id).first()
        if reward_id <= MAX_ID
        else None
    )
    if reward is None or action not in ("redeem", "withdraw"):
        raise Http404("no such reward")
    try:
        if action == "withdraw":
            spending.reward_withdraw(user=request.user, reward=reward)
            messages.success(request, f"{reward.name} is no longer offered.")
        else:
            spending.redemption_request(user=request.user, reward=reward)
            messages.success(
                request,
                f"You asked for {reward.name}: {reward.cost} points are held until "
                "a team admin approves.",
            )
    except (spending.SpendError, spending.NotTeamAdminError) as exc:
        messages.error(request, f"Not done: {exc}.")
    return _back(reward.organization.slug)


DECISIONS = {
    "approve": (spending.redemption_approve, "Approved"),
    "decline": (spending.redemption_decline, "Declined"),
    "cancel": (spending.redemption_decline, "Cancelled"),
}


@login_required
@require_POST
def redemption_decide_view(
    request: HttpRequest, redemption_id: int, action: str
) -> HttpResponse:
    redemption = (
        spending.redemptions_visible_to(request.user).filter(pk=redemption_id).first()
        if redemption_id <= MAX_ID
        else None
    )
    if redemption is None or action not in DECISIONS:
        raise Http404("no such redemption")
    service, done = DECISIONS[action]
    try:
        service(user=request.user, redemption=redemption)
    except (spending.SpendError, spending.NotTeamAdminError) as exc:
        messages.error(request, f"Not done: {exc}.")
    else:
        messages.success(
            request, f"{done}: {redemption.reward.name} for {redemption.member}."
        )
    return _back(redemption.organization.slug)


def _back(slug: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse('dashboard-rewards')}?team={slug}")
