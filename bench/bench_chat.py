#!/usr/bin/env python
"""One-to-one chat against daphne on PostgreSQL and Redis (issue 15's benchmark).

Starts daphne as run_platform does (``manage.py serve_ws``: ``--processes`` daphnes sharing one port,
the kernel spreading the connections over them), makes ``--pairs`` pairs of users each in one
conversation, and opens a socket per user. Three parts:

1. latency: every sender sends ``chat.send`` frames at a steady total ``--rate`` (500 messages/s)
   for ``--seconds``; the end-to-end latency is from the frame leaving this process to the
   receiver's socket delivering its ``chat.message`` (p50/p95/p99/max), with the ack time beside it;
   every message is checked: delivered once, in sequence order per conversation, none lost. The
   first ``--warmup`` seconds (3) at the same rate are checked the same way but not timed: the
   server's first second opens its pool's database connections and prepares its statements (p99
   ~250 ms there against ~40 ms in the seconds after); the worst seconds are listed
   (``slowest_seconds``);
2. sustained: each sender keeps ``--window`` messages in flight (the next goes when one is acked) for
   ``--seconds``: messages stored and delivered per second;
3. idle sockets: ``--idle`` (2,000) more sockets opened and left idle; the daphnes' RSS (summed)
   before and after, per connection.

    createdb -h 127.0.0.1 -U postgres bench_chat
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_chat REDIS_URL=redis://127.0.0.1:6379/13 \\
      .venv/bin/python bench/bench_chat.py

The per-user rate limit (10 messages/s) applies: the pairs are many enough that each sender stays
under it at the target rate; a rate-limited frame (sustained part) is sent again 0.1 s later with
the same client id, as a client would. ``--server uvicorn`` serves the same application with uvicorn
instead (an experiment: uvicorn is not a dependency; install it into the venv to run it). Results:
bench/out/chat.json. See bench/README.md ("Chat").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_common import ROOT, check_database, host_speed_ms, setup_django

HOST = "127.0.0.1"
OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "out")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100, help="conversations (two users each)")
    parser.add_argument("--rate", type=float, default=500, help="messages per second, all senders together")
    parser.add_argument("--seconds", type=float, default=20, help="length of the latency and sustained parts")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3,
        help="seconds at the latency part's rate before it is measured (connections opened, statements prepared)",
    )
    parser.add_argument("--window", type=int, default=3, help="messages in flight per sender (sustained part)")
    parser.add_argument("--idle", type=int, default=2000, help="idle sockets for the memory figure")
    parser.add_argument(
        "--processes", type=int, choices=[1, 2, 3, 4], default=1, help="daphne processes on the one port (serve_ws)"
    )
    parser.add_argument("--only", choices=["latency", "sustained", "idle"], help="run one part only")
    parser.add_argument(
        "--server",
        choices=["daphne", "uvicorn"],
        default="daphne",
        help="ASGI server (uvicorn: an experiment, to tell the server's own cost; not in the project's dependencies)",
    )
    return parser.parse_args()


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def prepare(pairs: int) -> list[tuple[int, str, str]]:
    """(conversation id, sender token, receiver token) per pair."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts import services as account_services
    from chat import services as chat_services
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    users = get_user_model()
    out = []
    for n in range(pairs):
        people = []
        for side in ("a", "b"):
            username = f"chatbench-{n:04d}{side}"
            user = users.objects.filter(username=username).first() or UserFactory(username=username)
            people.append(user)
        forget_dead_sockets([user.pk for user in people])
        conversation, _created = chat_services.conversation_start(user=people[0], other_id=people[1].pk)
        out.append(
            (
                conversation.pk,
                account_services.token_issue(user=people[0], name="bench").key,
                account_services.token_issue(user=people[1], name="bench").key,
            )
        )
    return out


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far (/proc/<pid>/stat), robust to the shared machine's
    load where latency is not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of the PostgreSQL backends serving the benchmark's database (same machine)."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # a backend that ended meanwhile
            total += cpu_seconds(pid)
    return total


def redis_pid() -> int:
    import redis

    client = redis.from_url(os.environ["REDIS_URL"])
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


