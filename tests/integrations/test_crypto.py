"""Secrets at rest: AES-256-GCM, key id in the token, rotation."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from codequest.config import new_encryption_key
from integrations import crypto
from integrations.models import ProviderCredential, WebhookEndpoint

OLD, NEW = new_encryption_key(), new_encryption_key()


def test_round_trip_and_fresh_nonce(settings):
    settings.CODEQUEST_ENCRYPTION_KEYS = [OLD]
    first = crypto.encrypt("s3cr3t", purpose="p")
    second = crypto.encrypt("s3cr3t", purpose="p")
    assert first != second
    assert "s3cr3t" not in first
    assert crypto.decrypt(first, purpose="p") == "s3cr3t"


def test_purpose_binds_the_ciphertext(settings):
    settings.CODEQUEST_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("s3cr3t", purpose="webhook-secret:a")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, purpose="webhook-secret:b")


def test_tampering_is_detected(settings):
    settings.CODEQUEST_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("s3cr3t", purpose="p")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(flipped, purpose="p")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("plain text", purpose="p")


def test_old_keys_decrypt_first_key_encrypts(settings):
    settings.CODEQUEST_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("s3cr3t", purpose="p")
    settings.CODEQUEST_ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(token, purpose="p") == "s3cr3t"
    assert crypto.key_id_of(crypto.encrypt("x", purpose="p")) == crypto.current_key_id()
    settings.CODEQUEST_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(crypto.DecryptionError, match="no configured key"):
        crypto.decrypt(token, purpose="p")


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["YWJj"], "key #1 is 3 bytes"),
        (["!!!!"], "not base64"),
        ([new_encryption_key(), "a b"], "key #2 is not base64"),
        ([], "no key"),
    ],
)
def test_malformed_keys_are_named(keys, message):
    with pytest.raises(ValueError, match=message):
        crypto.parse_keys(keys)


def test_key_repr_never_shows_material():
    key = crypto.parse_keys([OLD])[0]
    assert OLD not in repr(key)


@pytest.mark.django_db
def test_rotate_command_reencrypts_with_the_first_key(settings):
    settings.CODEQUEST_ENCRYPTION_KEYS = [OLD]
    hook = WebhookEndpoint(provider="github")
    hook.secret = "hook-secret"
    hook.save()
    credential = ProviderCredential(
        provider="github", api_url="https://x", kind="oauth"
    )
    credential.token = "gho_token"
    credential.save()
    settings.CODEQUEST_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 2 secrets" in out.getvalue()
    settings.CODEQUEST_ENCRYPTION_KEYS = [NEW]  # the old key can now go
    assert WebhookEndpoint.objects.get().secret == "hook-secret"
    assert ProviderCredential.objects.get().token == "gho_token"
    again = StringIO()
    call_command("rotate_encryption_keys", stdout=again)
    assert "Re-encrypted 0 secrets" in again.getvalue()
