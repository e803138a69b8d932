"""Recompute the daily totals from the ledger and compare (README "Instant
boards")."""

from __future__ import annotations

from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from rewards.models import PointsDay, PointsEntry, PointsRule

Key = tuple[int, int | None, object]  # identity, team, day


class Command(BaseCommand):
    help = (
        "Recompute every person's daily totals from the points ledger and compare "
        "them with the totals boards read. Exits 1 when any differ; --repair "
        "rewrites those that differ (the ledger is the truth)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair", action="store_true", help="rewrite the totals that differ"
        )

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                if options["repair"] and connection.vendor == "postgresql":
                    # New lines wait (their trigger writes totals) until this
                    # transaction ends, so nothing is counted twice or missed.
                    with connection.cursor() as cursor:
                        cursor.execute("LOCK TABLE rewards_pointsday IN EXCLUSIVE MODE")
                wrong = self._compare()
                if wrong and options["repair"]:
                    self._repair(wrong)
        except DatabaseError as exc:
            raise CommandError(f"database error: {exc.__class__.__name__}") from None
        if not wrong:
            return
        if options["repair"]:
            self.stdout.write(self.style.SUCCESS(f"Rewrote {len(wrong)} daily totals."))
            return
        raise CommandError(
            f"{len(wrong)} daily totals differ from the ledger; run with --repair"
        )

    def _compare(self) -> dict[Key, tuple[int, int]]:
        self.stdout.write("Adding up the ledger by person, team and day…")
        session = PointsRule.objects.filter(key="review_session").values("pk")[:1]
        ledger: dict[Key, tuple[int, int]] = {
            (identity, team, day): (points, sessions)
            for identity, team, day, points, sessions in PointsEntry.objects.annotate(
                day=TruncDate("earned_at", tzinfo=UTC)
            )
            .values("identity", "organization", "day")
            .annotate(
                total=Sum("points"),
                sessions=Count("id", filter=Q(rule_id__in=session, points__gt=0)),
            )
            .values_list("identity", "organization", "day", "total", "sessions")
        }
        self.stdout.write(
            f"{len(ledger)} person-days in the ledger; reading the totals…"
        )
        kept: dict[Key, tuple[int, int]] = {
            (identity, team, day): (points, sessions)
            for identity, team, day, points, sessions in PointsDay.objects.values(
                "identity", "organization", "day"
            )
            .annotate(total=Sum("points"), count=Sum("sessions"))
            .values_list("identity", "organization", "day", "total", "count")
        }
        wrong = {
            key: ledger.get(key, (0, 0))
            for key in ledger.keys() | kept.keys()
            if ledger.get(key, (0, 0)) != kept.get(key, (0, 0))
        }
        for key in sorted(wrong, key=str)[:20]:
            identity, team, day = key
            self.stdout.write(
                f"identity {identity}, team {team}, {day}: totals say "
                f"{kept.get(key, (0, 0))}, the ledger {ledger.get(key, (0, 0))}"
            )
        if not wrong:
            self.stdout.write(
                self.style.SUCCESS(f"All {len(ledger)} daily totals match the ledger.")
            )
        return wrong

    def _repair(self, wrong: dict[Key, tuple[int, int]]) -> None:
        for (identity, team, day), (points, sessions) in wrong.items():
            PointsDay.objects.filter(
                identity_id=identity, organization_id=team, day=day
            ).delete()
            if points or sessions:
                PointsDay.objects.create(
                    identity_id=identity,
                    organization_id=team,
                    day=day,
                    points=points,
                    sessions=sessions,
                )
