from django.db import migrations

# New tickets' words go to the full-text index's pending list (GIN fastupdate), which the insert that
# fills it merges into the index. That insert is a ticket create, inside the statement that holds the
# day's counter locked, so every create behind it waits: ~135 ms once every ~6,600 creates with the
# default 4 MB list. With 256 kB they come every ~420 creates and take ~10 ms (bench/README.md).
PENDING_LIST_KB = 256


def shorten(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX ticket_search_fts SET (gin_pending_list_limit = {PENDING_LIST_KB})")


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER INDEX ticket_search_fts RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0009_fewer_index_writes")]

    operations = [migrations.RunPython(shorten, restore)]
