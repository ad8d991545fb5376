from django.db import migrations, models

from helpdesk.core.search import pinyin_and_initials

BATCH = 2000


def fill_pinyin(apps, schema_editor):
    """Every existing unit gets its name's pinyin and initials (3,200 divisions take a second;
    500,000 schools about two minutes, in batches by id so memory stays flat)."""
    OrgUnit = apps.get_model("orgtree", "OrgUnit")
    full_max = OrgUnit._meta.get_field("name_pinyin").max_length
    initials_max = OrgUnit._meta.get_field("name_initials").max_length
    last = 0
    while True:
        batch = list(OrgUnit.objects.filter(pk__gt=last).order_by("pk").only("pk", "name")[:BATCH])
        if not batch:
            return
        for unit in batch:
            full, initials = pinyin_and_initials(unit.name)
            unit.name_pinyin, unit.name_initials = full[:full_max], initials[:initials_max]
        OrgUnit.objects.bulk_update(batch, ["name_pinyin", "name_initials"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("orgtree", "0003_path_statistics")]

    operations = [
        migrations.AddField(
            model_name="orgunit",
            name="name_initials",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=100, verbose_name="pinyin initials"
            ),
        ),
        migrations.AddField(
            model_name="orgunit",
            name="name_pinyin",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=300, verbose_name="name in pinyin"
            ),
        ),
        # Filled before the indexes are built: one build instead of index updates row by row.
        migrations.RunPython(fill_pinyin, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="orgunit",
            index=models.Index(fields=["name_pinyin", "path"], name="orgunit_pinyin_path"),
        ),
        migrations.AddIndex(
            model_name="orgunit",
            index=models.Index(fields=["name_initials", "path"], name="orgunit_initials_path"),
        ),
    ]
