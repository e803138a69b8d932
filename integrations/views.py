"""Webhook receivers (CONTRACT §3): verify, store, enqueue on commit, answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs

import orjson
from django.conf import settings
from django.db import (
    DatabaseError,
    DataError,
    InterfaceError,
    OperationalError,
    connection,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations import crypto, metrics, selectors, services
from integrations.models import WebhookEndpoint
from integrations.providers import get_provider
from integrations.receiver_guard import (
    AllowListUnavailableError,
    ReceiverGuard,
    client_address,
    guard,
    retry_after,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"  # GitHub's form setting


class Rejected(Exception):
    """An early exit with an HTTP status; ``reason`` feeds the log and metric."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


# Refusals that cost the sender a token of its failure budget: what a
# verified delivery never gets (403 and 503 are not the sender's doing).
_CHARGED = frozenset({400, 401, 404, 408, 413, 415})


@csrf_exempt
def webhook_receive(
    request: HttpRequest, provider: str, hook: str | None = None
) -> HttpResponse:
    """POST /webhooks/<provider>/[<hook>/]: never a 500, whatever arrives."""
    if request.method != "POST":
        return _error(405, "use POST", Allow="POST")
    source = client_address(request)
    checks = guard()
    try:
        _admit(checks, provider, source)
        return _receive(request, provider, hook, checks, source)
    except Rejected as exc:
        wait = checks.budget.charge(source) if exc.status in _CHARGED else 0.0
        if wait or exc.status == 429:
            # Out of budget: counted, not logged (a flood must not fill the log).
            metrics.webhook_rejected.labels(provider, "rate_limited").inc()
            seconds = wait or checks.budget.exhausted(source)
            return _error(
                429,
                "too many failed requests from this address; retry later",
                **{"Retry-After": retry_after(seconds)},
            )
        metrics.webhook_rejected.labels(provider, exc.reason).inc()
        logger.info(
            f"integrations.webhook.{exc.reason}",
            extra={"provider": provider, "hook": (hook or "")[:8]},
        )
        return _error(exc.status, str(exc))
    except DataError:
        # A value the database cannot hold (delivery_record cleans what it
        # knows of, so this is not expected):
        # the provider's retry would fail the same way, so no 503.
        logger.warning("integrations.webhook.unstorable", extra={"provider": provider})
        return _error(400, "a header or field of this delivery cannot be stored")
    except DatabaseError:
        logger.warning(
            "integrations.webhook.database_unavailable", extra={"provider": provider}
        )
        return _error(503, "database unavailable; please redeliver later")


def _admit(checks: ReceiverGuard, provider: str, source: str) -> None:
    """The allow-list, before anything is read."""
    try:
        allowed = checks.allow_list.allows(provider, source)
    except AllowListUnavailableError:
        logger.warning(
            "integrations.webhook.allow_list_unavailable", extra={"provider": provider}
        )
        raise Rejected(
            503, "allow_list_unavailable", "cannot check the sender's address now"
        ) from None
    if not allowed:
        raise Rejected(
            403, "source_not_allowed", "deliveries from this address are refused"
        )


def _receive(
    request: HttpRequest,
    provider: str,
    hook_id: str | None,
    checks: ReceiverGuard,
    source: str,
) -> HttpResponse:
    adapter = get_provider(provider)
    content_type = _content_type(request, provider)
    if (
        hook_id is not None
        and checks.budget.exhausted(source)
        and (provider, hook_id) not in checks.known_hooks
    ):
        # Out of budget and no hook of ours: refused before reading the body
        # or looking the id up.
        raise Rejected(429, "rate_limited", "too many failed requests")
    body = _read_body(request)
    event = adapter.event_name(request.headers)
    delivery_id = adapter.delivery_id(request.headers, body)
    if not event or not delivery_id or len(delivery_id) > 200 or len(event) > 100:
        raise Rejected(
            400, "missing_headers", "missing or invalid event/delivery header"
        )
    endpoint, secret = _with_reconnect(_secret, provider, hook_id)
    if not adapter.verify(request.headers, body, secret):
        raise Rejected(401, "bad_signature", "signature or token does not verify")
    document, payload = _json_document(body, content_type)
    action, repository_name = adapter.summarize(event, payload)
    result = _with_reconnect(
        services.delivery_record,
        provider=provider,
        hook=endpoint,
        delivery_id=delivery_id,
        event=event,
        action=action,
        repository_name=repository_name,
        headers=request.headers,
        body=document,
    )
    if result.status == "duplicate":
        return _json({"status": "duplicate", "delivery": delivery_id}, status=200)
    answer = {"status": result.status, "delivery": delivery_id}
    if result.status == "ignored":
        answer.update(event=event, action=action)
    return _json(answer, status=202)


