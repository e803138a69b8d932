"""Compress stored webhook bodies with lz4 on PostgreSQL (cheaper TOAST writes)."""

from django.db import DatabaseError, migrations, transaction


def body_lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic():
            schema_editor.execute(
                "ALTER TABLE integrations_webhookdelivery "
                "ALTER COLUMN body SET COMPRESSION lz4"
            )
    except DatabaseError:
        pass  # a server built without lz4 keeps its default (pglz)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]
    operations = [migrations.RunPython(body_lz4, migrations.RunPython.noop)]
