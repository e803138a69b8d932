"""OpenAPI schema generation (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AutoSchema(openapi.AutoSchema):
    """Names each API class's nested ``InputSerializer``/``OutputSerializer``
    (STYLE §7) after the class: ``RepositoryListOutput``, not ``Output``, which
    every list shared, so their schemas overwrote each other."""

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        name = super().get_serializer_name(serializer, direction)
        if name in ("InputSerializer", "OutputSerializer"):
            return type(self.view).__name__.removesuffix("Api") + name
        return name


class TokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Token KEY`` (registered when imported, as the
    schema class above is)."""

    target_class = "codequest.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token KEY`, KEY from the dashboard's API tokens page "
                "(/dashboard/tokens/) or `manage.py api_token USERNAME`; "
                "shown once when created."
            ),
        }
