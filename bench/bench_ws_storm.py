#!/usr/bin/env python
"""Websocket storms against daphne on PostgreSQL and Redis (issue 19).

Starts daphne as run_platform does (``python -m daphne … helpdesk.asgi:application``, DEBUG off,
PostgreSQL, Redis), signs phones in through the API, and reports each daphne process's Redis
connections (Redis CLIENT LIST, matched to the process's own TCP sockets; the channel layer's named
``helpdesk-ws``) and RSS before, at peak and 30 s after, with the events a chosen socket (the
watcher) receives throughout (sent every 0.2 s from this process through helpdesk.core.events.send_event,
as a Celery worker sends them):

1. one process: 2,000 sockets open at once, then close at once, then four bursts of 500 opening
   while the previous 500 close;
2. two processes: 1,000 sockets on process A, the watcher on B; A is restarted and the 1,000
   clients reconnect to it as soon as it answers (a reconnect storm); then every socket of one
   storm user must hear an event sent to that user.

    createdb -h 127.0.0.1 -U postgres bench_ws
    ulimit -n 20000      # 2,000 sockets: this process holds one descriptor per socket, daphne another
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_ws REDIS_URL=redis://127.0.0.1:6379/13 \\
      .venv/bin/python bench/bench_ws_storm.py

``--max-connections N`` sets HELPDESK_CHANNEL_LAYER_MAX_CONNECTIONS for the daphne processes
(100000 is the unbounded pool channels_redis had). See bench/README.md ("Websocket storms").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_common import ROOT, check_database, setup_django

# The handshake limit run_platform gives daphne (helpdesk/management/commands/run_platform.py).
DAPHNE_OPTIONS = ("--websocket_connect_timeout", "30")

OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "out")
HOST = "127.0.0.1"
PASSWORD = "Bench-ws-storm-1"  # noqa: S105 - the bench database's own throwaway accounts


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=2000, help="sockets of the one-process storm")
    parser.add_argument("--reconnecting", type=int, default=1000, help="clients reconnecting after the restart")
    parser.add_argument("--users", type=int, default=40, help="storm users (the sockets are spread over them)")
    parser.add_argument("--settle", type=float, default=30, help="seconds to wait before the 'after' figures")
    parser.add_argument(
        "--burst", type=int, default=250, help="sockets opened at once (2,000 at once overruns daphne's 5 s handshake)"
    )
    parser.add_argument("--only", choices=["one", "two"], help="run one part only")
    parser.add_argument("--max-connections", type=int, default=None, help="HELPDESK_CHANNEL_LAYER_MAX_CONNECTIONS")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Daphne:
    def __init__(self, name: str, env: dict[str, str], port: int | None = None) -> None:
        self.name, self.env, self.port = name, env, port or free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import httpx

        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                *DAPHNE_OPTIONS,
                "-b",
                HOST,
                "-p",
                str(self.port),
                "helpdesk.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://{HOST}:{self.port}/healthz", timeout=2)
                return
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"daphne {self.name} did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid


class Sampler(threading.Thread):
    """Every 0.1 s: each daphne's Redis connections (all, the layer's) and RSS, and Redis's clients."""

    def __init__(self, client, servers: list[Daphne]) -> None:
        super().__init__(daemon=True)
        self.client, self.servers = client, servers
        self.samples: list[tuple[float, str, int, int, float]] = []
        self.running = True

    def snapshot(self, server: Daphne) -> tuple[int, int, float]:
        from tests.helpdesk.ws_client import redis_clients_of, rss_mib

        total, layer = redis_clients_of(server.pid, self.client)
        return total, layer, rss_mib(server.pid)

    def run(self) -> None:
        while self.running:
            for server in list(self.servers):
                try:
                    total, layer, rss = self.snapshot(server)
                except (FileNotFoundError, ProcessLookupError, RuntimeError):  # restarting
                    continue
                self.samples.append((time.monotonic(), server.name, total, layer, rss))
            time.sleep(0.1)

    def peak(self, name: str, since: float) -> dict:
        mine = [s for s in self.samples if s[1] == name and s[0] >= since]
        return {
            "redis": max(s[2] for s in mine),
            "layer": max(s[3] for s in mine),
            "rss_mib": round(max(s[4] for s in mine), 1),
        }


def example_payload() -> dict:
    """A ticket.updated payload of the declared shape (helpdesk.core.event_types)."""
    from helpdesk.core import event_types

    return dict(event_types.get("ticket.updated").examples[0])


