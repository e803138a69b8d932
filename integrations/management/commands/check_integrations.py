"""Run the integration health checks now and print each one's status."""

from django.core.management.base import BaseCommand, CommandError

from integrations.models import HealthStatus
from integrations.services.health import integrations_check


class Command(BaseCommand):
    help = (
        "Check every connected repository now: token, rate limit, webhook, "
        "deliveries and reconciliation. Exits non-zero when one is unhealthy."
    )

    def handle(self, *args, **options):
        try:
            results = integrations_check()
        except Exception as exc:  # noqa: BLE001 - one clear line, no traceback
            raise CommandError(
                f"health checks could not run: {type(exc).__name__}: {exc}"
            ) from None
        if not results:
            self.stdout.write("No connected repository to check.")
            return
        counts = dict.fromkeys(HealthStatus.values, 0)
        for index, health in enumerate(results, start=1):
            counts[health.status] += 1
            style = {
                HealthStatus.HEALTHY: self.style.SUCCESS,
                HealthStatus.DEGRADED: self.style.WARNING,
                HealthStatus.UNHEALTHY: self.style.ERROR,
            }[health.status]
            why = "; ".join(health.reasons) if health.reasons else "all checks passed"
            self.stdout.write(
                f"[{index}/{len(results)}] {health.repository}: "
                + style(health.status)
                + f": {why}"
            )
            self.stdout.write(f"    {', '.join(health.details)}")
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        self.stdout.write(f"Checked {len(results)}: {summary}")
        if counts[HealthStatus.UNHEALTHY]:
            raise CommandError(
                f"{counts[HealthStatus.UNHEALTHY]} integrations are unhealthy (above)"
            )
