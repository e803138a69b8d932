"""Re-encrypt every stored secret with the first CODEQUEST_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations import crypto
from integrations.models import ProviderCredential, WebhookEndpoint

# (model, encrypted column, property that decrypts/encrypts it)
SEALED = [
    (WebhookEndpoint, "secret_encrypted", "secret"),
    (ProviderCredential, "token_encrypted", "token"),
    (ProviderCredential, "refresh_token_encrypted", "refresh_token"),
]


class Command(BaseCommand):
    help = (
        "Re-encrypt stored secrets with the first key of CODEQUEST_ENCRYPTION_KEYS, "
        "so older keys can then be removed."
    )

    def handle(self, *args, **options):
        current = crypto.current_key_id()
        rotated = unchanged = 0
        try:
            with transaction.atomic():
                for model, column, attribute in SEALED:
                    for row in model.objects.select_for_update().iterator():
                        sealed = getattr(row, column)
                        if not sealed or crypto.key_id_of(sealed) == current:
                            unchanged += 1
                            continue
                        setattr(row, attribute, getattr(row, attribute))
                        row.save(update_fields=[column, "updated_at"])
                        rotated += 1
        except crypto.DecryptionError as exc:
            raise CommandError(
                f"a secret cannot be decrypted with the configured keys: {exc}"
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {rotated} secrets with key {current}; "
                f"{unchanged} already used it."
            )
        )
