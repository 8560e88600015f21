"""PostgreSQL only: the pg_trgm extension and a trigram GIN index on the words of the index
(spelling suggestions, P2). Nothing to do on SQLite (spelling.py compares in Python).
pg_trgm is a trusted extension: the database owner may create it (PostgreSQL >= 13)."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS pubword_trgm ON public_searchword USING gin (word gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS pubword_trgm"]


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return operation


def fill(apps, schema_editor):
    from ofeli.public.spelling import rebuild_words

    rebuild_words(
        model=apps.get_model("public", "SearchWord"),
        formations=apps.get_model("public", "PublishedFormation").objects.all(),
    )


class Migration(migrations.Migration):
    dependencies = [("public", "0005_search_words")]

    operations = [
        migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
