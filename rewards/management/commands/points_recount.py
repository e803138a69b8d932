"""Recount the ledger from the pull requests' facts (once after an upgrade)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from reviews.models import PullRequest
from rewards.services import points_recount


class Command(BaseCommand):
    help = (
        "Recompute what every pull request's reviews and comments earn and write "
        "the differences to the ledger (labelled 'recounted under the current "
        "rules'). Safe to run again: a second run writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repo", help="only this repository (full name)")

    def handle(self, *args, **options):
        pulls = PullRequest.objects.filter(
            points_entries__isnull=False
        ) | PullRequest.objects.filter(reviews__isnull=False)
        if options["repo"]:
            pulls = pulls.filter(repository__full_name=options["repo"])
        pulls = pulls.distinct().order_by("pk")
        total = pulls.count()
        added = taken = 0
        try:
            for number, entries in enumerate(points_recount(pulls=pulls.iterator()), 1):
                added += sum(entry.points for entry in entries if entry.points > 0)
                taken -= sum(entry.points for entry in entries if entry.points < 0)
                if entries or number == total or number % 100 == 0:
                    self.stdout.write(
                        f"{number}/{total} pull requests, {len(entries)} lines "
                        f"(+{added} / -{taken} points so far)"
                    )
        except DatabaseError as exc:
            raise CommandError(f"database error: {exc.__class__.__name__}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Recounted {total} pull requests: +{added} and -{taken} points."
            )
        )
