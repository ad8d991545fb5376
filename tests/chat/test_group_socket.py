"""Groups over the socket (the ASGI application in process, on both channel layers): every member's
socket receives a group message once; a removed member's socket is told once and then hears
nothing more of the group, at once, while the others keep receiving."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from accounts import services as account_services
from chat.services import groups as group_services
from tests.chat.test_socket import next_of, open_socket, send_frame, until_pong
from tests.factories import UserFactory
from tests.helpdesk.conftest import channel_layer  # noqa: F401 - the fixture, on both layers
from tests.helpdesk.test_realtime import count_group_sends

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def a_group_of_three():
    owner, member, leaver = UserFactory(name="张伟"), UserFactory(name="李娜"), UserFactory(name="王芳")
    conversation = group_services.group_create(user=owner, name="教研组", member_ids=[member.pk, leaver.pk])
    keys = {user.pk: account_services.token_issue(user=user).key for user in (owner, member, leaver)}
    return owner, member, leaver, conversation.pk, keys


async def test_a_removed_member_stops_receiving_at_once(channel_layer):  # noqa: F811
    owner, member, leaver, group, keys = await a_group_of_three()
    sockets = {user.pk: await open_socket(keys[user.pk]) for user in (owner, member, leaver)}
    await sockets[member.pk].send_json_to(send_frame(group, "大家好", "g-1"))
    ack = await next_of(sockets[member.pk], "chat.ack")
    for user in (owner, leaver):
        frame = await next_of(sockets[user.pk], "chat.message")
        assert frame["payload"]["message"]["seq"] == ack["payload"]["seq"]
    await database_sync_to_async(group_services.member_remove)(user=owner, conversation_id=group, user_id=leaver.pk)
    removed = await next_of(sockets[leaver.pk], "chat.group_removed")
    assert removed["payload"] == {"conversation": group, "reason": "removed"}
    await sockets[member.pk].send_json_to(send_frame(group, "王芳听不到", "g-2"))
    await next_of(sockets[member.pk], "chat.ack")
    texts = []
    while not texts or texts[-1] != "王芳听不到":
        texts.append((await next_of(sockets[owner.pk], "chat.message"))["payload"]["message"]["text"])
    # The removed member's socket heard nothing after its chat.group_removed; its sends are refused.
    assert until_pong_types(await until_pong(sockets[leaver.pk])) == []
    await sockets[leaver.pk].send_json_to(send_frame(group, "还在吗", "g-3"))
    error = await next_of(sockets[leaver.pk], "error")
    assert error["payload"]["code"] == "not_found"
    for socket in sockets.values():
        await socket.disconnect()


def until_pong_types(frames: list[dict]) -> list[str]:
    return [frame["type"] for frame in frames if frame["type"].startswith("chat.")]


async def test_a_group_message_is_one_push_each_socket_delivers_as_its_stored_event(channel_layer, monkeypatch):  # noqa: F811
    """A group message is pushed once, to the group's socket group, not once per member (on
    PostgreSQL, where the send stores every member's event in its own statement); each socket picks
    its user's event out of it and delivers exactly the frame its event log holds. Someone added while
    connected joins that group at once."""
    from helpdesk.core.models import StoredEvent

    owner, member, leaver, group, keys = await a_group_of_three()
    newcomer = await database_sync_to_async(UserFactory)(name="赵敏")
    keys[newcomer.pk] = await database_sync_to_async(lambda: account_services.token_issue(user=newcomer).key)()
    sockets = {user.pk: await open_socket(keys[user.pk]) for user in (owner, member, leaver, newcomer)}
    await database_sync_to_async(group_services.members_add)(user=owner, conversation_id=group, user_ids=[newcomer.pk])
    invited = await next_of(sockets[newcomer.pk], "chat.message")
    assert invited["payload"]["message"]["kind"] == "system"
    await until_pong(sockets[newcomer.pk])  # the join has been handled by then
    sent_to = count_group_sends(channel_layer, monkeypatch)
    await sockets[member.pk].send_json_to(send_frame(group, "欢迎赵老师", "g-welcome"))
    ack = await next_of(sockets[member.pk], "chat.ack")
    for user in (owner, leaver, newcomer):
        frame = await next_of(sockets[user.pk], "chat.message")
        while frame["payload"]["message"]["client_id"] != "g-welcome":  # the invitation, before it
            frame = await next_of(sockets[user.pk], "chat.message")
        assert frame["payload"]["message"]["seq"] == ack["payload"]["seq"]
        stored = await database_sync_to_async(StoredEvent.objects.get)(user_id=user.pk, seq=frame["id"])
        assert (stored.type, stored.payload) == (frame["type"], frame["payload"])
    assert frame["payload"]["unread"] == 2  # the newcomer's: the invitation and this
    if connections["default"].vendor == "postgresql":
        assert sent_to == [f"chat.conversation.{group}"]
    for socket in sockets.values():
        await socket.disconnect()
