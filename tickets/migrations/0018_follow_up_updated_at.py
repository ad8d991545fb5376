import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0017_delta_sync_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="followup",
            name="updated_at",
            # Existing follow-ups count as changed now: a client's first delta after the upgrade
            # receives them once.
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(fields=["updated_at", "id"], name="follow_up_updated"),
        ),
    ]