class Pump(threading.Thread):
    """An event for the watcher every 0.2 s, from this process, with its send time."""

    def __init__(self, user_id: int) -> None:
        super().__init__(daemon=True)
        self.user_id = user_id
        self.sent: dict[int, float] = {}
        self.running = True

    def run(self) -> None:
        from django.db import connections, transaction

        from helpdesk.core.events import send_event

        number = 0
        while self.running:
            number += 1
            self.sent[number] = time.monotonic()
            with transaction.atomic():
                send_event(
                    user_ids=[self.user_id], event_type="ticket.updated", payload={**example_payload(), "id": number}
                )
            time.sleep(0.2)
        connections.close_all()


class Watcher:
    """The chosen socket: which of the pump's events it received, and how long each took."""

    def __init__(self, sock, pump: Pump) -> None:
        self.sock, self.pump = sock, pump
        self.latency_ms: dict[int, float] = {}
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            message = await self.sock.messages.get()
            if message is None:
                return
            if message.get("type") == "ticket.updated":
                number = message["payload"]["id"]
                if number in self.pump.sent:
                    self.latency_ms[number] = (time.monotonic() - self.pump.sent[number]) * 1000

    async def report(self, first: int) -> dict:
        """The events sent since ``first`` up to now, once each has had 30 s to arrive."""
        last = max(self.pump.sent)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(n not in self.latency_ms for n in range(first, last + 1)):
            await asyncio.sleep(0.1)
        wanted = range(first, last + 1)
        got = [self.latency_ms[n] for n in wanted if n in self.latency_ms]
        missing = [n for n in wanted if n not in self.latency_ms]
        return {
            "sent": len(wanted),
            "received": len(got),
            "lost": len(missing),
            # When each lost event was sent, in seconds before this report.
            "lost_sent_s_ago": [round(time.monotonic() - self.pump.sent[n], 1) for n in missing[:10]],
            "p50_ms": round(statistics.median(got), 1) if got else None,
            "p95_ms": round(statistics.quantiles(got, n=20)[18], 1) if len(got) >= 20 else None,
            "max_ms": round(max(got), 1) if got else None,
        }


def prepare_users(count: int) -> tuple[object, list[object]]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    hashed = make_password(PASSWORD)
    users = []
    for username in ["wsbench-watch", *(f"wsbench-{i:03d}" for i in range(count))]:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = UserFactory(username=username, password=hashed)
        else:
            user.password, user.is_active = hashed, True
            user.save(update_fields=["password", "is_active"])
        users.append(user)
    return users[0], users[1:]


def sign_in(port: int, username: str) -> str:
    import httpx

    response = httpx.post(
        f"http://{HOST}:{port}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}, timeout=60
    )
    response.raise_for_status()
    return response.json()["token"]


async def open_with_retry(port: int, token: str, stats: dict) -> object:
    """A client as static/js/realtime.js is one: a failed attempt is retried after 1 s, doubling, plus
    up to 0.5 s of jitter. Counted: attempts that failed (``retries``)."""
    from tests.helpdesk.ws_client import Refused, open_socket

    delay = 1.0
    for _attempt in range(8):
        try:
            return await open_socket(HOST, port, token)
        except (Refused, OSError, TimeoutError) as error:
            stats["retries"] += 1
            stats.setdefault("errors", set()).add(type(error).__name__ + ": " + str(error)[:80])
            await asyncio.sleep(delay + random.random() * 0.5)
            delay = min(delay * 2, 60)
    raise Refused("gave up after 8 attempts")


async def open_many(port: int, tokens: list[str]) -> tuple[list, dict]:
    """Open a socket per token, all at once; the figures of the storm."""
    stats: dict = {"retries": 0}
    started = time.monotonic()
    results = await asyncio.gather(*(open_with_retry(port, token, stats) for token in tokens), return_exceptions=True)
    opened = [r for r in results if not isinstance(r, BaseException)]
    stats["opened"] = len(opened)
    stats["never_opened"] = len(results) - len(opened)
    stats["seconds"] = round(time.monotonic() - started, 1)
    stats["errors"] = sorted(stats.get("errors", ()))[:5]
    return opened, stats


async def close_many(sockets: list) -> float:
    started = time.monotonic()
    await asyncio.gather(*(sock.close() for sock in sockets))
    return time.monotonic() - started


def point(sampler: Sampler, server: Daphne) -> dict:
    total, layer, rss = sampler.snapshot(server)
    return {"redis": total, "layer": layer, "rss_mib": round(rss, 1)}


def say(text: str) -> None:
    print(text, flush=True)