class CpuMeter:
    """The daphnes' (together), PostgreSQL's, Redis's and this client's own CPU time over one part, per
    message delivered: all four share the machine's two cores, so the client's and Redis's share is
    part of what the server is left with."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.host_speed = host_speed_ms()  # before the counters: the loop's own CPU is not counted
        self.redis_pid = redis_pid()
        self.daphne = sum(cpu_seconds(pid) for pid in server.pids())
        self.postgres = postgres_cpu_seconds()
        self.redis = cpu_seconds(self.redis_pid)
        self.client = cpu_seconds(os.getpid())
        self.load = os.getloadavg()

    def report(self, delivered: int) -> dict:
        daphne = sum(cpu_seconds(pid) for pid in self.server.pids()) - self.daphne
        postgres = postgres_cpu_seconds() - self.postgres
        redis_cpu = cpu_seconds(self.redis_pid) - self.redis
        client = cpu_seconds(os.getpid()) - self.client
        per = max(delivered, 1)
        return {
            "daphne_cpu_s": round(daphne, 2),
            "daphne_cpu_ms_per_message": round(daphne * 1000 / per, 2),
            "postgres_cpu_s": round(postgres, 2),
            "postgres_cpu_ms_per_message": round(postgres * 1000 / per, 2),
            "redis_cpu_ms_per_message": round(redis_cpu * 1000 / per, 2),
            "client_cpu_ms_per_message": round(client * 1000 / per, 2),
            "load_average_start": self.load,
            "load_average_end": os.getloadavg(),
            # The machine's speed (bench_common.host_speed_ms), read after the counters stopped.
            "host_loop_ms_before_after": [self.host_speed, host_speed_ms()],
        }


def forget_dead_sockets(user_ids: list[int]) -> None:
    """A daphne stopped by an earlier run leaves its sockets in the users' groups until the layer's
    group expiry (a day); every event would still be queued for them. This run starts clean."""
    import redis
    from django.conf import settings

    client = redis.from_url(os.environ["REDIS_URL"])
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    client.delete(*(f"{prefix}:group:user.{uid}" for uid in user_ids))
    client.close()


class Server:
    """``manage.py serve_ws`` (its daphnes are its children), or uvicorn in one process."""

    def __init__(self, env: dict[str, str], server: str = "daphne", processes: int = 1) -> None:
        from tests.daphne_server import free_port

        self.env, self.port, self.server, self.processes = env, free_port(), server, processes
        self.process: subprocess.Popen | None = None

    def pids(self) -> list[int]:
        """The processes serving the sockets: serve_ws's daphnes, or uvicorn itself."""
        if self.server == "uvicorn":
            return [self.process.pid]
        pid = self.process.pid
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def start(self) -> Server:
        import httpx

        from helpdesk.management.commands.serve_ws import DAPHNE_ENV

        if self.server == "uvicorn":
            if self.processes != 1:
                sys.exit("--server uvicorn runs one process only (serve_ws starts daphne)")
            command = ["-m", "uvicorn", "--host", HOST, "--port", str(self.port), "--no-access-log"]
            command += ["--lifespan", "off", "helpdesk.asgi:application"]
        else:
            command = ["manage.py", "serve_ws", "--host", HOST, "--port", str(self.port)]
            command += ["--processes", str(self.processes)]
        self.process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=DAPHNE_ENV | self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        # Wait for every daphne, not the first to load the application: each request is a new
        # connection, given by the kernel to any one of them (it waits in the queue of one still
        # loading), so 8 more per extra process reach them all but for a chance under 1%.
        answered = 0
        while answered < 1 + 8 * (self.processes - 1):
            try:
                httpx.get(f"http://{HOST}:{self.port}/healthz", timeout=max(2, deadline - time.monotonic()))
                answered += 1
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    sys.exit(f"{self.server} did not start")
                time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Pair:
    """One conversation: the sender's and the receiver's sockets and what each saw."""

    def __init__(self, conversation: int, sender, receiver) -> None:
        self.conversation, self.sender, self.receiver = conversation, sender, receiver
        self.sent_at: dict[str, float] = {}
        self.acked_at: dict[str, float] = {}
        self.acked_seq: dict[str, int] = {}
        self.delivered: dict[str, float] = {}
        self.duplicates = 0
        self.out_of_order = 0
        self.last_seq: int | None = None
        self.errors: dict[str, int] = {}
        self.ack_waiters: dict[str, asyncio.Future] = {}
        self.part = ""  # the client id prefix of the part being measured

    def reset(self) -> None:
        """Forget what was counted (after the warm-up); the conversation's numbering goes on."""
        self.sent_at, self.acked_at, self.acked_seq, self.delivered, self.errors = {}, {}, {}, {}, {}
        self.duplicates = self.out_of_order = 0

    async def read_sender(self) -> None:
        while True:
            frame = await self.sender.messages.get()
            if frame is None:
                return
            payload = frame.get("payload", {})
            client_id = payload.get("client_id")
            if frame["type"] == "chat.ack":
                self.acked_at.setdefault(client_id, time.perf_counter())
                self.acked_seq[client_id] = payload["seq"]
                waiter = self.ack_waiters.pop(client_id, None)
                if waiter and not waiter.done():
                    waiter.set_result("ack")
            elif frame["type"] == "error" and client_id:
                code = payload.get("code", "?")
                self.errors[code] = self.errors.get(code, 0) + 1
                waiter = self.ack_waiters.pop(client_id, None)
                if waiter and not waiter.done():
                    waiter.set_result(code)

    async def read_receiver(self) -> None:
        while True:
            frame = await self.receiver.messages.get()
            if frame is None:
                return
            if frame["type"] != "chat.message":
                continue
            message = frame["payload"]["message"]
            if not message["client_id"].startswith(self.part):
                continue  # a message of an earlier part, still being delivered
            if message["client_id"] in self.delivered:
                self.duplicates += 1
                continue
            self.delivered[message["client_id"]] = time.perf_counter()
            if self.last_seq is not None and message["seq"] != self.last_seq + 1:
                self.out_of_order += 1
            self.last_seq = message["seq"]

    def send(self, client_id: str) -> asyncio.Future:
        self.sent_at.setdefault(client_id, time.perf_counter())
        waiter = asyncio.get_running_loop().create_future()
        self.ack_waiters[client_id] = waiter
        self.sender.send_json(
            {
                "type": "chat.send",
                "client_id": client_id,
                "conversation": self.conversation,
                "text": "你好，收到请回复 👍",
            }
        )
        return waiter


