"""A page per repository for its team: status with reasons, *Sync now*, sync
history, recent deliveries (team admins replay a failed one), review settings,
*Disconnect* and *Reconnect*. Another team's repository is a 404; a change by a
member who is not a team admin is a 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations import selectors, services
from integrations.models import WebhookDelivery
from integrations.providers import get_provider
from integrations.providers.base import ProviderError
from integrations.selectors import RepositoryPage
from integrations.tasks import repository_points_recount_task
from reviews.assignment.service import review_settings_get, review_settings_save
from reviews.forms import RepositoryReviewSettingsForm

ADMINS_ONLY = "Only the team's admins can change this repository."


@login_required
def repository_view(request: HttpRequest, repository_id: int) -> HttpResponse:
    page = _page(request, repository_id)
    return _render(
        request,
        page,
        RepositoryReviewSettingsForm(instance=review_settings_get(page.repository)),
    )


def _render(
    request: HttpRequest, page: RepositoryPage, form: RepositoryReviewSettingsForm
) -> HttpResponse:
    repository = page.repository
    return render(
        request,
        "dashboard/repository.html",
        {
            "section": "overview",
            "page": page,
            "repository": repository,
            "provider_name": get_provider(repository.provider).name,
            "can_manage": selectors.repository_manageable(request.user, repository),
            "settings_form": form,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def repository_sync_view(request: HttpRequest, repository_id: int) -> HttpResponse:
    """Any member may ask for a sync: it reads, it changes nothing of theirs."""
    repository = _page(request, repository_id).repository
    if not repository.is_active:
        messages.error(request, "Reconnect the repository before syncing it.")
    elif services.repository_sync_request(repository=repository):
        messages.success(
            request, "Sync queued: the history below shows it within a minute."
        )
    else:
        messages.info(request, "A sync is already running; nothing more was queued.")
    return redirect("repository", repository_id=repository.pk)


@login_required
@require_POST
def repository_settings_view(request: HttpRequest, repository_id: int) -> HttpResponse:
    page = _page(request, repository_id)
    if not selectors.repository_manageable(request.user, page.repository):
        return HttpResponseForbidden(ADMINS_ONLY)
    current = review_settings_get(page.repository)
    excluded_before = list(current.points_exclude_paths or [])
    form = RepositoryReviewSettingsForm(request.POST, instance=current)
    if not form.is_valid():
        return _render(request, page, form)
    saved = review_settings_save(repository=page.repository, values=form.cleaned_data)
    if list(saved.points_exclude_paths) != excluded_before:
        repository_pk = page.repository.pk
        transaction.on_commit(
            lambda: repository_points_recount_task.delay(repository_pk)
        )
        messages.success(
            request,
            "Review settings saved. Points of this repository are being "
            "recounted for the new excluded paths.",
        )
    else:
        messages.success(request, "Review settings saved; new pull requests use them.")
    return redirect("repository", repository_id=repository_id)


@login_required
@require_POST
def repository_delivery_replay_view(
    request: HttpRequest, repository_id: int, delivery_id: int
) -> HttpResponse:
    page = _page(request, repository_id)
    if not selectors.repository_manageable(request.user, page.repository):
        return HttpResponseForbidden(ADMINS_ONLY)
    delivery = WebhookDelivery.objects.filter(
        pk=delivery_id, repository=page.repository
    ).first()
    if delivery is None:
        raise Http404("no such delivery of this repository")
    if delivery.status != WebhookDelivery.Status.FAILED:
        messages.info(request, "Only a failed delivery can be replayed.")
    else:
        outcome = services.delivery_process(delivery_id=delivery.pk, force=True)
        level = messages.ERROR if outcome == "failed" else messages.SUCCESS
        messages.add_message(
            request, level, f"Delivery {delivery.delivery_id[:40]} replayed: {outcome}."
        )
    return redirect("repository", repository_id=repository_id)


@login_required
@require_POST
def repository_disconnect_view(
    request: HttpRequest, repository_id: int
) -> HttpResponse:
    repository = _page(request, repository_id).repository
    if not selectors.repository_manageable(request.user, repository):
        return HttpResponseForbidden(ADMINS_ONLY)
    notes: list[str] = []
    services.repository_disconnect(repository=repository, progress=notes.append)
    messages.success(
        request,
        f"{repository.full_name} disconnected: "
        + "; ".join(notes or ["no webhook of ours was registered"])
        + ". Its pull requests, reviews and points stay.",
    )
    return redirect("repository", repository_id=repository_id)


@login_required
@require_POST
def repository_reconnect_view(request: HttpRequest, repository_id: int) -> HttpResponse:
    repository = _page(request, repository_id).repository
    if not selectors.repository_manageable(request.user, repository):
        return HttpResponseForbidden(ADMINS_ONLY)
    try:
        services.repository_reconnect(repository=repository, user=request.user)
    except (ProviderError, services.WebhookConflict) as exc:
        messages.error(request, f"Not reconnected: {exc}.")
    else:
        messages.success(
            request, f"{repository.full_name} reconnected; a sync is on its way."
        )
    return redirect("repository", repository_id=repository_id)


def _page(request: HttpRequest, repository_id: int) -> RepositoryPage:
    page = selectors.repository_page_get(user=request.user, repository_id=repository_id)
    if page is None:
        raise Http404("no such repository in your teams")
    return page
