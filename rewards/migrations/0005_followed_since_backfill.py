"""Repositories followed before ``followed_since`` existed keep what they paid.

The history rule (work before a repository was followed earns nothing) starts
at the moment a repository was connected, or at its earliest credited work when
that is earlier: a recount never takes back points already on the ledger.
"""

from django.db import migrations
from django.db.models import Min, OuterRef, Subquery
from django.db.models.functions import Coalesce, Least


def backfill(apps, schema_editor):
    repositories = apps.get_model("integrations", "ConnectedRepository")
    credits = apps.get_model("rewards", "Credit")
    entries = apps.get_model("rewards", "PointsEntry")

    def earliest(model, path):
        # Coalesced: SQLite's LEAST (unlike PostgreSQL's) is NULL if any is.
        first = Subquery(
            model.objects.filter(**{path: OuterRef("pk")})
            .values(path)
            .annotate(first=Min("earned_at"))
            .values("first")[:1]
        )
        return Coalesce(first, "created_at")

    repositories.objects.filter(followed_since__isnull=True).update(
        followed_since=Least(
            "created_at",
            earliest(credits, "pull_request__repository"),
            earliest(entries, "repository"),
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0011_followed_since_initial_sync"),
        ("rewards", "0004_credits"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
