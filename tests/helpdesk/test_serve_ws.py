"""``manage.py serve_ws``: several daphne processes on one port (SO_REUSEPORT), run for real on
PostgreSQL and Redis; and its refusal to run several on the in-memory channel layer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts import services as account_services
from chat import services as chat_services
from tests.backends import require_redis_url
from tests.daphne_server import REPO, DaphneProcess
from tests.factories import UserFactory
from tests.helpdesk.ws_client import open_socket


def children_of(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def connections_held(pid: int, port: int) -> set[int]:
    """The remote ports of the established connections to ``port`` that process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    held = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state == "01" and int(local.split(":")[1], 16) == port and inode in inodes:
            held.add(int(remote.split(":")[1], 16))
    return held


class Launcher:
    """``serve_ws`` in a process of its own, on this test session's database and Redis."""

    def __init__(self, var_dir: Path, processes: int) -> None:
        # The environment and free port the tests' single daphne uses.
        self.server = DaphneProcess(var_dir=var_dir, redis_url=require_redis_url())
        self.port = self.server.port
        with self.server.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve_ws", "--port", str(self.port), "--processes", str(processes)],
                cwd=REPO,
                env=self.server.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.server.base}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    pytest.fail("serve_ws did not answer: " + self.server.output())
                time.sleep(0.1)
        # Each daphne answers once it has loaded the application; /healthz may have reached one only.
        while len(children_of(self.process.pid)) < processes and time.monotonic() < deadline:
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            for child in children_of(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.process.kill()
            self.process.wait()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_daphnes_share_the_port_and_the_chat_and_stop_together(tmp_path):
    launcher = Launcher(tmp_path / "var", processes=2)
    try:
        status = httpx.get(f"{launcher.server.base}/healthz", timeout=5).status_code
        assert status == 200
        daphnes = children_of(launcher.process.pid)
        assert len(daphnes) == 2
        for pid in daphnes:
            assert b"daphne" in Path(f"/proc/{pid}/cmdline").read_bytes()
            # The thread pool for the sockets' database work, as run_platform's daphne had it.
            assert b"ASGI_THREADS=16" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")

        zhang, li = UserFactory(name="张伟"), UserFactory(name="李娜")
        conversation, _created = chat_services.conversation_start(user=zhang, other_id=li.pk)
        keys = {user.pk: account_services.token_issue(user=user).key for user in (zhang, li)}

        async def scenario() -> None:
            # 20 sockets, half each user's: the kernel spreads them over both processes.
            socks = await asyncio.gather(
                *(open_socket("127.0.0.1", launcher.port, keys[user.pk]) for user in [zhang, li] * 10)
            )
            zhang_socks, li_socks = socks[0::2], socks[1::2]
            held = {pid: connections_held(pid, launcher.port) for pid in daphnes}
            assert sum(len(ports) for ports in held.values()) == 20, held
            assert all(held.values()), f"one process got all 20 connections: {held}"

            # A message sent through one process reaches Li's sockets on both: one more of Li's
            # sockets until one is on the other process than Zhang's (each lands there by even odds).
            def holder(sock) -> int:
                return next(pid for pid in daphnes if sock.writer.get_extra_info("sockname")[1] in held[pid])

            sender = zhang_socks[0]
            while len({holder(sock) for sock in li_socks} - {holder(sender)}) == 0:
                assert len(li_socks) < 50, "the kernel never put a socket on the second process"
                li_socks.append(await open_socket("127.0.0.1", launcher.port, keys[li.pk]))
                socks.append(li_socks[-1])
                held.update({pid: connections_held(pid, launcher.port) for pid in daphnes})
            sender.send_json(
                {"type": "chat.send", "client_id": "z-1", "conversation": conversation.pk, "text": "两个进程都收到"}
            )
            for sock in li_socks:
                while (frame := await sock.receive(timeout=10))["type"] != "chat.message":
                    pass
                assert frame["payload"]["message"]["text"] == "两个进程都收到"
            await asyncio.gather(*(sock.close() for sock in socks))

        asyncio.run(scenario())

        launcher.process.send_signal(signal.SIGTERM)
        assert launcher.process.wait(timeout=10) == 0, launcher.server.output()
        for pid in daphnes:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
                pytest.fail(f"daphne {pid} outlived serve_ws")
    finally:
        launcher.kill()


def test_several_processes_on_the_in_memory_layer_are_refused():
    with (
        override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}),
        pytest.raises(CommandError, match="2 websocket processes need the Redis channel layer"),
    ):
        call_command("serve_ws", "--processes", "2", "--port", "1")