async def one_process(args, env, sampler: Sampler, watcher_token, storm_tokens, pump: Pump) -> dict:
    from tests.helpdesk.ws_client import open_socket

    a = Daphne("A", env)
    a.start()
    sampler.servers.append(a)
    watcher = Watcher(await open_socket(HOST, a.port, watcher_token), pump)
    await asyncio.sleep(2)
    first_event = max(pump.sent)
    report: dict = {"before": point(sampler, a)}
    phase_start = time.monotonic()
    tokens = [storm_tokens[i % len(storm_tokens)] for i in range(args.sockets)]

    opened, bursts = [], []
    for start in range(0, len(tokens), args.burst):
        new, stats = await open_many(a.port, tokens[start : start + args.burst])
        opened += new
        bursts.append(stats)
    report["open_all"] = {
        "bursts": len(bursts),
        "sockets_per_burst": args.burst,
        "opened": len(opened),
        "never_opened": sum(b["never_opened"] for b in bursts),
        "failed_attempts": sum(b["retries"] for b in bursts),
        "seconds": round(sum(b["seconds"] for b in bursts), 1),
        "slowest_burst_seconds": max(b["seconds"] for b in bursts),
        "errors": sorted({e for b in bursts for e in b["errors"]})[:5],
    }
    report["all_open"] = point(sampler, a)
    say(f"[A] {report['open_all']}; {report['all_open']}")
    await asyncio.sleep(3)
    seconds = await close_many(opened)
    report["close_all"] = {"seconds": round(seconds, 1)}
    report["all_closed"] = point(sampler, a)
    say(f"[A] {len(opened)} closed in {seconds:.1f} s; {report['all_closed']}")

    # Churn: each burst opens sockets while the previous burst's close.
    burst = args.burst
    previous: list = []
    report["churn"] = []
    for _ in range(4):
        (new, stats), _closed = await asyncio.gather(open_many(a.port, tokens[:burst]), close_many(previous))
        report["churn"].append(stats)
        previous = new
    await close_many(previous)
    report["peak"] = sampler.peak("A", phase_start)
    say(f"[A] churn of 4 x {burst}: {report['churn']}; peak {report['peak']}; waiting {args.settle:.0f} s")
    await asyncio.sleep(args.settle)
    report["after_30s"] = point(sampler, a)
    report["watcher_events"] = await watcher.report(first_event)
    say(f"[A] after: {report['after_30s']}; watcher {report['watcher_events']}")
    await watcher.sock.close()
    a.stop()
    sampler.servers.remove(a)
    return report


