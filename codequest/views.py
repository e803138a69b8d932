"""Project-level pages: the home page and the service health check."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from kombu.exceptions import OperationalError as BrokerError

from codequest.celery import app
from integrations.providers import provider_choices

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    """Landing page: where to go next (API docs, admin, webhook URLs)."""
    from django.conf import settings

    return render(
        request,
        "home.html",
        {
            "public_url": settings.PUBLIC_URL,
            "providers": provider_choices(),
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


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an outage of the database or broker is a 503 page, not a 500.

    Django calls this while handling the exception, so ``sys.exc_info()`` says
    what failed. The page is rendered without the request: its context
    processors would ask the database that is down.
    """
    failure = sys.exc_info()[1]
    if isinstance(failure, OperationalError | InterfaceError | BrokerError):
        what = (
            "its message queue" if isinstance(failure, BrokerError) else "its database"
        )
        logger.warning(
            "codequest.page.unavailable",
            extra={"path": request.path[:200], "error": failure.__class__.__name__},
        )
        response = HttpResponse(
            loader.render_to_string("503.html", {"what": what}), status=503
        )
        response["Retry-After"] = "30"
        return response
    return HttpResponse(loader.render_to_string("500.html"), status=500)


def metrics(request: HttpRequest) -> HttpResponse:
    """GET /metrics: Prometheus text for whoever holds CODEQUEST_METRICS_TOKEN.

    Without a token configured, only direct loopback callers (no proxy in
    between) may read it, so a fresh install never publishes its metrics.
    """
    from django.conf import settings
    from django_prometheus.exports import ExportToDjangoView

    token = settings.CODEQUEST_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            response = JsonResponse({"error": "a valid bearer token is required"})
            response.status_code = 401
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _direct_loopback(request):
        return JsonResponse(
            {"error": "set CODEQUEST_METRICS_TOKEN to scrape /metrics remotely"},
            status=403,
        )
    return ExportToDjangoView(request)


def _direct_loopback(request: HttpRequest) -> bool:
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


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
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any broker failure is "unavailable"
        logger.warning(
            "codequest.health.broker_down", extra={"error": exc.__class__.__name__}
        )
        return "unavailable"
    return "ok"
