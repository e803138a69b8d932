"""Dashboard page: the team's quests with progress bars; team admins start
one from the library (README "Quests")."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from codequest.forms import errors_line
from integrations.models import Organization
from integrations.selectors import organizations_administered, organizations_of
from reviews.views import team_param
from rewards import quests


class QuestForm(forms.Form):
    template = forms.ChoiceField(
        choices=[
            (template.key, template.default_title)
            for template in quests.TEMPLATES.values()
        ]
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=quests.MAX_DAYS,
        required=False,
        help_text="Empty: the template's.",
    )
    points = forms.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        help_text="Paid to each person. Empty: the template's.",
    )
    count = forms.IntegerField(
        required=False,
        help_text="How many pull requests or times. Empty: the template's; "
        "each setting applies only to templates that have it.",
    )
    hours = forms.IntegerField(required=False, help_text="Business hours.")
    lines = forms.IntegerField(required=False, help_text="Changed lines.")
    reviewers = forms.IntegerField(required=False, help_text="Reviewers each.")

    def params(self) -> dict[str, int]:
        template = quests.TEMPLATES[self.cleaned_data["template"]]
        return {
            setting.name: self.cleaned_data[setting.name]
            for setting in template.settings
            if self.cleaned_data.get(setting.name) is not None
        }


@login_required
def quests_view(request: HttpRequest) -> HttpResponse:
    teams = organizations_of(request.user)
    team = team_param(request, teams) or (teams[0][0] if teams else "")
    organization = Organization.objects.filter(slug=team).first() if team else None
    views = quests.quests_visible_to(user=request.user, team=team) if team else []
    is_admin = (
        organization is not None
        and organizations_administered(request.user).filter(pk=organization.pk).exists()
    )
    return render(
        request,
        "dashboard/quests.html",
        {
            "teams": teams,
            "team": team,
            "organization": organization,
            "current": [view for view in views if view.quest.settled_at is None],
            "past": [view for view in views if view.quest.settled_at is not None][:20],
            "is_admin": is_admin,
            "form": QuestForm() if is_admin else None,
            "templates": list(quests.TEMPLATES.values()),
            "section": "quests",
        },
    )


@login_required
@require_POST
def quest_start_view(request: HttpRequest, slug: str) -> HttpResponse:
    organization = organizations_administered(request.user).filter(slug=slug).first()
    if organization is None:
        raise Http404("no team of yours to start quests in")
    form = QuestForm(request.POST)
    if not form.is_valid():
        errors = errors_line(form)
        messages.error(request, f"The quest was not started ({errors}).")
    else:
        try:
            quest = quests.quest_start(
                user=request.user,
                organization=organization,
                template=form.cleaned_data["template"],
                params=form.params(),
                days=form.cleaned_data["days"],
                points=form.cleaned_data["points"],
            )
        except quests.QuestError as exc:
            messages.error(request, f"The quest was not started: {exc}.")
        else:
            messages.success(request, f"Started: {quest.title}.")
    return HttpResponseRedirect(f"{reverse('dashboard-quests')}?team={slug}")
