import pytest

from accounts.models import HandlingGroup

GROUPS = {
    "hardware": "硬件 / 设备故障",
    "software": "软件 / 软件异常",
    "training": "培训 / 操作咨询",
    "complaints": "投诉建议",
}


@pytest.fixture(autouse=True)
def handling_groups(db):
    """The four groups a data migration creates; a transactional test elsewhere may have flushed them."""
    for code, name in GROUPS.items():
        HandlingGroup.objects.get_or_create(code=code, defaults={"name": name})
