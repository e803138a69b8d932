"""Project-level pages: the home page and the service health check."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    """Landing page: where to go next (API docs, admin, webhook URLs)."""
    from django.conf import settings

    return render(
        request,
        "home.html",
        {
            "public_url": settings.PUBLIC_URL,
            "providers": [("github", "GitHub"), ("gitlab", "GitLab")],
        },
    )


def health(request: HttpRequest) -> HttpResponse:
    """GET /health/: 200 when the database and broker answer, else 503 naming which."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning(
            "codequest.health.database_down", extra={"error": str(exc)[:200]}
        )
        return "unavailable"
    return "ok"


def _check_broker() -> str:
    from codequest.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any broker failure is "unavailable"
        logger.warning(
            "codequest.health.broker_down", extra={"error": exc.__class__.__name__}
        )
        return "unavailable"
    return "ok"
