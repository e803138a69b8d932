"""Secrets at rest: AES-256-GCM with the key id inside the ciphertext.

``CODEQUEST_ENCRYPTION_KEYS`` holds comma-separated 32-byte keys (URL-safe
base64). The first key encrypts; every key decrypts, so a key can be rotated by
putting the new one first, running ``manage.py rotate_encryption_keys`` and then
dropping the old one.

Token format: ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``; the key id is
the first 8 hex digits of SHA-256 over the key, so no key needs a name. The
associated data binds a ciphertext to what it protects (``purpose``), so a value
copied from one column into another does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"


class DecryptionError(Exception):
    """A stored secret could not be decrypted (unknown key or tampered)."""


@dataclass(frozen=True, slots=True)
class Key:
    key_id: str
    cipher: AESGCM

    def __repr__(self) -> str:  # never show key material
        return f"Key(key_id={self.key_id!r})"


def _b64decode(text: str) -> bytes:
    """Strict URL-safe base64 (padding optional): stray characters are an error."""
    standard = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)


def parse_keys(raw_keys: Iterable[str]) -> list[Key]:
    """Turn the configured key strings into ciphers; ValueError names the bad one."""
    keys = []
    for position, raw in enumerate(raw_keys, start=1):
        try:
            material = _b64decode(raw.strip())
        except (binascii.Error, ValueError):
            raise ValueError(f"key #{position} is not base64") from None
        if len(material) != 32:
            raise ValueError(
                f"key #{position} is {len(material)} bytes, AES-256 needs 32"
            )
        key_id = hashlib.sha256(material).hexdigest()[:8]
        keys.append(Key(key_id=key_id, cipher=AESGCM(material)))
    if not keys:
        raise ValueError("no key given")
    return keys


def _configured_keys() -> list[Key]:
    from django.conf import settings

    return parse_keys(settings.CODEQUEST_ENCRYPTION_KEYS)


def encrypt(plaintext: str, *, purpose: str) -> str:
    """Encrypt with the first configured key."""
    key = _configured_keys()[0]
    nonce = os.urandom(12)
    sealed = key.cipher.encrypt(nonce, plaintext.encode(), purpose.encode())
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{VERSION}.{key.key_id}.{body}"


def decrypt(token: str, *, purpose: str) -> str:
    """Decrypt with whichever configured key made the token."""
    version, key_id, body = _split(token)
    for key in _configured_keys():
        if key.key_id != key_id:
            continue
        blob = _b64decode(body)
        try:
            plain = key.cipher.decrypt(blob[:12], blob[12:], purpose.encode())
        except InvalidTag:
            raise DecryptionError(f"secret sealed with key {key_id} failed") from None
        return plain.decode()
    raise DecryptionError(f"no configured key has id {key_id}")


def key_id_of(token: str) -> str:
    return _split(token)[1]


def current_key_id() -> str:
    return _configured_keys()[0].key_id


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise DecryptionError("not an encrypted value")
    return parts[0], parts[1], parts[2]
