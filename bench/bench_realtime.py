"""Resumable realtime: what resuming costs and what storing events adds to a ticket action.

    createdb -h 127.0.0.1 -U postgres bench_realtime
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_realtime REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/bench_realtime.py

1. **Resume**: 1,000 events are stored for one user while its phone is away; a real daphne process
   (on the same PostgreSQL and Redis) replays them to a socket that reconnects with its last id.
   Reported: time from the handshake to the last of the 1,000 frames, and the server's part (the
   log read) measured in process.
2. **Write overhead**: the log write a ticket action adds after its commit (one cursor upsert and
   one insert, in a transaction of its own), for 1, 3 and 1,000 recipients: an action's usual 2–4
   recipients and a sweep batch's. The create rate with the write included is bench_tickets.py's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, check_database, setup_django

check_database("bench_realtime")
setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

call_command("migrate", verbosity=0)

from accounts import services as account_services  # noqa: E402
from helpdesk.core import eventlog  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.ws_client import WebSocket  # noqa: E402

PAYLOAD = {
    "id": 1,
    "number": "TS20261205001",
    "title": "多媒体教室投影仪无信号",
    "state": "in_progress",
    "priority": "P3",
    "updated_at": "2026-12-05T09:30:00+08:00",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_daphne() -> tuple[subprocess.Popen, int]:
    port = _free_port()
    log = open(tempfile.mkstemp(prefix="bench-daphne-")[1], "wb")  # noqa: SIM115 (lives with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "helpdesk.asgi:application"],
        cwd=ROOT,
        env=os.environ | {"DJANGO_DEBUG": "false"},
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.2)
    process.kill()
    sys.exit("daphne did not start")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


RUN = uuid.uuid4().hex[:8]


def bench_resume(port: int, rounds: int = 5) -> None:
    user = UserFactory(username=f"rt_{RUN}_phone")
    key = account_services.token_issue(user=user).key
    wall, server = [], []
    for _ in range(rounds):
        after = eventlog.last_id(user.pk)
        eventlog.store([(user.pk, "ticket.updated", PAYLOAD | {"id": n}) for n in range(1000)])
        started = time.perf_counter()
        replay = eventlog.replay(user.pk, after=after)
        server.append(time.perf_counter() - started)
        assert len(replay.events) == 1000 and not replay.resync

        async def resume(after: int = after) -> float:
            began = time.perf_counter()
            sock = await WebSocket.connect("127.0.0.1", port, f"/ws/?token={key}&last_event_id={after}")
            hello = await sock.receive(timeout=30)
            assert hello["payload"]["resumed"] is True
            ids = [(await sock.receive(timeout=30))["id"] for _ in range(1000)]
            elapsed = time.perf_counter() - began
            assert ids == list(range(after + 1, after + 1001)), "out of order or missing"
            await sock.close()
            return elapsed

        wall.append(asyncio.run(resume()))
    print(f"[resume] 1,000 missed events, handshake to last frame over a real socket: {percentiles(wall)}")
    print(f"[resume] of which the log read (one indexed range): {percentiles(server)}")


def bench_write_overhead(rounds: int = 200) -> None:
    users = [UserFactory(username=f"rt_{RUN}_{n}") for n in range(1000)]
    for recipients in (1, 3, 1000):
        samples = []
        count = rounds if recipients < 1000 else 20
        for _ in range(count):
            items = [(user.pk, "ticket.updated", PAYLOAD) for user in users[:recipients]]
            started = time.perf_counter()
            eventlog.store(items)
            samples.append(time.perf_counter() - started)
        per = statistics.median(samples) / recipients * 1e6
        print(f"[write] {recipients:>4} recipients: {percentiles(samples)} ({per:.0f} µs per recipient)")


def main() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_storedevent, core_eventcursor")
    process, port = start_daphne()
    try:
        bench_resume(port)
        bench_write_overhead()
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    main()
