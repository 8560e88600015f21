"""PostgreSQL only: the ``ofeli_fr`` text search configuration (french stemming applied
after unaccent, so « electricite » and « Électricité » meet) and the GIN index of the
public search. Nothing to do on SQLite, which searches ``search_text`` instead.

Creating the ``unaccent`` extension needs a role allowed to (a superuser, or the database
owner on PostgreSQL >= 13 since unaccent is a trusted extension)."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'ofeli_fr') THEN
            CREATE TEXT SEARCH CONFIGURATION ofeli_fr (COPY = pg_catalog.french);
            ALTER TEXT SEARCH CONFIGURATION ofeli_fr
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF;
    END $$""",
    "CREATE INDEX IF NOT EXISTS pubformation_search_gin ON public_publishedformation USING gin (search_vector)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS pubformation_search_gin",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS ofeli_fr",
]


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [("public", "0001_initial")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]
