from django.db import migrations

GROUPS = [
    ("hardware", "硬件 / 设备故障"),
    ("software", "软件 / 软件异常"),
    ("training", "培训 / 操作咨询"),
    ("complaints", "投诉建议"),
]


def create_groups(apps, schema_editor):
    HandlingGroup = apps.get_model("accounts", "HandlingGroup")
    for code, name in GROUPS:
        HandlingGroup.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
