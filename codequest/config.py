"""Start-up configuration helpers: one clear line when a setting is wrong.

Settings are read from the environment (CONTRACT §2). In development every value
has an embedded default; secrets that must stay stable across restarts are
generated once into ``var/``. When the process is pointed at a shared database
(``DATABASE_URL`` set) the generated fallbacks are refused, because several
machines would each invent their own keys.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def fail(message: str) -> None:
    """Stop start-up with a single line on stderr (no traceback)."""
    sys.stderr.write(f"CodeQuest configuration error: {message}\n")
    raise SystemExit(2)


def generated_secret(var_dir: Path, name: str, factory: object) -> str:
    """Return the value stored in ``var/<name>``, creating it on first use."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = factory() if callable(factory) else str(factory)
    # O_EXCL: two processes starting together must agree on one value.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def new_encryption_key() -> str:
    """A fresh 256-bit key, URL-safe base64 (the CODEQUEST_ENCRYPTION_KEYS form)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    """Validate an http(s)-style URL setting; raise ConfigError naming it."""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        allowed = "/".join(schemes)
        raise ConfigError(f"{name} must be a {allowed} URL, got {value!r}")
    return value.rstrip("/")
