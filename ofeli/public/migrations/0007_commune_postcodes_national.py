"""S2/S3: a national instance's communes (Paris has 20 postcodes, 125 characters) do not
fit 100 characters on PostgreSQL. 0001 creates the column with 200 characters on a fresh
database (so that 0003 can load every commune); this widens it on existing ones."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("public", "0006_search_words_trigram")]

    operations = [
        migrations.AlterField(
            model_name="commune",
            name="codes_postaux",
            field=models.CharField(max_length=200, verbose_name="codes postaux"),
        ),
    ]
