#!/usr/bin/env python
"""Group chat fan-out against daphne on PostgreSQL and Redis (issue 16's benchmark).

For each ``--sizes`` (500 and 2,000 members): a group of that many users, every member connected
with one socket to daphne (as run_platform starts it), then ``--messages`` messages sent one after
another over ``chat.send`` by members in turn (a new one when the previous reached everyone, or
after ``--gap`` seconds). For each message: the fan-out time (the frame leaving this process → the
last member's socket delivering its ``chat.message``) and each member's delivery latency, as
p50/p99 over all deliveries. Every message must reach every other member's socket exactly once, in
sequence order: lost, duplicated and out-of-order deliveries are counted (all must be 0).

    createdb -h 127.0.0.1 -U postgres bench_groups
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_groups REDIS_URL=redis://127.0.0.1:6379/13 \\
      .venv/bin/python bench/bench_groups.py

Results: bench/out/groups.json. See bench/README.md ("Groups").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_chat import HOST, Server, cpu_seconds, forget_dead_sockets, percentile
from bench_common import ROOT, check_database, setup_django

OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "out")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,2000", help="group sizes, comma-separated")
    parser.add_argument("--messages", type=int, default=30, help="messages per group")
    parser.add_argument("--gap", type=float, default=30, help="at most this long between two messages (s)")
    parser.add_argument("--settle", type=float, default=120, help="at most this long for stragglers at the end (s)")
    return parser.parse_args()


def prepare(size: int, run: str) -> tuple[int, list[tuple[int, str]]]:
    """A new group of ``size`` users (made once, reused across runs): its id and (user id, token) per member."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts import services as account_services
    from chat.services import group_members, groups
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    users = get_user_model()
    people = []
    for n in range(size):
        username = f"groupbench-{n:04d}"
        people.append(users.objects.filter(username=username).first() or UserFactory(username=username))
    forget_dead_sockets([user.pk for user in people])
    owner, rest = people[0], people[1:]
    conversation = groups.group_create(user=owner, name=f"bench {size} {run}", member_ids=[p.pk for p in rest[:400]])
    if size > 500:
        group_members.member_limit_set(user=owner, conversation_id=conversation.pk, limit=size)
    for start in range(400, len(rest), 400):
        groups.members_add(
            user=owner, conversation_id=conversation.pk, user_ids=[p.pk for p in rest[start : start + 400]]
        )
    tokens = [(user.pk, account_services.token_issue(user=user, name="bench").key) for user in people]
    return conversation.pk, tokens


class Member:
    def __init__(self, user_id: int, sock) -> None:
        self.user_id, self.sock = user_id, sock
        self.delivered: dict[str, float] = {}
        self.duplicates = 0
        self.out_of_order = 0
        self.last_seq: int | None = None
        self.acks: dict[str, float] = {}
        self.errors: list[str] = []

    async def read(self, prefix: str, arrived: asyncio.Queue) -> None:
        while True:
            frame = await self.sock.messages.get()
            if frame is None:
                return
            payload = frame.get("payload", {})
            if frame["type"] == "chat.ack":
                self.acks[payload["client_id"]] = time.perf_counter()
            elif frame["type"] == "error":
                self.errors.append(payload.get("code", "?"))
            elif frame["type"] == "chat.message":
                message = payload["message"]
                client_id = message["client_id"]
                if not client_id.startswith(prefix):
                    continue  # the group's creation, replayed on connect
                if client_id in self.delivered:
                    self.duplicates += 1
                    continue
                self.delivered[client_id] = time.perf_counter()
                # Increasing; a gap is this member's own message (the sending socket gets the ack).
                if self.last_seq is not None and message["seq"] <= self.last_seq:
                    self.out_of_order += 1
                self.last_seq = message["seq"]
                arrived.put_nowait(client_id)


