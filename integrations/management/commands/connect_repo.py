"""Connect a repository with a personal/project access token."""

import os

from django.core.management.base import BaseCommand, CommandError

from integrations import services
from integrations.models import Organization
from integrations.providers import provider_slugs
from integrations.providers.base import ProviderError


class Command(BaseCommand):
    help = (
        "Connect a repository with an access token read from an environment "
        "variable: validate access, store the token encrypted, register the "
        "webhook (unless --no-webhook) and import its pull requests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", required=True, choices=provider_slugs())
        parser.add_argument(
            "--repo", required=True, help="owner/name or group/sub/project"
        )
        parser.add_argument(
            "--token-env", required=True, help="name of the variable holding the token"
        )
        parser.add_argument(
            "--api-url", help="API base (GitHub Enterprise, self-managed GitLab)"
        )
        parser.add_argument(
            "--no-webhook", action="store_true", help="do not register a webhook"
        )
        parser.add_argument("--organization", help="slug of the team that owns it")

    def handle(self, *args, **options):
        token = os.environ.get(options["token_env"], "").strip()
        if not token:
            raise CommandError(
                f"environment variable {options['token_env']} is empty or unset"
            )
        organization = None
        if options["organization"]:
            organization = Organization.objects.filter(
                slug=options["organization"]
            ).first()
            if organization is None:
                raise CommandError(
                    f"no organization with slug {options['organization']!r}"
                )
        try:
            result = services.repository_connect(
                provider=options["provider"],
                full_name=options["repo"].strip().strip("/"),
                token=token,
                api_url=options["api_url"],
                register_webhook=not options["no_webhook"],
                organization=organization,
                label=f"env {options['token_env']}",
                progress=self.stdout.write,
            )
        except ProviderError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Connected {result.repository}: {result.pull_requests} pull requests, "
                f"{result.reviews} reviews imported"
            )
        )
