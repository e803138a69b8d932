"""Reconcile repositories with their providers now, and say what it cost."""

from django.core.management.base import BaseCommand, CommandError

from integrations.providers import provider_slugs
from integrations.providers.base import ProviderError
from integrations.services.sync import (
    SyncDeferred,
    repositories_syncable,
    repositories_waiting_for_app,
    repository_sync,
)


class Command(BaseCommand):
    help = (
        "Reconcile stored pull requests and reviews with the provider: prints what "
        "changed and the API calls and rate-limit points spent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", choices=provider_slugs())
        parser.add_argument("--repo", help="full name: owner/name or group/project")
        parser.add_argument(
            "--full",
            action="store_true",
            help="rescan the whole history window (CODEQUEST_SYNC_HISTORY_DAYS)",
        )

    def handle(self, *args, **options):
        repositories = repositories_syncable().select_related("credential")
        if options["provider"]:
            repositories = repositories.filter(provider=options["provider"])
        if options["repo"]:
            repositories = repositories.filter(full_name=options["repo"])
        repositories = list(repositories.order_by("provider", "full_name"))
        waiting = repositories_waiting_for_app()
        if options["provider"]:
            waiting = waiting.filter(provider=options["provider"])
        if options["repo"]:
            waiting = waiting.filter(full_name=options["repo"])
        if skipped := waiting.count():
            self.stdout.write(
                f"skipped {skipped} repositories known only through the GitHub App: "
                "they need GitHub App configuration (GITHUB_APP_ID, "
                "GITHUB_APP_PRIVATE_KEY)"
            )
        if not repositories:
            if skipped:
                return
            raise CommandError(_nothing_matched(options))
        failed = 0
        calls = points = changes = 0
        for index, repository in enumerate(repositories, start=1):
            label = f"[{index}/{len(repositories)}] {repository}"
            self.stdout.write(f"{label}: syncing…")
            try:
                result = repository_sync(
                    repository=repository,
                    full=options["full"],
                    trigger="command",
                    progress=lambda line: self.stdout.write(f"    {line}"),
                )
            except (ProviderError, SyncDeferred) as exc:
                failed += 1
                self.stderr.write(f"{label}: not synced: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - one line, then the next one
                failed += 1
                self.stderr.write(f"{label}: not synced: {type(exc).__name__}: {exc}")
                continue
            run = result.run
            calls, points = calls + run.api_calls, points + run.rate_limit_points
            changes += run.changes
            self.stdout.write(f"{label}: {_summary(run)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Synced {len(repositories) - failed} of {len(repositories)}: "
                f"{changes} changes, {calls} API calls, {points} rate-limit points"
            )
        )
        if failed:
            raise CommandError(f"{failed} repositories could not be synced (above)")


def _summary(run) -> str:
    if run.not_modified:
        what = "not modified"
    elif run.changes:
        what = f"{run.changes} changes"
        if run.missed_by_webhooks:
            what += f" ({run.missed_by_webhooks} missed by webhooks)"
    else:
        what = "up to date"
    return (
        f"{what}; {run.api_calls} API calls, {run.rate_limit_points} rate-limit points"
    )


def _nothing_matched(options) -> str:
    if options["repo"]:
        return (
            f"no connected repository {options['repo']!r} can be synced "
            "(connect it with connect_repo, or check --provider)"
        )
    return "no connected repository can be synced (none has a token or App)"
