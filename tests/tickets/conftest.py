import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from accounts.models import HandlingGroup
from helpdesk.core.events import user_group_name

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


class Staff:
    """The support people of the test tree: two agents, a reviewer and a supervisor in 海淀区, one
    agent each in 北京市 and the ministry (the pools above), and an agent of 和平区 (天津)."""

    def __init__(self, tree) -> None:
        from accounts.models import HandlingGroup, Role
        from tests.factories import UserFactory, grant

        def agent(username: str, name: str, unit):
            user = UserFactory(username=username, name=name, unit=unit, user_type="staff")
            grant(user, unit, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
            return user

        self.agent = agent("st_agent1", "刘洋", tree.haidian)
        self.agent2 = agent("st_agent2", "陈静", tree.haidian)
        self.city_agent = agent("st_bj_agent", "北京坐席", tree.beijing)
        self.top_agent = agent("st_moe_agent", "部级坐席", tree.root)
        self.tianjin_agent = agent("st_tj_agent", "天津坐席", tree.heping)
        self.reviewer = UserFactory(username="st_reviewer", name="审核员", unit=tree.haidian, user_type="staff")
        grant(self.reviewer, tree.haidian, Role.ANSWER_REVIEWER)
        self.supervisor = UserFactory(username="st_supervisor", name="主管", unit=tree.haidian, user_type="staff")
        grant(self.supervisor, tree.haidian, Role.UNIT_ADMIN)


@pytest.fixture
def staff(tree, handling_groups):
    return Staff(tree)


@pytest.fixture
def new_ticket(teacher):
    """Files a question as ``asker`` (the teacher by default) through the service."""
    from tickets import services

    def _create(asker=None, **extra):
        data = {
            "title": "投影仪无法开机",
            "description": "三年级二班的投影仪指示灯常亮，无法开机",
            "type": "hardware",
            "priority": "P2",
            "contact_info": "13800000000",
        } | extra
        return services.ticket_create(asker=asker or teacher, **data)

    return _create


@pytest.fixture
def inbox(settings):
    """Subscribes a fresh channel to users' groups and returns what arrives, as the consumer would.
    In-memory layer: these tests are about which events the services send; delivery through Redis is
    tested with real connections in tests/helpdesk/test_realtime.py."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    subscriptions = []

    def listen(user):
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(user_group_name(user.pk), channel)
        subscriptions.append((user_group_name(user.pk), channel))

        def received():
            events = []
            while True:
                try:
                    message = async_to_sync(_receive_now)(layer, channel)
                except TimeoutError:
                    return events
                events.append(message["event"])

        return received

    yield listen
    for group, channel in subscriptions:
        async_to_sync(layer.group_discard)(group, channel)


async def _receive_now(layer, channel):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), timeout=0.5)
