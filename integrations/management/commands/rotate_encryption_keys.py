"""Re-encrypt every stored secret with the first CODEQUEST_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations import crypto
from integrations.models import WebhookEndpoint


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
                for endpoint in WebhookEndpoint.objects.select_for_update().iterator():
                    if crypto.key_id_of(endpoint.secret_encrypted) == current:
                        unchanged += 1
                        continue
                    endpoint.secret = endpoint.secret
                    endpoint.save(update_fields=["secret_encrypted", "updated_at"])
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
