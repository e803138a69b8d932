"""Stop following a repository and remove our webhook from it."""

from django.core.management.base import BaseCommand, CommandError

from integrations import services
from integrations.models import ConnectedRepository
from integrations.providers import provider_slugs


class Command(BaseCommand):
    help = "Remove our webhook from a repository and stop following it (data is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--provider", required=True, choices=provider_slugs())
        parser.add_argument(
            "--repo", required=True, help="owner/name or group/sub/project"
        )
        parser.add_argument("--host", help="only the repository on this host")

    def handle(self, *args, **options):
        repositories = ConnectedRepository.objects.filter(
            provider=options["provider"], full_name=options["repo"].strip().strip("/")
        )
        if options["host"]:
            repositories = repositories.filter(host=options["host"])
        found = list(repositories.select_related("credential"))
        if not found:
            raise CommandError(
                f"no connected {options['provider']} repository {options['repo']!r}"
            )
        if len(found) > 1:
            hosts = ", ".join(sorted(repo.host for repo in found))
            raise CommandError(
                f"{options['repo']!r} exists on several hosts ({hosts}); use --host"
            )
        services.repository_disconnect(repository=found[0], progress=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Disconnected {found[0]}"))
