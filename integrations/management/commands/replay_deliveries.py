"""Re-run processing of stored raw deliveries (idempotent)."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations import services
from integrations.models import WebhookDelivery


class Command(BaseCommand):
    help = "Reprocess stored webhook deliveries; applying twice changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--status", choices=WebhookDelivery.Status.values, help="only this status"
        )
        parser.add_argument(
            "--since", help="only deliveries received at/after ISO time"
        )
        parser.add_argument("--delivery", help="only this delivery id")

    def handle(self, *args, **options):
        since = _parse_since(options["since"]) if options["since"] else None
        counts: dict[str, int] = {}
        for delivery, outcome in services.deliveries_replay(
            status=options["status"], since=since, delivery_id=options["delivery"]
        ):
            counts[outcome] = counts.get(outcome, 0) + 1
            self.stdout.write(
                f"{delivery.provider} {delivery.delivery_id} "
                f"{delivery.event}.{delivery.action or '-'} -> {outcome}"
            )
        if options["delivery"] and not counts:
            raise CommandError(f"no stored delivery has id {options['delivery']!r}")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Replayed {sum(counts.values())}: {summary or 'none matched'}"
            )
        )
        if counts.get("failed"):
            raise CommandError(f"{counts['failed']} deliveries failed; see their error")


def _parse_since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r} is not an ISO 8601 time") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.UTC)
    return moment
