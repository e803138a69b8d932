"""Project-wide API helpers."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

MAX_ID = 2**63 - 1  # ids are bigint; a larger one is simply not found


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a 503 instead of a 500 when the database is down.

    Only connection-level errors are "unavailable"; a bad query is a bug and
    stays a logged 500.
    """
    response = drf_exception_handler(exc, context)
    if response is None and isinstance(exc, OperationalError | InterfaceError):
        return Response({"error": "database unavailable, try again"}, status=503)
    return response


def query_filters(
    params: Any, spec: dict[str, tuple[str, ...] | type | None]
) -> dict[str, Any]:
    """Validated query filters: ``spec`` maps a name to choices, ``int`` or None (text).

    A bad value is a 400 naming the parameter, never a silent empty list.
    """
    from rest_framework.exceptions import ValidationError

    found: dict[str, Any] = {}
    for name, rule in spec.items():
        raw = params.get(name)
        if raw in (None, ""):
            continue
        if rule is int:
            if not raw.isdigit() or len(raw) > 9:
                raise ValidationError({"error": f"{name} must be a positive integer"})
            found[name] = int(raw)
            continue
        if isinstance(rule, tuple) and raw not in rule:
            choices = ", ".join(rule)
            raise ValidationError({"error": f"{name} must be one of: {choices}"})
        found[name] = raw[:500]
    return found


def body_validated(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    """The request body checked against the serializer; unknown fields are a 400
    too, so a typo never passes as "nothing to change"."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    unknown = sorted(set(data) - set(serializer.fields))  # is_valid: a mapping
    if unknown:
        allowed = ", ".join(serializer.fields)
        raise ValidationError(
            {"error": f"unknown fields: {', '.join(unknown)}; allowed: {allowed}"}
        )
    return serializer.validated_data