async def two_processes(args, env, sampler: Sampler, watcher_token, storm_tokens, storm_users, pump: Pump) -> dict:
    from tests.helpdesk.ws_client import Refused, open_socket

    a, b = Daphne("A", env), Daphne("B", env)
    await asyncio.to_thread(a.start)
    await asyncio.to_thread(b.start)
    sampler.servers.extend([a, b])
    watcher = Watcher(await open_socket(HOST, b.port, watcher_token), pump)
    clients: list = [None] * args.reconnecting
    stats = {"connects": 0, "refused_by_server": 0, "server_down": 0}
    stop = asyncio.Event()

    async def client(i: int) -> None:
        """Reconnects as static/js/realtime.js does: 1 s (+ up to 0.5 s) after a close, doubling while
        attempts fail, back to 1 s once one succeeds."""
        token = storm_tokens[i % len(storm_tokens)]
        delay = 1.0
        while not stop.is_set():
            try:
                sock = await open_socket(HOST, a.port, token, timeout=60)
            except Refused:  # the server answered, but not with an open socket
                stats["refused_by_server"] += 1
                sock = None
            except (OSError, TimeoutError):  # nobody listening: A is restarting
                stats["server_down"] += 1
                sock = None
            if sock is None:
                await asyncio.sleep(delay + random.random() * 0.5)
                delay = min(delay * 2, 60)
                continue
            delay = 1.0
            stats["connects"] += 1
            sock.pid = a.pid  # the process that accepted it (A's pid changes on restart)
            clients[i] = sock
            await sock.closed.wait()
            clients[i] = None
            await asyncio.sleep(delay + random.random() * 0.5)

    tasks = [asyncio.create_task(client(i)) for i in range(args.reconnecting)]
    while stats["connects"] < args.reconnecting:
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)
    first_event = max(pump.sent)
    report: dict = {"before_restart": {"A": point(sampler, a), "B": point(sampler, b)}}
    say(f"[A+B] {args.reconnecting} on A, watcher on B: {report['before_restart']}")

    phase_start = time.monotonic()
    restarted_at = time.monotonic()
    old_pid = a.pid
    # In threads: the clients and the watcher keep running on this loop meanwhile.
    await asyncio.to_thread(a.stop)
    await asyncio.to_thread(a.start)  # same port; the clients reconnect as soon as it answers
    report["restart_seconds"] = round(time.monotonic() - restarted_at, 1)
    # Every client has a socket again, on the new process.
    while not all(sock is not None and not sock.closed.is_set() and sock.pid == a.pid for sock in clients):
        await asyncio.sleep(0.1)
    assert a.pid != old_pid
    report["reconnected_seconds"] = round(time.monotonic() - restarted_at, 1)
    report["all_reconnected"] = {"A": point(sampler, a), "B": point(sampler, b)}
    report["reconnect"] = dict(stats)
    say(f"[A+B] all {args.reconnecting} back after {report['reconnected_seconds']} s: {report['all_reconnected']}")

    # Every socket of one storm user hears an event sent to that user after the storm.
    from asgiref.sync import sync_to_async
    from django.db import transaction

    from helpdesk.core.events import send_event

    def send_to_storm_user() -> None:
        with transaction.atomic():
            send_event(
                user_ids=[storm_users[0].pk], event_type="ticket.updated", payload={**example_payload(), "id": -1}
            )

    user0 = [sock for i, sock in enumerate(clients) if i % len(storm_tokens) == 0 and sock is not None]
    await sync_to_async(send_to_storm_user, thread_sensitive=False)()

    async def heard(sock) -> bool:
        try:
            while True:
                message = await sock.receive(10)
                if message.get("type") == "ticket.updated" and message["payload"]["id"] == -1:
                    return True
        except (Refused, TimeoutError):
            return False

    results = await asyncio.gather(*(heard(sock) for sock in user0))
    report["storm_user_event"] = {"sockets": len(user0), "heard": sum(results)}
    report["peak"] = {"A": sampler.peak("A", phase_start), "B": sampler.peak("B", phase_start)}
    say(f"[A+B] storm user's event heard by {sum(results)}/{len(user0)}; peak {report['peak']}")
    await asyncio.sleep(args.settle)
    report["after_30s"] = {"A": point(sampler, a), "B": point(sampler, b)}
    stop.set()
    await close_many([sock for sock in clients if sock is not None])
    for task in tasks:
        task.cancel()
    report["all_closed"] = {"A": point(sampler, a), "B": point(sampler, b)}
    report["watcher_events"] = await watcher.report(first_event)
    say(f"[A+B] after: {report['after_30s']}; closed: {report['all_closed']}; watcher {report['watcher_events']}")
    await watcher.sock.close()
    for server in (a, b):
        server.stop()
    return report


async def main_async(args, env, client, watcher_user, storm_users) -> dict:
    probe = Daphne("sign-in", env)
    probe.start()
    try:
        watcher_token = sign_in(probe.port, watcher_user.username)
        storm_tokens = [sign_in(probe.port, user.username) for user in storm_users]
    finally:
        probe.stop()
    sampler = Sampler(client, [])
    sampler.start()
    pump = Pump(watcher_user.pk)
    pump.start()
    try:
        report = {}
        if args.only in (None, "one"):
            report["one_process"] = await one_process(args, env, sampler, watcher_token, storm_tokens, pump)
        if args.only in (None, "two"):
            report["two_processes"] = await two_processes(
                args, env, sampler, watcher_token, storm_tokens, storm_users, pump
            )
    finally:
        pump.running = False
        sampler.running = False
    return report


def main() -> None:
    args = parse_args()
    check_database("bench_ws")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL, e.g. redis://127.0.0.1:6379/13")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * args.sockets + 1000
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, 20000)), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        sys.exit(f"ulimit -n is below {needed}: raise it (ulimit -n 20000)")
    setup_django()
    import redis
    from django.conf import settings

    watcher_user, storm_users = prepare_users(args.users)
    var_dir = tempfile.mkdtemp(prefix="bench-ws-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))} | {
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        "HELPDESK_VAR_DIR": var_dir,
    }
    if args.max_connections:
        env["HELPDESK_CHANNEL_LAYER_MAX_CONNECTIONS"] = str(args.max_connections)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    layer_config = settings.CHANNEL_LAYERS["default"]
    say(f"layer {layer_config['BACKEND']}, pool {env.get('HELPDESK_CHANNEL_LAYER_MAX_CONNECTIONS', 'default')}")
    report = asyncio.run(main_async(args, env, client, watcher_user, storm_users))
    report["redis_connected_clients_end"] = client.info("clients")["connected_clients"]
    report["max_connections"] = args.max_connections or settings.CHANNEL_LAYER_MAX_CONNECTIONS
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ws_storm.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