async def open_pairs(server: Server, pairs: list[tuple[int, str, str]]) -> list[Pair]:
    from tests.helpdesk.ws_client import open_socket

    out = []
    for start in range(0, len(pairs), 50):
        chunk = pairs[start : start + 50]
        # One port: with several daphnes the kernel picks each socket's, so about half the pairs have
        # their two ends on different processes (events through Redis), as clients would.
        senders = await asyncio.gather(*(open_socket(HOST, server.port, a) for _c, a, _b in chunk))
        receivers = await asyncio.gather(*(open_socket(HOST, server.port, b) for _c, _a, b in chunk))
        out.extend(Pair(c, s, r) for (c, _a, _b), s, r in zip(chunk, senders, receivers, strict=True))
    return out


async def settle(pairs: list[Pair], timeout: float = 180) -> None:
    """Wait until every acknowledged message was delivered (or ``timeout``), then a second more:
    anything that would come twice comes by then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(set(p.acked_at) <= set(p.delivered) for p in pairs):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)


async def keep_alive(pairs: list[Pair], every: float = 25) -> None:
    """What static/js/realtime.js does: a ping every 25 s. The server answers after sending any
    stored event the socket has not received, which is how a socket whose live stream dropped an
    event (a backlog older than the channel layer's 60 s expiry) catches up."""
    while True:
        await asyncio.sleep(every)
        for pair in pairs:
            for sock in (pair.sender, pair.receiver):
                if not sock.closed.is_set():
                    sock.send_json({"type": "ping"})


def tally(pairs: list[Pair], sent: int) -> dict:
    """Every acknowledged message must be delivered once, in order; rates over the whole part, from
    the first frame sent to the last message delivered."""
    latencies = [(p.delivered[c] - p.sent_at[c]) * 1000 for p in pairs for c in p.delivered if c in p.sent_at]
    acks = [(p.acked_at[c] - p.sent_at[c]) * 1000 for p in pairs for c in p.acked_at if c in p.sent_at]
    acked = sum(len(p.acked_at) for p in pairs)
    delivered = sum(len(p.delivered) for p in pairs)
    first = min(t for p in pairs for t in p.sent_at.values())
    last = max((t for p in pairs for t in p.delivered.values()), default=first)
    errors: dict[str, int] = {}
    for p in pairs:
        for code, count in p.errors.items():
            errors[code] = errors.get(code, 0) + count
    return {
        "sent": sent,
        "acked": acked,
        "delivered": delivered,
        "lost": sum(len(set(p.acked_at) - set(p.delivered)) for p in pairs),
        "unexpected": sum(len(set(p.delivered) - set(p.sent_at)) for p in pairs),
        "duplicates": sum(p.duplicates for p in pairs),
        "out_of_order": sum(p.out_of_order for p in pairs),
        "errors": errors,
        "seconds_to_last_delivery": round(last - first, 1),
        "delivered_per_s": round(delivered / max(last - first, 1e-9), 1),
        "latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": round(max(latencies), 1) if latencies else None,
        },
        "ack_ms": {"p50": percentile(acks, 0.50), "p99": percentile(acks, 0.99)},
        "slowest_seconds": slowest_seconds(pairs, first),
    }


