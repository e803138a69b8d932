"""The one line ``make run`` prints once the site answers: where it is, who the
admin is, and the webhook URLs to give the providers."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.providers import PROVIDERS


class Command(BaseCommand):
    help = "Print the ready line (with --wait: once the web process answers)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait until the site answers on 127.0.0.1:$PORT first",
        )
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args, **options):
        site = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        if options["wait"] and not _answers(f"{site}/health/", options["timeout"]):
            raise CommandError(f"{site} did not answer within {options['timeout']}s")
        self.stdout.write(
            f"CodeQuest Rewards is ready at {site}/ · {_admin(site)} · "
            f"webhook URLs: {_webhooks()}"
        )


def _answers(url: str, timeout: float) -> bool:
    """Any HTTP answer counts (a 503 health still means the web is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def _admin(site: str) -> str:
    name = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
    admins = get_user_model().objects.filter(is_superuser=True, is_active=True)
    if not name:
        first = admins.order_by("pk").first()
        name = first.get_username() if first else ""
    if not name:
        return (
            "no admin user yet (set DJANGO_SUPERUSER_USERNAME and "
            "DJANGO_SUPERUSER_PASSWORD)"
        )
    return f"admin {name} at {site}/admin/"


def _webhooks() -> str:
    parts = []
    for slug, provider in PROVIDERS.items():
        url = f"{settings.PUBLIC_URL}/webhooks/{slug}/"
        missing = (
            "" if provider.webhook_secret() else f" (set {slug.upper()}_WEBHOOK_SECRET)"
        )
        parts.append(f"{provider.name} {url}{missing}")
    return ", ".join(parts)
