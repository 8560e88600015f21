"""The rate limit's one-minute window moves into the usage row of the day (one UPDATE per
call instead of two cache transactions); the read model's indexes follow its queries:
``formation_reference`` for the sync, and no (kind, deleted_at, reference) index, which the
planner preferred (then sorted every live entry) for the pages in id order."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_offerentry_document_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="apiusage",
            name="minute",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="apiusage",
            name="minute_calls",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RemoveIndex(
            model_name="offerentry",
            name="api_entry_live_ref",
        ),
        migrations.AddIndex(
            model_name="offerentry",
            index=models.Index(fields=["formation_reference"], name="api_entry_formation"),
        ),
    ]
