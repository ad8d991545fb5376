"""A prefecture's and a county's tickets newest first: the "handled" list (everything an agent may
see) reads its page from one of these in order and stops after it, instead of sorting the subtree."""

from django.db import migrations, models
from django.db.models.functions import Left


def analyze(apps, schema_editor):
    # Statistics of the new index expressions now, not at autovacuum's leisure: without them PostgreSQL
    # estimates every subtree at 0.5% of the table.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE tickets_ticket")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_search_table_and_leaner_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(Left("unit_path", 12), models.F("id").desc(), name="ticket_subtree12_recent"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(Left("unit_path", 16), models.F("id").desc(), name="ticket_subtree16_recent"),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop, elidable=True),
    ]
