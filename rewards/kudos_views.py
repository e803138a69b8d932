"""Dashboard page: thank reviewers and teammates (README "Kudos")."""

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
from reviews.models import Member
from rewards import kudos


class PeerKudosForm(forms.Form):
    to = forms.ModelChoiceField(queryset=Member.objects.none(), label="Teammate")
    message = forms.CharField(max_length=200, label="What for")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        member = getattr(user, "member", None)
        self.fields["to"].queryset = (
            Member.objects.filter(
                user__memberships__organization__memberships__user=user,
                identities__isnull=False,
            )
            .exclude(pk=getattr(member, "pk", None))
            .select_related("user")
            .distinct()
            .order_by("user__username")
        )
        self.fields["to"].label_from_instance = lambda person: (
            person.user.get_username() if person.user else person.display_name
        )


@login_required
def kudos_view(request: HttpRequest) -> HttpResponse:
    member = getattr(request.user, "member", None)
    teams = Organization.objects.filter(memberships__user=request.user)
    return render(
        request,
        "dashboard/kudos.html",
        {
            "thankable": kudos.reviews_to_thank(user=request.user),
            "given_and_received": list(kudos.kudos_visible_to(user=request.user)[:50]),
            "member": member,
            "form": PeerKudosForm(user=request.user),
            "budgets": [
                (team, kudos.peer_budget_left(member=member, organization=team))
                for team in teams
            ]
            if member
            else [],
            "per_week": kudos.PEER_PER_WEEK,
            "section": "kudos",
        },
    )


@login_required
@require_POST
def kudos_give_view(request: HttpRequest) -> HttpResponse:
    form = PeerKudosForm(request.POST, user=request.user)
    if not form.is_valid():
        errors = errors_line(form)
        messages.error(request, f"No kudos sent ({errors}).")
        return HttpResponseRedirect(reverse("dashboard-kudos"))
    receiver = form.cleaned_data["to"]
    team = (
        Organization.objects.filter(memberships__user=request.user)
        .filter(memberships__user_id=receiver.user_id)
        .order_by("name")
        .first()
    )
    try:
        if team is None:
            raise kudos.KudosError("you share no team")
        kudos.peer_kudos_give(
            user=request.user,
            organization=team,
            receiver=receiver,
            message=form.cleaned_data["message"],
        )
    except kudos.KudosError as exc:
        messages.error(request, f"No kudos sent: {exc}.")
    else:
        messages.success(request, f"Kudos sent to {receiver}.")
    return HttpResponseRedirect(reverse("dashboard-kudos"))


@login_required
@require_POST
def helpful_view(request: HttpRequest, review_id: int) -> HttpResponse:
    review = (
        kudos.reviews_visible_to(request.user).filter(pk=review_id).first()
        if review_id <= MAX_ID
        else None
    )
    if review is None:
        raise Http404("no such review")
    helpful = request.POST.get("helpful") != "0"
    try:
        kudos.helpful_mark(user=request.user, review=review, helpful=helpful)
    except kudos.KudosError as exc:
        messages.error(request, f"Not marked: {exc}.")
    else:
        messages.success(
            request,
            f"Marked {review.reviewer_login}'s review helpful: thank you."
            if helpful
            else f"Took back the mark on {review.reviewer_login}'s review.",
        )
    return HttpResponseRedirect(reverse("dashboard-kudos"))