def slowest_seconds(pairs: list[Pair], first: float, shown: int = 5) -> list[dict]:
    """The seconds of the part (by when the message left) whose p99 was worst: whether the tail is a
    few stalls or spread over the run."""
    by_second: dict[int, list[float]] = {}
    for p in pairs:
        for c, delivered in p.delivered.items():
            if c in p.sent_at:
                by_second.setdefault(int(p.sent_at[c] - first), []).append((delivered - p.sent_at[c]) * 1000)
    rows = [
        {"second": second, "messages": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99)}
        for second, values in by_second.items()
    ]
    return sorted(rows, key=lambda row: -(row["p99"] or 0))[:shown]


async def latency_part(pairs: list[Pair], rate: float, seconds: float, run: str) -> dict:
    """Open loop: message k of the run leaves at k / rate, from the pairs in turn."""
    part = f"{run}-l-"
    for pair in pairs:
        pair.part = part
    total = int(rate * seconds)
    started = time.perf_counter()
    for k in range(total):
        due = started + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pairs[k % len(pairs)].send(f"{part}{k}")
    sending = time.perf_counter() - started
    deadline = time.monotonic() + 180
    while sum(len(p.acked_at) + sum(p.errors.values()) for p in pairs) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await settle(pairs)
    report = tally(pairs, total)
    report["target_rate"] = rate
    report["achieved_send_rate"] = round(total / sending, 1)
    return report


async def sustained_part(pairs: list[Pair], window: int, seconds: float, run: str) -> dict:
    """Closed loop: each sender keeps ``window`` frames unanswered; a rate-limited one goes again."""
    stop_at = time.perf_counter() + seconds
    counter = 0
    part = f"{run}-s-"
    for pair in pairs:
        pair.part = part

    async def sender(pair: Pair, lane: int) -> None:
        nonlocal counter
        n = 0
        while time.perf_counter() < stop_at:
            client_id = f"{part}{pair.conversation}-{lane}-{n}"
            while True:
                answer = await pair.send(client_id)
                if answer == "ack":
                    break
                await asyncio.sleep(0.1)
            n += 1
            counter += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender(pair, lane) for pair in pairs for lane in range(window)))
    elapsed = time.perf_counter() - started
    await settle(pairs)
    report = tally(pairs, counter)
    report["acked_per_s"] = round(report["acked"] / elapsed, 1)
    return report


