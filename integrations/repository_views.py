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
from integrations.services.writes import file_fields, settings_write_request
from integrations.tasks import repository_points_recount_task
from reviews.assignment.service import review_settings_get, review_settings_save
from reviews.config_file import CONFIG_PATH
from reviews.forms import RepositoryReviewSettingsForm
from reviews.models import FileStatus

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
            "write": repository.writes.exclude(status="done").first(),
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
    as_stored = {name: getattr(current, name) for name in file_fields()}
    form = RepositoryReviewSettingsForm(request.POST, instance=current)
    if not form.is_valid():
        return _render(request, page, form)
    values = dict(form.cleaned_data)
    if current.file_status == FileStatus.VALID:
        # The file is the source of truth: what it can hold goes there, as a
        # pull request; the rest is saved here.
        proposed = {
            name: values.pop(name)
            for name in file_fields()
            if name in values and values[name] != as_stored[name]
        }
        for name in file_fields():
            values.pop(name, None)
        review_settings_save(repository=page.repository, values=values)
        if proposed:
            settings_write_request(
                repository=page.repository, changes=proposed, user=request.user
            )
            messages.success(
                request,
                f"Proposed in a pull request to {CONFIG_PATH} (changes made in the "
                "next minute join it); they take effect once it is merged.",
            )
        else:
            messages.success(request, "Review settings saved.")
        return redirect("repository", repository_id=repository_id)
    saved = review_settings_save(repository=page.repository, values=values)
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
def repository_settings_propose_view(
    request: HttpRequest, repository_id: int
) -> HttpResponse:
    """No .codequest.yml yet: propose one holding the current settings, as a
    pull request (from then on the file is the source of truth)."""
    page = _page(request, repository_id)
    if not selectors.repository_manageable(request.user, page.repository):
        return HttpResponseForbidden(ADMINS_ONLY)
    current = review_settings_get(page.repository)
    if current.file_status == FileStatus.VALID:
        messages.info(request, f"{CONFIG_PATH} is there already.")
    else:
        settings_write_request(
            repository=page.repository,
            changes={name: getattr(current, name) for name in file_fields()},
            user=request.user,
        )
        messages.success(
            request,
            f"A pull request adding {CONFIG_PATH} with these settings opens "
            "within a minute.",
        )
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
