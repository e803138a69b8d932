"""The person's notifications on the dashboard, and what they want sent."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from notifications import services
from notifications.forms import NotificationSettingsForm


@login_required
def notifications_view(request: HttpRequest) -> HttpResponse:
    choice = services.settings_for(request.user)
    form = NotificationSettingsForm(request.POST or None, instance=choice)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Saved: CodeQuest tells you so from now on.")
            return redirect("dashboard-notifications")
        messages.error(request, "Not saved; see the form.")
    items = services.inbox_of(request.user)
    return render(
        request,
        "dashboard/notifications.html",
        {
            "section": "notifications",
            "items": items,
            "unread": sum(1 for item in items if item.read_at is None),
            "form": form,
            "has_email": bool(request.user.email),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    count = services.inbox_read(request.user)
    messages.success(
        request, f"Marked {count} as read." if count else "Nothing unread."
    )
    return redirect("dashboard-notifications")