async def idle_part(server: Server, tokens: list[str], count: int) -> dict:
    from tests.helpdesk.ws_client import open_socket, rss_mib

    await asyncio.sleep(2)
    before = sum(rss_mib(pid) for pid in server.pids())
    sockets = []
    for start in range(0, count, 200):
        chunk = [tokens[(start + i) % len(tokens)] for i in range(min(200, count - start))]
        sockets.extend(await asyncio.gather(*(open_socket(HOST, server.port, token) for token in chunk)))
    await asyncio.sleep(5)
    after = sum(rss_mib(pid) for pid in server.pids())
    await asyncio.gather(*(sock.close() for sock in sockets))
    return {
        "sockets": len(sockets),
        "rss_before_mib": round(before, 1),
        "rss_after_mib": round(after, 1),
        "kib_per_socket": round((after - before) * 1024 / max(len(sockets), 1), 1),
    }


async def main_async(args, server: Server, prepared) -> dict:
    report: dict = {"pairs": args.pairs, "processes": args.processes, "server": args.server}
    run = uuid.uuid4().hex[:8]
    if args.only in (None, "latency", "sustained"):
        pairs = await open_pairs(server, prepared)
        readers = [asyncio.create_task(r) for p in pairs for r in (p.read_sender(), p.read_receiver())]
        readers.append(asyncio.create_task(keep_alive(pairs)))
        if args.only in (None, "latency"):
            print(f"latency at {args.rate:g}/s for {args.seconds:g} s …", flush=True)
            if args.warmup > 0:
                warmup = await latency_part(pairs, args.rate, args.warmup, f"{run}-w")
                print(f"warm-up: {json.dumps(warmup)}", flush=True)
                for pair in pairs:
                    pair.reset()
            meter = CpuMeter(server)
            report["latency"] = await latency_part(pairs, args.rate, args.seconds, run)
            if args.warmup > 0:
                report["latency"]["warmup"] = {key: warmup[key] for key in ("sent", "delivered", "lost", "latency_ms")}
            report["latency"]["cpu"] = meter.report(report["latency"]["delivered"])
            print(json.dumps(report["latency"]), flush=True)
        if args.only in (None, "sustained"):
            fresh = await open_pairs(server, prepared)
            for p in pairs:
                await p.sender.close()
                await p.receiver.close()
            for task in readers:
                task.cancel()
            pairs = fresh
            readers = [asyncio.create_task(r) for p in pairs for r in (p.read_sender(), p.read_receiver())]
            readers.append(asyncio.create_task(keep_alive(pairs)))
            print(f"sustained, {args.window} in flight per sender, {args.seconds:g} s …", flush=True)
            meter = CpuMeter(server)
            report["sustained"] = await sustained_part(pairs, args.window, args.seconds, run)
            report["sustained"]["cpu"] = meter.report(report["sustained"]["delivered"])
            print(json.dumps(report["sustained"]), flush=True)
        for p in pairs:
            await p.sender.close()
            await p.receiver.close()
        for task in readers:
            task.cancel()
    if args.only in (None, "idle"):
        print(f"{args.idle} idle sockets …", flush=True)
        tokens = [token for _c, a, b in prepared for token in (a, b)]
        report["idle"] = await idle_part(server, tokens, args.idle)
        print(json.dumps(report["idle"]), flush=True)
    return report


def main() -> None:
    args = parse_args()
    check_database("bench_chat")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL, e.g. redis://127.0.0.1:6379/13")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * (args.idle + 2 * args.pairs) + 1000
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, 20000)), hard))
    setup_django()
    prepared = prepare(args.pairs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))} | {
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        "HELPDESK_VAR_DIR": tempfile.mkdtemp(prefix="bench-chat-"),
    }
    server = Server(env, args.server, args.processes).start()
    try:
        report = asyncio.run(main_async(args, server, prepared))
    finally:
        server.stop()
    report["load_average"] = os.getloadavg()
    report["cpus"] = os.cpu_count()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "chat.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    latency = report.get("latency")
    if latency:
        print(
            f"latency p50 {latency['latency_ms']['p50']} ms, p99 {latency['latency_ms']['p99']} ms at "
            f"{latency['achieved_send_rate']}/s; lost {latency['lost']}, duplicates {latency['duplicates']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
