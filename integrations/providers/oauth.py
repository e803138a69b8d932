"""The OAuth 2 refresh-token grant, as GitHub and GitLab both implement it, and
revoking a grant.

https://datatracker.ietf.org/doc/html/rfc6749#section-6
"""

from __future__ import annotations

from typing import Any

import requests

from integrations.providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderTemporaryError,
    TokenGrant,
)

TIMEOUT_SECONDS = 10


def refresh_grant(*, provider: str, url: str, form: dict[str, str]) -> TokenGrant:
    """POST the refresh form to the token ``url``; a refusal is ProviderAuthError,
    an outage ProviderTemporaryError. Nothing secret reaches an error message."""
    try:
        response = requests.post(
            url,
            data={"grant_type": "refresh_token", **form},
            headers={"Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise ProviderTemporaryError(
            f"refreshing the {provider} token: {exc.__class__.__name__}"
        ) from None
    if response.status_code >= 500:
        raise ProviderTemporaryError(
            f"refreshing the {provider} token: HTTP {response.status_code}"
        )
    data = _json_object(response)
    token = data.get("access_token")
    if response.status_code != 200 or not isinstance(token, str) or not token:
        reason = data.get("error")
        shown = reason if isinstance(reason, str) and reason.isidentifier() else ""
        raise ProviderAuthError(
            f"{provider} refused to refresh the token "
            f"({shown or f'HTTP {response.status_code}'})"
        )
    refresh = data.get("refresh_token")
    expires_in = data.get("expires_in")
    return TokenGrant(
        access_token=token,
        refresh_token=refresh if isinstance(refresh, str) else "",
        expires_in=_seconds(expires_in),
    )


def revoke_request(*, provider: str, method: str, url: str, **kwargs: Any) -> None:
    """Send the provider's revocation request; a 2xx or a 404 (nothing left to
    revoke) is done. An outage is ProviderTemporaryError, a refusal ProviderError;
    neither message carries the token or the app's secret."""
    try:
        response = requests.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as exc:
        raise ProviderTemporaryError(
            f"revoking the {provider} grant: {exc.__class__.__name__}"
        ) from None
    if response.status_code < 300 or response.status_code == 404:
        return
    error = ProviderTemporaryError if response.status_code >= 500 else ProviderError
    raise error(f"revoking the {provider} grant: HTTP {response.status_code}")


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
