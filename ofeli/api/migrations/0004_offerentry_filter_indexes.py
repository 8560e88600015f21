"""Indexes for the API's filters that may match few live entries, where walking the
entries in id order would read them all: on PostgreSQL a trigram GIN index (pg_trgm, as in
public 0006) on the words and the « |code| » lists (``LIKE '% word%'``, ``LIKE '%|45|%'``);
everywhere a B-tree on the first date. Nothing else to do on SQLite."""

from django.db import migrations, models
from django.db.models import Q

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS api_entry_trgm ON api_offerentry USING gin "
    "(search_text gin_trgm_ops, departements gin_trgm_ops, financeurs gin_trgm_ops, dispositifs gin_trgm_ops) "
    "WHERE deleted_at IS NULL",
]
BACKWARD = ["DROP INDEX IF EXISTS api_entry_trgm"]


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_usage_minute_window_and_entry_indexes"),
    ]

    operations = [
        migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False),
        migrations.AddIndex(
            model_name="offerentry",
            index=models.Index(
                condition=Q(deleted_at__isnull=True), fields=["kind", "date_debut"], name="api_entry_live_start"
            ),
        ),
    ]
