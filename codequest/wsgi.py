"""WSGI entry point (gunicorn codequest.wsgi).

Webhook deliveries take a lean path: the same URLs and views, but without the
middleware stack (sessions, CSRF, auth, messages, static files, per-request
metrics) that a signed machine-to-machine POST never uses. On 2 cores that
stack costs about a third of the receiver's time (bench/README.md). The
receivers record their own metrics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codequest.settings")

WEBHOOK_PREFIX = "/webhooks/"


class LeanWSGIHandler(WSGIHandler):
    """Django's WSGI handler with an empty middleware chain."""

    def load_middleware(self, is_async: bool = False) -> None:
        # What BaseHandler.load_middleware builds for MIDDLEWARE = [].
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


def _dispatch(full: WSGIHandler, lean: WSGIHandler) -> Callable[..., Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: Callable) -> Any:
        if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
            return lean(environ, start_response)
        return full(environ, start_response)

    return application


_full = get_wsgi_application()
application = _dispatch(_full, LeanWSGIHandler())
