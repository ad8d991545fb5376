"""Chat across two real daphne processes on one Redis and PostgreSQL (issue 15's proof): users
connected to different processes exchange messages with the same guarantees — ack with the stored
seq, every message once and in order, resent client ids, catch-up after a reconnect, members only,
presence across both processes, bad frames."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from django.db import connections

from accounts import services as account_services
from chat import services as chat_services
from chat.models import Message
from tests.backends import require_redis_url
from tests.daphne_server import DaphneProcess
from tests.factories import UserFactory
from tests.ws_client import WebSocket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def servers(tmp_path):
    url = require_redis_url()
    first = DaphneProcess(var_dir=tmp_path / "var1", redis_url=url).start()
    second = DaphneProcess(var_dir=tmp_path / "var2", redis_url=url).start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def people():
    zhang = UserFactory(name="张伟")
    li = UserFactory(name="李娜")
    outsider = UserFactory(name="王芳")
    conversation, _created = chat_services.conversation_start(user=zhang, other_id=li.pk)
    keys = {
        name: account_services.token_issue(user=user).key
        for name, user in (("zhang", zhang), ("li", li), ("outsider", outsider))
    }
    return {"zhang": zhang, "li": li, "outsider": outsider, "conversation": conversation.pk, "keys": keys}


async def connect(server: DaphneProcess, key: str, last_event_id: int | None = None) -> tuple[WebSocket, dict]:
    query = f"?token={key}" + (f"&last_event_id={last_event_id}" if last_event_id is not None else "")
    try:
        sock = await WebSocket.connect("127.0.0.1", server.port, f"/ws/{query}")
    except Exception:
        print(server.output())
        raise
    hello = await sock.receive(timeout=10)
    assert hello["type"] == "hello", hello
    return sock, hello


async def next_of(sock: WebSocket, frame_type: str) -> dict:
    while True:
        frame = await sock.receive(timeout=10)
        if frame["type"] == frame_type:
            return frame


async def drain(sock: WebSocket) -> list[dict]:
    await sock.send_json({"type": "ping"})
    frames = []
    while True:
        frame = await sock.receive(timeout=10)
        if frame["type"] == "pong":
            return frames
        frames.append(frame)


async def send_acked(sock: WebSocket, frame: dict) -> dict:
    """Send until acknowledged, as a client does: a rate-limited frame is sent again a moment later
    with the same client id."""
    while True:
        await sock.send_json(frame)
        while True:
            answer = await sock.receive(timeout=10)
            if answer["type"] == "chat.ack" or (answer["type"] == "error" and "client_id" in answer["payload"]):
                break
        if answer["type"] == "chat.ack":
            return answer
        assert answer["payload"]["code"] == "rate_limited", answer
        await asyncio.sleep(0.2)


def chat_send(conversation: int, text: str, client_id: str) -> dict:
    return {"type": "chat.send", "client_id": client_id, "conversation": conversation, "text": text}


def count_messages() -> int:
    try:
        return Message.objects.count()
    finally:
        connections.close_all()


def test_two_users_on_two_processes_chat_with_acks_once_and_in_order(servers, people):
    first, second = servers
    conversation, keys = people["conversation"], people["keys"]

    async def scenario():
        zhang, _ = await connect(first, keys["zhang"])
        li, _ = await connect(second, keys["li"])
        # Over the socket, each way.
        for n in range(1, 6):
            await zhang.send_json(chat_send(conversation, f"第{n}条：你好 🙂", f"z-{n}"))
            ack = await next_of(zhang, "chat.ack")
            assert ack["payload"]["seq"] == n * 2 - 1
            got = await next_of(li, "chat.message")
            assert got["payload"]["message"]["text"] == f"第{n}条：你好 🙂"
            assert got["payload"]["message"]["seq"] == n * 2 - 1
            await li.send_json(chat_send(conversation, f"回复{n}", f"l-{n}"))
            assert (await next_of(li, "chat.ack"))["payload"]["seq"] == n * 2
            assert (await next_of(zhang, "chat.message"))["payload"]["message"]["text"] == f"回复{n}"
        # Over REST on the other process: the socket of the same device gets no echo, the peer does.
        async with httpx.AsyncClient(base_url=first.base, headers={"Authorization": f"Token {keys['li']}"}) as http:
            answer = await http.post(
                f"/api/v1/chat/conversations/{conversation}/messages/",
                json={"text": "REST 发的", "client_id": "l-rest"},
            )
            assert answer.status_code == 201, answer.text
            assert answer.json()["seq"] == 11
        assert (await next_of(zhang, "chat.message"))["payload"]["message"]["text"] == "REST 发的"
        assert [f for f in await drain(li) if f["type"] == "chat.message"] == []
        # Nothing twice.
        assert [f for f in await drain(zhang) if f["type"] == "chat.message"] == []
        await zhang.close()
        await li.close()

    asyncio.run(scenario())


def test_a_client_id_resent_to_the_other_process_gets_the_original(servers, people):
    first, second = servers
    conversation, keys = people["conversation"], people["keys"]

    async def scenario():
        phone, _ = await connect(first, keys["zhang"])
        tablet, _ = await connect(second, keys["zhang"])
        li, _ = await connect(second, keys["li"])
        await phone.send_json(chat_send(conversation, "只一条", "dup-1"))
        original = (await next_of(phone, "chat.ack"))["payload"]
        # The ack was "lost": the same client id again, this time through the other process.
        await tablet.send_json(chat_send(conversation, "只一条", "dup-1"))
        again = (await next_of(tablet, "chat.ack"))["payload"]
        assert (again["id"], again["seq"]) == (original["id"], original["seq"])
        async with httpx.AsyncClient(base_url=second.base, headers={"Authorization": f"Token {keys['zhang']}"}) as http:
            answer = await http.post(
                f"/api/v1/chat/conversations/{conversation}/messages/", json={"text": "只一条", "client_id": "dup-1"}
            )
            assert answer.status_code == 200 and answer.json()["id"] == original["id"]
        frames = [f for f in await drain(li) if f["type"] == "chat.message"]
        assert [f["payload"]["message"]["id"] for f in frames] == [original["id"]]
        for sock in (phone, tablet, li):
            await sock.close()

    asyncio.run(scenario())
    assert count_messages() == 1


def test_a_user_who_was_offline_catches_up_on_every_message_in_order_once(servers, people):
    first, second = servers
    conversation, keys = people["conversation"], people["keys"]

    async def scenario():
        li, hello = await connect(second, keys["li"])
        seen = hello["payload"]["last_event_id"]
        await li.close()
        zhang, _ = await connect(first, keys["zhang"])
        for n in range(1, 31):
            ack = await send_acked(zhang, chat_send(conversation, f"离线消息{n}", f"off-{n}"))
            assert ack["payload"]["seq"] == n
        # The process li used restarts meanwhile.
        await asyncio.to_thread(second.stop)
        await asyncio.to_thread(second.start)
        li, hello = await connect(second, keys["li"], seen)
        assert hello["payload"]["resumed"] is True
        frames = [f for f in await drain(li) if f["type"] == "chat.message"]
        assert [f["payload"]["message"]["seq"] for f in frames] == list(range(1, 31))
        assert [f["payload"]["unread"] for f in frames] == list(range(1, 31))
        assert [f["id"] for f in frames] == list(range(seen + 1, seen + 31))
        # And over REST, with the unread count right.
        async with httpx.AsyncClient(base_url=second.base, headers={"Authorization": f"Token {keys['li']}"}) as http:
            history = (
                await http.get(f"/api/v1/chat/conversations/{conversation}/messages/", params={"after": 0})
            ).json()
            assert [m["seq"] for m in history["results"]] == list(range(1, 31))
            assert (await http.get("/api/v1/chat/unread/")).json() == {"total": 30}
        await li.close()
        await zhang.close()

    asyncio.run(scenario())


def test_a_non_member_gets_not_found_on_both_paths_and_nothing_is_delivered(servers, people):
    first, second = servers
    conversation, keys = people["conversation"], people["keys"]

    async def scenario():
        intruder, _ = await connect(first, keys["outsider"])
        li, _ = await connect(second, keys["li"])
        await intruder.send_json(chat_send(conversation, "偷看", "i-1"))
        error = await next_of(intruder, "error")
        assert error["payload"]["code"] == "not_found" and error["payload"]["client_id"] == "i-1"
        async with httpx.AsyncClient(
            base_url=second.base, headers={"Authorization": f"Token {keys['outsider']}"}
        ) as http:
            assert (await http.get(f"/api/v1/chat/conversations/{conversation}/messages/")).status_code == 404
            assert (
                await http.post(f"/api/v1/chat/conversations/{conversation}/messages/", json={"text": "偷看"})
            ).status_code == 404
        assert [f for f in await drain(li) if f["type"].startswith("chat.")] == []
        await intruder.close()
        await li.close()

    asyncio.run(scenario())
    assert count_messages() == 0


def test_presence_spans_both_processes_and_bad_frames_leave_the_socket_open(servers, people):
    first, second = servers
    keys = people["keys"]
    li_id = people["li"].pk

    async def scenario():
        watcher, _ = await connect(first, keys["zhang"])
        phone, _ = await connect(first, keys["li"])
        assert (await next_of(watcher, "chat.presence"))["payload"] == {"user": li_id, "online": True}
        tablet, _ = await connect(second, keys["li"])
        for raw, code in ((b"{oops", "invalid_json"), (b'{"type": "chat.nope"}', "unknown_type")):
            await tablet._send(0x1, raw)
            error = await next_of(tablet, "error")
            assert error["payload"]["code"] == code
        assert await drain(tablet) == []
        await phone.close()
        async with httpx.AsyncClient(base_url=second.base, headers={"Authorization": f"Token {keys['zhang']}"}) as http:
            await asyncio.sleep(0.5)
            answer = await http.get("/api/v1/chat/presence/", params={"users": str(li_id)})
            assert answer.json() == [{"user": li_id, "online": True}]
            assert [f for f in await drain(watcher) if f["type"] == "chat.presence"] == []
            await tablet.close()
            offline = await next_of(watcher, "chat.presence")
            assert offline["payload"] == {"user": li_id, "online": False}
            answer = await http.get("/api/v1/chat/presence/", params={"users": str(li_id)})
            assert answer.json() == [{"user": li_id, "online": False}]
        await watcher.close()

    asyncio.run(scenario())
