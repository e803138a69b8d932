"""Which hosts belong to a provider: the only source for links and for calls.

A host comes from configuration (``GITHUB_API_URL``, ``GITHUB_WEB_URL``,
``GITLAB_URL``, ``CODEQUEST_ALLOWED_API_HOSTS``), never from a payload or a
form as it was typed. Payload URLs become links only on these hosts; an API
base URL a person enters is called only when its host is one of them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from integrations.providers import PROVIDERS
from integrations.providers.base import ProviderError

LINK_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class HostNotAllowedError(ProviderError):
    """An API base URL outside the configured provider hosts; says which host."""


def configured_hosts(provider: str) -> frozenset[str]:
    """The hosts ``provider`` is configured for, plus the operator's extra hosts."""

    hosts = {(urlsplit(url).hostname or "").lower() for url in _provider_urls(provider)}
    hosts.update(entry.split(":")[0] for entry in settings.CODEQUEST_ALLOWED_API_HOSTS)
    hosts.discard("")
    return frozenset(hosts)


def _provider_urls(provider: str) -> tuple[str, ...]:
    adapter = PROVIDERS.get(provider)
    return adapter.configured_urls() if adapter is not None else ()


def safe_link(url: object, provider: str) -> str:
    """``url`` when it may be a link (http(s) on a provider host), else ""."""
    if not isinstance(url, str) or not url:
        return ""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    if parts.scheme.lower() not in LINK_SCHEMES or parts.username is not None:
        return ""
    return url if host in configured_hosts(provider) else ""


def api_url_check(url: str, provider: str) -> str:
    """The API base URL ``url`` normalized, or HostNotAllowedError saying why.

    Only http(s) to a host and port an operator configured: the provider's own
    settings or ``CODEQUEST_ALLOWED_API_HOSTS`` (``host`` or ``host:port``).
    Loopback, link-local and private addresses are therefore reachable only
    when an operator named them.
    """
    try:
        parts = urlsplit(url.strip())
        origin = (parts.scheme, (parts.hostname or "").lower(), parts.port)
    except ValueError:
        raise HostNotAllowedError("the API base URL is not a valid URL") from None
    scheme, host, port = origin
    if scheme not in LINK_SCHEMES or not host or parts.username is not None:
        raise HostNotAllowedError("the API base URL must be an http(s) URL")
    if (host, port or DEFAULT_PORTS[scheme]) not in configured_origins(provider):
        shown = f"{host}:{port}" if port else host
        raise HostNotAllowedError(
            f"{shown} is not a configured {provider} host; an operator can allow "
            "it with CODEQUEST_ALLOWED_API_HOSTS"
        )
    return url.strip().rstrip("/")


def configured_origins(provider: str) -> frozenset[tuple[str, int]]:
    """(host, port) pairs an API base URL may name for ``provider``."""

    origins: set[tuple[str, int]] = set()
    for url in _provider_urls(provider):
        parts = urlsplit(url)
        if parts.hostname:
            origins.add(
                (parts.hostname.lower(), parts.port or DEFAULT_PORTS[parts.scheme])
            )
    for entry in settings.CODEQUEST_ALLOWED_API_HOSTS:
        host, _, port = (
            entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        )
        if port.isdigit():
            origins.add((host, int(port)))
        else:
            origins.update({(entry, 443), (entry, 80)})
    return frozenset(origins)
