"""S4: the shared cache's database table (settings CACHES, « ofeli_cache ») is created by
``migrate`` too, so that an instance migrated without ``createcachetable`` still works.
Idempotent; does nothing when the cache is not the database one (tests, Redis)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_job_lock_and_nightly_run")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
