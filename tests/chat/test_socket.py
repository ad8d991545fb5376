"""Chat over the socket (the ASGI application in process), on the in-process channel layer and on
Redis: chat.send with its ack, resent client ids, bad frames, members only, blocks, the rate limit,
typing and presence."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts import services as account_services
from chat import services as chat_services
from chat.models import Message
from helpdesk.asgi import application
from helpdesk.core.socket_frames import MAX_FRAME_CHARS
from tests.factories import UserFactory
from tests.helpdesk.conftest import channel_layer  # noqa: F401 - the fixture, on both layers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def people_in_a_conversation():
    zhang = UserFactory(name="张伟")
    li = UserFactory(name="李娜")
    outsider = UserFactory(name="王芳")
    conversation, _created = chat_services.conversation_start(user=zhang, other_id=li.pk)
    keys = {user.pk: account_services.token_issue(user=user).key for user in (zhang, li, outsider)}
    return zhang, li, outsider, conversation.pk, keys


@database_sync_to_async
def second_device(user) -> str:
    return account_services.token_issue(user=user).key


async def open_socket(key: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/?token={key}", headers=[(b"host", b"localhost:8000")])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def until_pong(communicator) -> list[dict]:
    await communicator.send_json_to({"type": "ping"})
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == "pong":
            return frames
        frames.append(frame)


async def next_of(communicator, frame_type: str) -> dict:
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == frame_type:
            return frame


def send_frame(conversation: int, text: str, client_id: str) -> dict:
    return {"type": "chat.send", "client_id": client_id, "conversation": conversation, "text": text}


async def test_a_message_sent_on_the_socket_is_acked_and_reaches_the_peer_and_the_other_device(channel_layer):  # noqa: F811
    zhang, li, _outsider, conversation, keys = await people_in_a_conversation()
    phone = await open_socket(keys[zhang.pk])
    tablet = await open_socket(await second_device(zhang))
    peer = await open_socket(keys[li.pk])
    await phone.send_json_to(send_frame(conversation, "周五交材料 📎", "c-1"))
    ack = await next_of(phone, "chat.ack")
    assert ack["payload"]["client_id"] == "c-1" and ack["payload"]["seq"] == 1
    received = await next_of(peer, "chat.message")
    assert received["payload"]["message"]["text"] == "周五交材料 📎"
    assert received["payload"]["message"]["id"] == ack["payload"]["id"]
    assert received["payload"]["unread"] == 1 and isinstance(received["id"], int)
    assert (await next_of(tablet, "chat.message"))["payload"]["message"]["seq"] == 1
    # The sending socket has its ack; it is not echoed the event.
    assert [f["type"] for f in await until_pong(phone)] == []
    for communicator in (phone, tablet, peer):
        await communicator.disconnect()


async def test_the_ack_names_the_senders_own_event_so_a_ping_does_not_read_it_back(channel_layer, monkeypatch):  # noqa: F811
    """The sending device is not pushed its own chat.message (its only device: nothing is pushed at
    all); the ack's event_id lets the socket count it, and the client resume from it."""
    from helpdesk.core import consumers, eventlog
    from tests.concurrency import require_postgres

    require_postgres()  # the one-statement send knows the event id (the ORM path stores it after commit)
    zhang, _li, _outsider, conversation, keys = await people_in_a_conversation()
    phone = await open_socket(keys[zhang.pk])
    replayed: list[int] = []

    def counting_replay(user_id, after, up_to=None):
        answer = eventlog.replay(user_id, after=after, up_to=up_to)
        replayed.extend(event.seq for event in answer.events)
        return answer

    monkeypatch.setattr(consumers, "_replay", database_sync_to_async(counting_replay))
    acks = []
    for n in range(3):
        await phone.send_json_to(send_frame(conversation, f"第{n}条", f"own-{n}"))
        acks.append((await next_of(phone, "chat.ack"))["payload"])
    newest = await database_sync_to_async(eventlog.last_id)(zhang.pk)
    assert [ack["event_id"] for ack in acks] == [newest - 2, newest - 1, newest]
    await phone.send_json_to({"type": "ping"})
    pong = await next_of(phone, "pong")
    assert pong["payload"]["last_event_id"] == newest
    assert replayed == [], "the ping read the socket's own events back from the log"
    await phone.disconnect()


async def test_a_resent_client_id_gets_the_same_ack_and_no_second_message(channel_layer):  # noqa: F811
    zhang, li, _outsider, conversation, keys = await people_in_a_conversation()
    phone = await open_socket(keys[zhang.pk])
    peer = await open_socket(keys[li.pk])
    acks = []
    for _ in range(3):
        await phone.send_json_to(send_frame(conversation, "重发", "same-id"))
        acks.append((await next_of(phone, "chat.ack"))["payload"])
    assert len({(ack["id"], ack["seq"]) for ack in acks}) == 1
    frames = [f for f in await until_pong(peer) if f["type"] == "chat.message"]
    assert len(frames) == 1
    assert await database_sync_to_async(Message.objects.count)() == 1
    await phone.disconnect()
    await peer.disconnect()


