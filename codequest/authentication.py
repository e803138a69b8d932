"""API authentication: ``Authorization: Token KEY`` checked against stored hashes."""

from __future__ import annotations

import re

from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions

# What our tokens look like: an optional short prefix, then hex. Anything else
# (NUL, non-ASCII, megabytes) is refused before it reaches a query.
TOKEN_SHAPE = re.compile(rb"[A-Za-z0-9_\-]{8,128}")


class TokenAuthentication(KnoxTokenAuthentication):
    """django-rest-knox's scheme, refusing malformed tokens with a 401, not a 500."""

    def authenticate_credentials(self, token: bytes):
        if not TOKEN_SHAPE.fullmatch(token):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(token)