def _with_reconnect(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call once more on a fresh connection when a kept-alive one has died.

    Persistent connections are not pinged per request (CONN_HEALTH_CHECKS is
    off to save a round trip per delivery); a connection the server dropped
    fails on first use and is replaced here, so the provider still gets a 202.
    """
    try:
        return function(*args, **kwargs)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return function(*args, **kwargs)


def _content_type(request: HttpRequest, provider: str) -> str:
    content_type = request.content_type or ""
    accepted = get_provider(provider).webhook_content_types
    if content_type not in accepted:
        allowed = " or ".join(accepted)
        raise Rejected(415, "bad_content_type", f"content type must be {allowed}")
    return content_type


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Rejected(400, "bad_length", "Content-Length is not a number") from None
    if declared > limit:
        raise Rejected(413, "too_large", f"body is over {limit // (1024 * 1024)} MB")
    try:
        if not declared and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", ""):
            # Chunked: no Content-Length, so Django's request stream reads
            # nothing; the server (gunicorn) has already de-chunked wsgi.input.
            body = request.META["wsgi.input"].read(limit + 1)
        else:
            body = request.read(limit + 1)
    except OSError:  # the client stalled past the request deadline, or left
        raise Rejected(
            408, "body_timeout", "request body not received in time"
        ) from None
    if len(body) > limit:
        raise Rejected(413, "too_large", f"body is over {limit // (1024 * 1024)} MB")
    return body


def _secret(provider: str, hook_id: str | None) -> tuple[WebhookEndpoint | None, str]:
    """The hook's own secret (found by its id, never the body), else the instance's."""
    if hook_id is None:
        return None, selectors.instance_webhook_secret(provider)
    endpoint = selectors.webhook_endpoint_get(provider=provider, public_id=hook_id)
    if endpoint is None:
        raise Rejected(404, "unknown_hook", "unknown webhook")
    try:
        return endpoint, endpoint.secret
    except crypto.DecryptionError:
        logger.error(
            "integrations.webhook.secret_unreadable", extra={"hook": endpoint.pk}
        )
        raise Rejected(
            401, "bad_signature", "signature or token does not verify"
        ) from None


def _json_document(body: bytes, content_type: str) -> tuple[bytes, dict]:
    """The JSON object, as bytes and parsed: the body or GitHub's ``payload`` field."""
    if content_type == FORM_TYPE:
        try:
            fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=50)
        except ValueError:
            raise Rejected(400, "bad_body", "form body has too many fields") from None
        if len(fields.get("payload", [])) != 1:
            raise Rejected(400, "bad_body", "form body needs exactly one payload field")
        body = fields["payload"][0].encode()
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Rejected(400, "bad_body", "body is not valid JSON") from None
    if not isinstance(document, dict):
        raise Rejected(400, "bad_body", "JSON body must be an object")
    return body, document


def _json(data: dict[str, Any], *, status: int) -> HttpResponse:
    """A JSON answer, serialized with orjson (this is the hot path)."""
    return HttpResponse(orjson.dumps(data), status=status, content_type=JSON_TYPE)


def _error(status: int, message: str, **headers: str) -> HttpResponse:
    response = _json({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def webhook_health(request: HttpRequest, provider: str) -> HttpResponse:
    """GET /webhooks/<provider>/health: delivery success over the last hour."""
    if request.method != "GET":
        return _error(405, "use GET", Allow="GET")
    try:
        report = selectors.webhook_health_get(provider=provider)
    except DatabaseError:
        return JsonResponse(
            {
                "status": "unhealthy",
                "success_rate": 0.0,
                "total_events_last_hour": 0,
                "failed_events_last_hour": 0,
                "last_event_at": None,
                "error": "database unavailable",
            },
            status=503,
        )
    return JsonResponse(report)