async def test_bad_frames_get_error_frames_and_the_socket_stays_usable(channel_layer):  # noqa: F811
    zhang, _li, _outsider, conversation, keys = await people_in_a_conversation()
    sock = await open_socket(keys[zhang.pk])
    cases = [
        ({"text_data": "{not json"}, "invalid_json"),
        ({"bytes_data": b"\x00\x01"}, "bad_frame"),
        ({"text_data": "x" * (MAX_FRAME_CHARS + 1)}, "frame_too_large"),
        ({"text_data": '{"type": "chat.shout"}'}, "unknown_type"),
        ({"text_data": '["ping"]'}, "unknown_type"),
        ({"text_data": '{"type": "chat.send", "conversation": 1, "text": "没有 client_id"}'}, "invalid"),
    ]
    for frame, code in cases:
        await sock.send_to(**frame)
        error = await sock.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["payload"]["code"] == code, (frame, error)
    too_long = send_frame(conversation, "字" * 5001, "long-1")
    await sock.send_json_to(too_long)
    error = await next_of(sock, "error")
    assert error["payload"]["code"] == "invalid" and error["payload"]["client_id"] == "long-1"
    # Still open and working.
    assert await until_pong(sock) == []
    await sock.send_json_to(send_frame(conversation, "还在", "ok-1"))
    assert (await next_of(sock, "chat.ack"))["payload"]["seq"] == 1
    await sock.disconnect()


async def test_a_non_member_is_told_not_found_and_nothing_is_delivered(channel_layer):  # noqa: F811
    _zhang, li, outsider, conversation, keys = await people_in_a_conversation()
    intruder = await open_socket(keys[outsider.pk])
    peer = await open_socket(keys[li.pk])
    await intruder.send_json_to(send_frame(conversation, "我也来", "x-1"))
    error = await next_of(intruder, "error")
    assert error["payload"] == {
        "detail": error["payload"]["detail"],
        "code": "not_found",
        "client_id": "x-1",
    }
    await intruder.send_json_to({"type": "chat.typing", "conversation": conversation})
    assert (await next_of(intruder, "error"))["payload"]["code"] == "not_found"
    assert await until_pong(peer) == []
    assert await database_sync_to_async(Message.objects.count)() == 0
    await intruder.disconnect()
    await peer.disconnect()


async def test_an_account_deactivated_behind_the_sockets_back_sends_nothing_more(channel_layer):  # noqa: F811
    """The socket keeps its user between chat.send frames; the send still checks the stored account,
    so even a deactivation that did not close the socket (written straight to the table, no signal)
    stops the next message."""
    zhang, li, _outsider, conversation, keys = await people_in_a_conversation()
    sender = await open_socket(keys[zhang.pk])
    peer = await open_socket(keys[li.pk])
    await sender.send_json_to(send_frame(conversation, "第一条", "d-1"))
    await next_of(sender, "chat.ack")
    await next_of(peer, "chat.message")
    await database_sync_to_async(type(zhang).objects.filter(pk=zhang.pk).update)(is_active=False)
    await sender.send_json_to(send_frame(conversation, "第二条", "d-2"))
    error = await next_of(sender, "error")
    assert (error["payload"]["code"], error["payload"]["client_id"]) == ("not_found", "d-2")
    assert await until_pong(peer) == []
    assert await database_sync_to_async(Message.objects.count)() == 1
    await sender.disconnect()
    await peer.disconnect()


async def test_a_blocked_sender_is_refused_and_the_blocked_socket_hears_nothing(channel_layer):  # noqa: F811
    zhang, li, _outsider, conversation, keys = await people_in_a_conversation()
    sender = await open_socket(keys[zhang.pk])
    blocker = await open_socket(keys[li.pk])
    await database_sync_to_async(chat_services.block_add)(user=li, other_id=zhang.pk)
    await sender.send_json_to(send_frame(conversation, "在吗", "b-1"))
    error = await next_of(sender, "error")
    assert error["payload"]["code"] == "blocked" and "对方已拒收你的消息" in error["payload"]["detail"]
    await sender.send_json_to({"type": "chat.typing", "conversation": conversation})
    await blocker.send_json_to({"type": "chat.typing", "conversation": conversation})
    await blocker.send_json_to({"type": "chat.read", "conversation": conversation, "seq": 0})
    assert await until_pong(blocker) == []
    assert await until_pong(sender) == []
    await sender.disconnect()
    await blocker.disconnect()


async def test_messages_per_second_are_limited_on_the_socket(channel_layer, settings):  # noqa: F811
    settings.CHAT_MESSAGES_PER_SECOND = 2
    zhang, _li, _outsider, conversation, keys = await people_in_a_conversation()
    sock = await open_socket(keys[zhang.pk])
    for n in range(8):
        await sock.send_json_to(send_frame(conversation, f"快{n}", f"r-{n}"))
    answers = [await sock.receive_json_from(timeout=5) for _ in range(8)]
    limited = [a for a in answers if a["type"] == "error"]
    assert limited and all(a["payload"]["code"] == "rate_limited" for a in limited)
    assert {a["payload"]["client_id"] for a in limited} <= {f"r-{n}" for n in range(8)}
    await sock.disconnect()


async def test_typing_reaches_the_peer_and_presence_follows_the_last_device(channel_layer):  # noqa: F811
    zhang, li, _outsider, conversation, keys = await people_in_a_conversation()
    watcher = await open_socket(keys[zhang.pk])
    phone = await open_socket(keys[li.pk])
    online = await next_of(watcher, "chat.presence")
    assert online["payload"] == {"user": li.pk, "online": True} and "id" not in online
    tablet = await open_socket(await second_device(li))
    await phone.send_json_to({"type": "chat.typing", "conversation": conversation})
    typing = await next_of(watcher, "chat.typing")
    assert typing["payload"] == {"conversation": conversation, "user": li.pk}
    await phone.disconnect()
    # Still on the tablet: no offline yet.
    assert [f for f in await until_pong(watcher) if f["type"] == "chat.presence"] == []
    await tablet.disconnect()
    offline = await next_of(watcher, "chat.presence")
    assert offline["payload"] == {"user": li.pk, "online": False}
    await watcher.disconnect()
    await asyncio.sleep(0)
