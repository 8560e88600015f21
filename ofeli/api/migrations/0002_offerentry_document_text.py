"""The read model stores each entry's JSON text (``document``) instead of a JSON column, so
a page copies the texts into its answer without decoding and re-encoding them, and the
status inputs as columns; a partial index walks the live entries of a kind in id order
(the pages without ``modified_since``)."""

import datetime
import json

from django.db import migrations, models
from django.db.models import Q


def _day(value):
    return datetime.date.fromisoformat(value) if value else None


FILL_SQL = """
UPDATE api_offerentry SET
    document = data::text,
    debut_inscription = CASE WHEN kind = 'session' THEN (data->>'debut_inscription')::date END,
    fin_inscription = CASE WHEN kind = 'session' THEN (data->>'fin_inscription')::date END,
    entree_permanente = (kind = 'session' AND COALESCE((data->>'entree_sortie_permanente')::boolean, false))
"""


def fill_documents(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # one statement: jsonb's text is the JSON the API served until now (same separators,
        # UTF-8 as is), in jsonb's key order; the next change of an entry rewrites it
        schema_editor.execute(FILL_SQL)
        return
    OfferEntry = apps.get_model("api", "OfferEntry")
    batch = []
    for entry in OfferEntry.objects.only("id", "kind", "data").order_by("id").iterator(chunk_size=1000):
        data = entry.data or {}
        entry.document = json.dumps(data, ensure_ascii=False)
        if entry.kind == "session":
            entry.debut_inscription = _day(data.get("debut_inscription"))
            entry.fin_inscription = _day(data.get("fin_inscription"))
            entry.entree_permanente = bool(data.get("entree_sortie_permanente"))
        batch.append(entry)
        if len(batch) >= 500:
            _save(OfferEntry, batch)
            batch = []
    _save(OfferEntry, batch)


def _save(model, batch):
    model.objects.bulk_update(batch, ["document", "debut_inscription", "fin_inscription", "entree_permanente"])


def fill_data(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("UPDATE api_offerentry SET data = document::jsonb")
        return
    OfferEntry = apps.get_model("api", "OfferEntry")
    batch = []
    for entry in OfferEntry.objects.only("id", "document").order_by("id").iterator(chunk_size=1000):
        entry.data = json.loads(entry.document)
        batch.append(entry)
        if len(batch) >= 500:
            OfferEntry.objects.bulk_update(batch, ["data"])
            batch = []
    OfferEntry.objects.bulk_update(batch, ["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_partner_api"),
    ]

    operations = [
        migrations.AddField(
            model_name="offerentry",
            name="document",
            field=models.TextField(default="{}"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="offerentry",
            name="debut_inscription",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="offerentry",
            name="fin_inscription",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="offerentry",
            name="entree_permanente",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="offerentry",
            name="data",
            field=models.JSONField(null=True),
        ),
        migrations.RunPython(fill_documents, fill_data, elidable=True),
        migrations.RemoveField(
            model_name="offerentry",
            name="data",
        ),
        migrations.AddIndex(
            model_name="offerentry",
            index=models.Index(
                condition=Q(deleted_at__isnull=True), fields=["kind", "id"], name="api_entry_live_id"
            ),
        ),
    ]
