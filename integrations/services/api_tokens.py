"""API tokens (django-rest-knox): only a hash is stored; the token is shown once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from knox.models import AuthToken


def api_token_create(*, user: Any, days: int | None = None) -> tuple[AuthToken, str]:
    """A new token for ``user``: (its row, the token to show once, never again)."""
    lifetime = days if days is not None else settings.CODEQUEST_API_TOKEN_DAYS
    expiry = timedelta(days=lifetime) if lifetime > 0 else None
    return AuthToken.objects.create(user=user, expiry=expiry)


def api_token_list(*, user: Any) -> QuerySet[AuthToken]:
    """The person's tokens, newest first (what identifies one: its first characters)."""
    return AuthToken.objects.filter(user=user).order_by("-created")


def api_token_revoke(*, user: Any, token_key: str) -> int:
    """Revoke the person's token(s) starting with ``token_key``; how many went."""
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    return deleted
