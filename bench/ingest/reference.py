"""The reference receiver: the ceiling for durable ingest on this machine.

A bare Django view with no middleware that verifies the GitHub signature,
INSERTs the raw body into PostgreSQL and answers 202. It is what the real
receiver is measured against in the same run; it is not part of the product.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_reference_delivery ("
    "id bigserial PRIMARY KEY, delivery_id varchar(200) UNIQUE NOT NULL, "
    "body bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
)


@csrf_exempt
def reference_receive(request: HttpRequest) -> HttpResponse:
    body = request.body
    given = request.headers.get("X-Hub-Signature-256", "").encode()
    secret = settings.GITHUB_WEBHOOK_SECRET.encode()
    expected = b"sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, given):
        return HttpResponse(status=401)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_reference_delivery (delivery_id, body) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            [request.headers.get("X-GitHub-Delivery", ""), body],
        )
    return HttpResponse(status=202)


urlpatterns = [path("webhooks/github/", reference_receive)]
