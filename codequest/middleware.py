"""Request guards every page and API shares."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectNulMiddleware:
    """A NUL in the query string is a 400 before any view sees it.

    PostgreSQL text cannot hold NUL, so every text filter (API, dashboard,
    admin search and filters) would otherwise fail inside the query. Form and
    JSON bodies are already covered by Django's and DRF's field validators.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            message = "query parameters must not contain NUL characters"
            if request.path.startswith("/api/"):
                return JsonResponse({"error": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain")
        return self.get_response(request)
