"""After "Connect GitHub/GitLab": pick the repositories to connect, watch them
connect. The list comes from the person's own connection; only repositories
they administer can be chosen, for a team they administer."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse

from integrations import selectors
from integrations.credentials import oauth_connection
from integrations.models import RepositoryConnectJob
from integrations.providers import PROVIDERS
from integrations.providers.base import ProviderError
from integrations.services import picker
from integrations.services.teams import TeamError, team_create

PER_PAGE = 25


@login_required
def repository_pick_view(request: HttpRequest, provider: str) -> HttpResponse:
    adapter = PROVIDERS.get(provider)
    if adapter is None:
        raise Http404("no such provider")
    credential = oauth_connection(user=request.user, provider=provider)
    if credential is None:
        messages.info(
            request, f"Connect {adapter.name} first: the list comes from your account."
        )
        return redirect("dashboard")
    teams = selectors.organizations_administered(request.user).order_by("name")
    if request.method == "POST":
        return _start(request, provider, credential, teams)
    query = request.GET.get("q", "")[:100]
    try:
        rows = picker.choices_list(
            credential=credential, query=query, fresh="refresh" in request.GET
        )
        error = ""
    except ProviderError as exc:
        rows, error = [], f"{adapter.name} did not list your repositories: {exc}."
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/repository_pick.html",
        {
            "section": "overview",
            "provider": provider,
            "provider_name": adapter.name,
            "login": credential.account_login,
            "page": page,
            "query": query,
            "error": error,
            "teams": list(teams),
            "team_ids": {team.pk for team, _ in selectors.teams_of(request.user)},
            "new_team": _owner_of(page.object_list) or credential.account_login,
            "app_rows": picker.app_choices(user=request.user, provider=provider),
            "app_name": adapter.name,
            "admin_team_ids": {team.pk for team in teams},
        },
        status=502 if error else 200,
    )


def _start(request, provider: str, credential, teams) -> HttpResponse:
    back = reverse("repository-pick", args=[provider])
    chosen = [name[:500] for name in request.POST.getlist("repository") if name][:50]
    app_chosen = [pk for pk in map(_int, request.POST.getlist("app_repository")) if pk][
        :200
    ]
    if not chosen and not app_chosen:
        messages.error(request, "Choose at least one repository.")
        return redirect(back)
    choice = request.POST.get("organization", "")
    new_name = request.POST.get("new_team", "").strip()
    if choice == "new" and not new_name:
        messages.error(request, "Name the new team that will own them.")
        return redirect(back)
    team = teams.filter(pk=_int(choice)).first() if choice != "new" else None
    if choice != "new" and team is None:
        return HttpResponseForbidden(
            "Choose one of the teams you administer to own the repositories."
        )
    try:
        with transaction.atomic():  # a refused choice leaves no new team behind
            if team is None:
                team = team_create(user=request.user, name=new_name)
            jobs, busy = (
                picker.repository_connect_jobs_start(
                    user=request.user,
                    credential=credential,
                    full_names=chosen,
                    organization=team,
                )
                if chosen
                else ([], [])
            )
            moved = picker.app_repositories_assign(
                user=request.user,
                provider=provider,
                repository_ids=app_chosen,
                organization=team,
            )
    except (picker.PickerError, ProviderError, TeamError) as exc:
        messages.error(request, f"Nothing connected: {exc}.")
        return redirect(back)
    if moved:
        messages.success(
            request,
            f"{moved} repositor{'y' if moved == 1 else 'ies'} of the "
            f"{PROVIDERS[provider].name} App now "
            f"{'belongs' if moved == 1 else 'belong'} to {team.name}.",
        )
    if not jobs and not busy:
        return redirect("dashboard-team", slug=team.slug)
    if busy:
        messages.info(request, f"Already being connected: {', '.join(busy[:5])}.")
    if jobs:
        messages.success(
            request,
            f"Connecting {len(jobs)} repositor{'y' if len(jobs) == 1 else 'ies'} "
            f"for {team.name}.",
        )
    return redirect("repository-connecting")


@login_required
def repository_connecting_view(request: HttpRequest) -> HttpResponse:
    """The person's connections of the last day, refreshing while any runs."""
    jobs = picker.connect_jobs_recent(user=request.user)
    active = any(
        job.status
        in (RepositoryConnectJob.Status.QUEUED, RepositoryConnectJob.Status.RUNNING)
        for job in jobs
    )
    return render(
        request,
        "dashboard/repository_connecting.html",
        {"section": "overview", "jobs": jobs, "active": active},
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _owner_of(rows) -> str:
    """A name to suggest for a new team: the first repository's owner."""
    return rows[0].repository.full_name.split("/")[0] if rows else ""
