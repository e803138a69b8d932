"""OpenAPI schema generation (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi


class AutoSchema(openapi.AutoSchema):
    """Names each API class's nested ``InputSerializer``/``OutputSerializer``
    (STYLE §7) after the class: ``RepositoryListOutput``, not ``Output``, which
    every list shared, so their schemas overwrote each other."""

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        name = super().get_serializer_name(serializer, direction)
        if name in ("InputSerializer", "OutputSerializer"):
            return type(self.view).__name__.removesuffix("Api") + name
        return name
