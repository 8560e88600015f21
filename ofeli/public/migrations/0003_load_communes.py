"""Load the communes of the region (data/communes-centre-val-de-loire.csv). Later updates of
the file are loaded with ``manage.py load_communes``."""

from django.db import migrations


def load(apps, schema_editor):
    from ofeli.public.communes import load_communes

    load_communes(apps.get_model("public", "Commune"))


def unload(apps, schema_editor):
    apps.get_model("public", "Commune").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("public", "0002_postgresql_search")]

    operations = [migrations.RunPython(load, unload)]
