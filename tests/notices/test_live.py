"""Live delivery: a published notice reaches the connected sockets of its audience through the unit
groups each socket joined, one send per audience piece however many people it covers."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from helpdesk.asgi import application
from notices import services
from notices.audience import unit_group
from orgtree.models import OrgLevel
from tests.factories import UserFactory
from tests.helpdesk.conftest import channel_layer  # noqa: F401 - the realtime tests' layer fixture

ORIGIN = b"http://localhost:8000"


@database_sync_to_async
def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[(b"host", b"localhost:8000"), (b"origin", ORIGIN), (b"cookie", await _cookie(user))],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_a_published_notice_arrives_live_only_where_the_audience_covers(channel_layer, people, tree):  # noqa: F811
    teacher = await _connect(people.teacher_a)
    student = await _connect(people.student_a)
    tianjin = await _connect(people.tj_teacher)
    try:

        @database_sync_to_async
        def publish():
            notice = services.notice_create(
                user=people.bj_publisher,
                unit=tree.beijing,
                data=services.NoticeInput(
                    title="教师培训通知",
                    body="请参加培训。",
                    audience_mode="levels",
                    audience_levels=[OrgLevel.SCHOOL],
                    audience_kinds=["teacher"],
                ),
            )
            services.notice_submit(user=people.bj_publisher, notice=notice)
            return services.notice_approve(user=people.bj_reviewer, notice=notice)

        notice = await publish()
        frame = await teacher.receive_json_from(timeout=5)
        assert frame["type"] == "notice.published"
        assert frame["payload"]["id"] == notice.pk and frame["payload"]["title"] == "教师培训通知"
        assert "id" not in frame  # not stored per user: no event id
        # A student of the same school (a teacher-only notice) and a 天津 teacher hear nothing.
        assert await student.receive_nothing(timeout=0.5)
        assert await tianjin.receive_nothing(timeout=0.3)

        @database_sync_to_async
        def withdraw():
            services.notice_withdraw(user=people.bj_publisher, notice=notice, reason="重复")

        await withdraw()
        frame = await teacher.receive_json_from(timeout=5)
        assert frame["type"] == "notice.withdrawn" and frame["payload"]["id"] == notice.pk
        assert await student.receive_nothing(timeout=0.3)
    finally:
        for communicator in (teacher, student, tianjin):
            await communicator.disconnect()
        await database_sync_to_async(connections.close_all)()


@pytest.mark.django_db
def test_publishing_sends_one_group_message_per_audience_piece_not_per_person(
    publish, people, tree, monkeypatch, django_capture_on_commit_callbacks
):
    from helpdesk.core import events as core_events

    for index in range(30):
        UserFactory(username=f"n_crowd{index}", unit=tree.school_b)
    sent: list = []
    monkeypatch.setattr(core_events, "_push", lambda deliveries: sent.extend(deliveries))
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish(audience_mode="units", audience_units=[tree.school_a, tree.school_b])
    group_frames = [(group, message) for group, message in sent if message["type"] == "platform.group_event"]
    assert sorted(group for group, _message in group_frames) == sorted(
        [unit_group(tree.school_a.path), unit_group(tree.school_b.path)]
    )
    assert {message["key"] for _group, message in group_frames} == {f"notice.published:{notice.pk}"}


@pytest.mark.django_db
def test_a_socket_joins_one_group_per_unit_above_each_of_its_units(people, tree):
    from notices.audience import socket_accepts, socket_membership

    membership = socket_membership(people.teacher_a)
    assert set(membership.groups) == {
        unit_group(tree.root.path),
        unit_group(tree.beijing.path),
        unit_group(tree.haidian.path),
        unit_group(tree.school_a.path),
    }
    audience = {"path": tree.beijing.path, "subtree": True, "level_mask": 1 << OrgLevel.SCHOOL, "kind_mask": 0}
    assert socket_accepts(membership.context, {"audience": audience})
    county_only = dict(audience, level_mask=1 << OrgLevel.COUNTY)
    assert not socket_accepts(membership.context, {"audience": county_only})
    assert not socket_accepts(membership.context, {})


@pytest.mark.django_db
def test_a_reminder_goes_to_the_units_that_have_not_confirmed(
    publish, people, tree, monkeypatch, django_capture_on_commit_callbacks
):
    from helpdesk.core import events as core_events
    from notices.services.reading import reminder_deliver

    notice = publish(receipt_required=True)
    services.notice_mark_read(user=people.teacher_a, notice=notice, confirm=True)
    services.notice_mark_read(user=people.student_a, notice=notice, confirm=True)
    services.notice_mark_read(user=people.teacher_b, notice=notice)  # read, not confirmed
    services.notice_remind(user=people.bj_publisher, notice=notice)
    sent: list = []
    monkeypatch.setattr(core_events, "_push", lambda deliveries: sent.extend(deliveries))
    with django_capture_on_commit_callbacks(execute=True):
        assert reminder_deliver(notice.pk, 1) == 3
    groups = sorted(group for group, message in sent if message["event"]["type"] == "notice.reminded")
    # 海淀实验小学 has confirmed to the last person: it is not reminded.
    assert groups == sorted(unit_group(unit.path) for unit in (tree.beijing, tree.haidian, tree.school_b))
    # A superseded reminder sends nothing.
    assert reminder_deliver(notice.pk, 0) == 0