async def run_group(
    server: Server, group: int, tokens: list[tuple[int, str]], messages: int, gap: float, settle: float
) -> dict:
    from tests.helpdesk.ws_client import open_socket

    opened = time.perf_counter()
    members: list[Member] = []
    for start in range(0, len(tokens), 200):
        chunk = tokens[start : start + 200]
        socks = await asyncio.gather(*(open_socket(HOST, server.port, token) for _uid, token in chunk))
        members.extend(Member(uid, sock) for (uid, _token), sock in zip(chunk, socks, strict=True))
    connect_seconds = time.perf_counter() - opened
    await asyncio.sleep(3)  # the creation's replay, if any, drains
    prefix = f"fan-{uuid.uuid4().hex[:8]}-"
    arrived: asyncio.Queue = asyncio.Queue()
    readers = [asyncio.create_task(m.read(prefix, arrived)) for m in members]

    async def keep_alive(every: float = 25) -> None:
        while True:
            await asyncio.sleep(every)
            for member in members:
                if not member.sock.closed.is_set():
                    member.sock.send_json({"type": "ping"})

    pinger = asyncio.create_task(keep_alive())
    cpu_before, load_before = sum(cpu_seconds(pid) for pid in server.pids()), os.getloadavg()
    sent_at: dict[str, float] = {}
    senders: dict[str, Member] = {}
    fan_out: list[float] = []
    for k in range(messages):
        client_id = f"{prefix}{k}"
        sender = members[(k * 7) % len(members)]
        senders[client_id] = sender
        expected = len(members) - 1
        sent_at[client_id] = time.perf_counter()
        sender.sock.send_json({"type": "chat.send", "client_id": client_id, "conversation": group, "text": f"第{k}条"})
        deadline = time.monotonic() + gap
        while sum(1 for m in members if client_id in m.delivered) < expected and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(arrived.get(), timeout=max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                break
        times = [m.delivered[client_id] for m in members if client_id in m.delivered]
        if len(times) == expected:
            fan_out.append((max(times) - sent_at[client_id]) * 1000)
    # Wait for stragglers (up to ``settle`` s, pinging as browsers do: a socket whose live stream
    # dropped events behind a backlog catches up from the event log on its ping), then 2 s more:
    # anything delivered twice arrives by then.
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        missing = sum(1 for c, s in senders.items() for m in members if m is not s and c not in m.delivered)
        if not missing:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    daphne_cpu = sum(cpu_seconds(pid) for pid in server.pids()) - cpu_before
    pinger.cancel()
    latencies = [(m.delivered[c] - sent_at[c]) * 1000 for m in members for c in m.delivered if c in sent_at]
    expected_total = sum(len(members) - 1 for _ in sent_at)
    lost = sum(1 for c, s in senders.items() for m in members if m is not s and c not in m.delivered)
    echoed = sum(1 for c, s in senders.items() if c in s.delivered)  # the sending socket gets the ack instead
    for task in readers:
        task.cancel()
    await asyncio.gather(*(m.sock.close() for m in members), return_exceptions=True)
    return {
        "members": len(members),
        "connect_seconds": round(connect_seconds, 1),
        "messages": len(sent_at),
        "acked": sum(len(m.acks) for m in members),
        "errors": sum(len(m.errors) for m in members),
        "deliveries_expected": expected_total,
        "deliveries": sum(len(m.delivered) for m in members) - echoed,
        "lost": lost,
        "duplicates": sum(m.duplicates for m in members),
        "out_of_order": sum(m.out_of_order for m in members),
        "fanned_out_within_gap": len(fan_out),
        "fan_out_ms": {
            "p50": percentile(fan_out, 0.50),
            "p99": percentile(fan_out, 0.99),
            "max": round(max(fan_out), 1) if fan_out else None,
        },
        # daphne's CPU time from the first message to the end of the settling, per message sent and
        # per delivery: robust to the shared machine's load, which latency is not.
        "daphne_cpu_s": round(daphne_cpu, 2),
        "daphne_cpu_ms_per_message": round(daphne_cpu * 1000 / max(len(sent_at), 1), 1),
        "daphne_cpu_us_per_delivery": round(daphne_cpu * 1e6 / max(expected_total, 1), 1),
        "load_average_start": load_before,
        "load_average_end": os.getloadavg(),
        "delivery_latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99),
            "max": round(max(latencies), 1) if latencies else None,
        },
    }


def main() -> None:
    args = parse_args()
    check_database("bench_groups")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL, e.g. redis://127.0.0.1:6379/13")
    sizes = [int(size) for size in args.sizes.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * max(sizes) + 1000
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, 20000)), hard))
    setup_django()
    run = uuid.uuid4().hex[:6]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))} | {
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        "HELPDESK_VAR_DIR": tempfile.mkdtemp(prefix="bench-groups-"),
    }
    report: dict = {"runs": []}
    for size in sizes:
        print(f"group of {size}: preparing …", flush=True)
        group, tokens = prepare(size, run)
        server = Server(env).start()
        try:
            print(f"group of {size}: {args.messages} messages …", flush=True)
            result = asyncio.run(run_group(server, group, tokens, args.messages, args.gap, args.settle))
        finally:
            server.stop()
        print(json.dumps(result), flush=True)
        report["runs"].append(result)
    report["load_average"] = os.getloadavg()
    report["cpus"] = os.cpu_count()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "groups.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
