from django.db import migrations

# Seed 004: first response P1 2 h, P2 4 h, P3 8 working hours, P4 24 h. Resolution targets are
# the platform's starting values; administrators change them in the admin.
POLICIES = [
    ("P1", 120, False, 8 * 60, False),
    ("P2", 240, False, 24 * 60, False),
    ("P3", 480, True, 3 * 480, True),
    ("P4", 24 * 60, False, 5 * 24 * 60, False),
]


def create_defaults(apps, schema_editor):
    SLAPolicy = apps.get_model("tickets", "SLAPolicy")
    WorkingSchedule = apps.get_model("tickets", "WorkingSchedule")
    for priority, response, response_wh, resolution, resolution_wh in POLICIES:
        SLAPolicy.objects.get_or_create(
            priority=priority,
            defaults={
                "response_minutes": response,
                "response_in_working_hours": response_wh,
                "resolution_minutes": resolution,
                "resolution_in_working_hours": resolution_wh,
            },
        )
    if not WorkingSchedule.objects.filter(is_default=True).exists():
        WorkingSchedule.objects.create(name="标准工作日", is_default=True)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
