#!/usr/bin/env python
"""Tickets benchmark at national scale on PostgreSQL.

Loads the divisions, schools, users and 1,000,000 tickets (or tops up what a previous run left),
then measures what the support centre feels:

1. filing tickets through the API: the HTTP server docker-compose runs (gunicorn, sync workers) under
   concurrent connections from wrk with token auth; creates per second, latency, CPU and queries per
   create, numbers gap-free afterwards;
2. the agents' queues (assigned, pool, due soon, review) as selector queries and through the API,
   including the 10th page by cursor;
3. search by Chinese words (agents in their scope, askers in their own tickets) and by number prefix;
4. the SLA sweep with 1% of the open tickets due;
5. queries per list request for page sizes 10 and 50 and the first and 10th page;
6. EXPLAIN (ANALYZE, BUFFERS) of the queue, search and sweep queries.

    createdb -h 127.0.0.1 -U postgres bench_tickets
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_tickets .venv/bin/python bench/bench_tickets.py

See bench/README.md ("Tickets benchmark") for options and the figures measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlparse

from bench_common import ROOT, check_database, host_speed_ms, setup_django, timed

OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "out")  # a helper run can write elsewhere
PAGE = 21  # a page of 20 plus the row that tells the paginator there is more
TARGET_P95_MS = 50.0
TARGET_CREATES_PER_S = 300.0
TARGET_SWEEP_MS = 500.0
SEARCH_WORDS = [
    "投影仪",
    "无法开机",
    "电子白板",
    "触控失灵",
    "校园网",
    "断网",
    "教务系统",
    "登录失败",
    "导出成绩",
    "蓝屏",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=50_000, help="schools wanted in the database")
    parser.add_argument("--users", type=int, default=200_000, help="users wanted in the database")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets wanted in the database")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per line")
    parser.add_argument("--creates", type=int, default=3000, help="tickets filed through the API (thread client)")
    parser.add_argument(
        "--keep-created", action="store_true", help="keep the tickets the create test files (default: delete them)"
    )
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="time the sweep without the worker's gc.freeze() of its startup objects (helpdesk/runtime.py)",
    )
    parser.add_argument("--create-seconds", type=int, default=20, help="how long wrk files tickets")
    parser.add_argument("--workers", type=int, default=3, help="server processes for the create test")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections (or client threads)")
    parser.add_argument(
        "--load-generator",
        choices=("wrk", "threads"),
        default="wrk" if shutil.which("wrk") else "threads",
        help="wrk (C, Debian's package: costs the two cores almost nothing) or Python client threads (httpx)",
    )
    parser.add_argument(
        "--server-db",
        choices=("project", "close", "pool"),
        default="project",
        help="database connections of the server processes: the project's settings (psycopg pool), "
        "a new connection per request, or a small pool of 2–4",
    )
    parser.add_argument("--server-pythonpath", default="", help="extra PYTHONPATH for the server processes")
    parser.add_argument(
        "--server",
        choices=("gunicorn", "daphne"),
        default="gunicorn",
        help="gunicorn (WSGI sync workers, as docker-compose serves HTTP) or daphne (ASGI, one process per --workers)",
    )
    parser.add_argument("--sweep-runs", type=int, default=10)
    parser.add_argument("--due-share", type=float, default=0.01, help="share of open tickets due for the sweep")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-load", action="store_true", help="measure what is there, load nothing")
    parser.add_argument(
        "--only", default="", help="comma-separated parts: sweep,queues,search,counts,explain,create (default all)"
    )
    return parser.parse_args()


def load(args: argparse.Namespace, report: dict) -> None:
    from django.core.management import call_command

    from accounts.models import User
    from orgtree.models import OrgLevel, OrgUnit
    from tickets.models import Ticket

    timed("migrate", lambda: call_command("migrate", verbosity=0), report)
    timed("load_divisions", lambda: call_command("load_divisions", no_progress=True), report)
    schools = args.schools - OrgUnit.objects.filter(level=OrgLevel.SCHOOL).count()
    if schools > 0:
        timed(
            f"generate_scale --schools {schools}",
            lambda: call_command("generate_scale", schools=schools, batch_size=20_000, seed=args.seed),
            report,
        )
    users = args.users - User.objects.count()
    if users > 0:
        timed(
            f"generate_scale --users {users}",
            lambda: call_command("generate_scale", users=users, batch_size=20_000, seed=args.seed + 1),
            report,
        )
    tickets = args.tickets - Ticket.objects.count()
    if tickets > 0:
        timed(
            f"generate_tickets --tickets {tickets}",
            lambda: call_command("generate_tickets", tickets=tickets, seed=args.seed + 2),
            report,
        )


def sizes() -> dict:
    from django.db import connection
    from django.db.models import Count

    from accounts.models import Role, RoleAssignment, User
    from tickets.models import Ticket

    states = dict(Ticket.objects.values_list("state").annotate(n=Count("id")).order_by("state"))
    roles = dict(RoleAssignment.objects.values_list("role").annotate(n=Count("id")).order_by("role"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        db_size = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('tickets_ticket'))")
        ticket_size = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return {
        "tickets": sum(states.values()),
        "tickets_by_state": states,
        "users": User.objects.count(),
        "agents": roles.get(Role.SUPPORT_AGENT, 0),
        "reviewers": roles.get(Role.ANSWER_REVIEWER, 0),
        "database_size": db_size,
        "ticket_table_with_indexes": ticket_size,
        "postgresql": version,
    }


# --- Timing helpers -------------------------------------------------------------------------------
def summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, math.ceil(len(samples) * 0.95) - 1)], 2),
        "max_ms": round(samples[-1], 2),
    }


def record(report: dict, section: str, name: str, result: dict, target: float | None = TARGET_P95_MS) -> None:
    report.setdefault(section, {})[name] = result
    flag = "" if target is None or result["p95_ms"] < target else "   <-- over target"
    rows = f"  rows={result['mean_rows']}" if "mean_rows" in result else ""
    print(
        f"{name:58s} n={result['n']:4d}  p50={result['p50_ms']:7.2f} ms  p95={result['p95_ms']:7.2f} ms  "
        f"max={result['max_ms']:7.2f} ms{rows}{flag}",
        flush=True,
    )


def measure(report: dict, section: str, name: str, run: Callable[[object], int], inputs: list) -> None:
    """Time ``run(item)`` (which returns a row count) for every input, after a warm-up over a few."""
    if not inputs:
        print(f"{name:58s} (nothing to measure)", flush=True)
        return
    for item in inputs[:5]:
        run(item)
    samples, rows = [], []
    for item in inputs:
        started = time.perf_counter()
        rows.append(run(item))
        samples.append((time.perf_counter() - started) * 1000)
    result = summary(samples) | {"mean_rows": round(sum(rows) / len(rows), 1)}
    record(report, section, name, result)


# --- People ---------------------------------------------------------------------------------------
def sample_staff(role: str, count: int, rng: random.Random, level=None) -> list:
    from accounts.models import RoleAssignment, User
    from orgtree.models import OrgLevel

    ids = list(
        RoleAssignment.objects.filter(role=role, unit__level=level or OrgLevel.COUNTY).values_list("user_id", flat=True)
    )
    chosen = [rng.choice(ids) for _ in range(count)]
    users = User.objects.in_bulk(set(chosen))
    return [users[pk] for pk in chosen]


def sample_askers(count: int, rng: random.Random) -> list:
    from accounts.models import User
    from tickets.models import Ticket

    top = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ids = []
    while len(ids) < count and top:
        row = Ticket.objects.filter(id__gte=rng.randint(1, top)).order_by("id").values_list("asker_id").first()
        if row:
            ids.append(row[0])
    users = User.objects.in_bulk(set(ids))
    return [users[pk] for pk in ids]


def tokens_for(users: list) -> dict[int, str]:
    from accounts.services import token_issue

    return {user.pk: token_issue(user=user).key for user in {u.pk: u for u in users}.values()}


class Api:
    """In-process requests through the whole stack (routing, token auth, serialisation)."""

    def __init__(self, tokens: dict[int, str]) -> None:
        from rest_framework.test import APIClient

        self.client = APIClient()
        self.tokens = tokens

    def get(self, user, url: str) -> dict:
        response = self.client.get(url, HTTP_AUTHORIZATION=f"Token {self.tokens[user.pk]}")
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: HTTP {response.status_code} {response.content[:300]!r}")
        return response.json()

    def rows(self, user, url: str) -> int:
        return len(self.get(user, url)["results"])

    def nth_page_url(self, user, url: str, n: int) -> str | None:
        for _ in range(n - 1):
            url = self.get(user, url)["next"]
            if not url:
                return None
        return url


# --- 2. Queues ------------------------------------------------------------------------------------
def run_queues(args: argparse.Namespace, report: dict, api: Api, agents: list, reviewers: list) -> None:
    from accounts.models import Role
    from orgtree.models import OrgLevel
    from tickets import selectors

    print(f"\n[2] Agent queues: selector first page ({PAGE - 1} + 1 rows) and API, {args.queries} per line\n")
    for view in ("assigned", "pool", "due_soon", "handled"):
        measure(
            report,
            "queues",
            f"selector ticket_list(view={view}) of an agent",
            lambda user, view=view: len(list(selectors.ticket_list(user=user, view=view)[:PAGE])),
            agents,
        )
    measure(
        report,
        "queues",
        "selector ticket_list(view=review) of a reviewer",
        lambda user: len(list(selectors.ticket_list(user=user, view="review")[:PAGE])),
        reviewers,
    )
    for view in ("assigned", "pool", "due_soon", "handled"):
        measure(
            report,
            "queues",
            f"API GET /api/v1/tickets/?view={view} (agent)",
            lambda user, view=view: api.rows(user, f"/api/v1/tickets/?view={view}"),
            agents,
        )
    measure(
        report,
        "queues",
        "API GET /api/v1/tickets/?view=review (reviewer)",
        lambda user: api.rows(user, "/api/v1/tickets/?view=review"),
        reviewers,
    )
    # A prefecture's agents see the whole prefecture (~10 counties): the biggest subtree an agent has here.
    prefecture_agents = sample_staff(Role.SUPPORT_AGENT, len(agents), random.Random(args.seed + 9), OrgLevel.PREFECTURE)
    api.tokens.update(tokens_for(prefecture_agents))
    measure(
        report,
        "queues",
        "API GET /api/v1/tickets/?view=handled (prefecture agent)",
        lambda user: api.rows(user, "/api/v1/tickets/?view=handled"),
        prefecture_agents,
    )
    # The 10th page: only the county's whole list ("handled", ~350 tickets) is that long.
    tenth = [(user, api.nth_page_url(user, "/api/v1/tickets/?view=handled", 10)) for user in agents[:60]]
    tenth = [(user, url) for user, url in tenth if url]
    measure(
        report,
        "queues",
        "API GET ?view=handled, 10th page by cursor (agent)",
        lambda pair: api.rows(pair[0], pair[1]),
        tenth,
    )


# --- 3. Search ------------------------------------------------------------------------------------
def run_search(args: argparse.Namespace, report: dict, api: Api, agents: list, askers: list) -> None:
    from django.utils import timezone

    from tickets import selectors
    from tickets.models import Ticket

    rng = random.Random(args.seed + 3)
    print(f"\n[3] Search, {args.queries} per line\n")
    words = [rng.choice(SEARCH_WORDS) for _ in agents]
    pairs = list(zip(agents, words, strict=True))
    measure(
        report,
        "search",
        "selector ticket_search(q=<word>) by an agent (county scope)",
        lambda pair: len(list(selectors.ticket_search(user=pair[0], q=pair[1])[:PAGE])),
        pairs,
    )
    two = [(user, f"{rng.choice(SEARCH_WORDS)} {rng.choice(SEARCH_WORDS)}") for user in agents]
    measure(
        report,
        "search",
        "API ?q=<word> by an agent",
        lambda pair: api.rows(pair[0], f"/api/v1/tickets/?q={quote(pair[1])}"),
        pairs,
    )
    measure(
        report,
        "search",
        "API ?q=<two words> by an agent",
        lambda pair: api.rows(pair[0], f"/api/v1/tickets/?q={quote(pair[1])}"),
        two,
    )
    asker_pairs = [(user, rng.choice(SEARCH_WORDS)) for user in askers]
    measure(
        report,
        "search",
        "API ?q=<word> by an asker (own tickets)",
        lambda pair: api.rows(pair[0], f"/api/v1/tickets/?q={quote(pair[1])}"),
        asker_pairs,
    )
    measure(
        report,
        "search",
        "API ?view=mine by an asker",
        lambda user: api.rows(user, "/api/v1/tickets/?view=mine"),
        askers,
    )
    # Number prefixes: a month (TS202611), a day (TS20261103) for agents; the asker's own number.
    today = timezone.localdate()
    prefixes = [f"TS{today:%Y%m}"] + [f"TS{today.replace(day=max(1, today.day - i)):%Y%m%d}" for i in range(5)]
    number_pairs = [(user, rng.choice(prefixes)) for user in agents]
    measure(
        report,
        "search",
        "API ?number=<day or month prefix> by an agent",
        lambda pair: api.rows(pair[0], f"/api/v1/tickets/?number={pair[1]}"),
        number_pairs,
    )
    own = []
    for user in askers:
        number = Ticket.objects.filter(asker=user).values_list("number", flat=True).first()
        if number:
            own.append((user, number[: rng.randint(10, len(number))]))
    measure(
        report,
        "search",
        "API ?number=<prefix of an own number> by an asker",
        lambda pair: api.rows(pair[0], f"/api/v1/tickets/?number={pair[1]}"),
        own,
    )


# --- 4. SLA sweep ---------------------------------------------------------------------------------
def run_sweep(args: argparse.Namespace, report: dict) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tickets import services
    from tickets.management.commands.generate_tickets import make_due
    from tickets.models import OPEN_STATES, Ticket, TicketEvent

    print(f"\n[4] SLA sweep with {args.due_share:.0%} of the open tickets due, {args.sweep_runs} runs\n")
    columns = [f.column for f in Ticket._meta.concrete_fields if f.column != "id"]
    assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns)
    # The open tickets as they were before this run made some due: put back at the end, so that every
    # run starts from the same data (otherwise each run's breaches stay escalated to the top, and later
    # runs find fewer tickets that can still breach).
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_open")
        cursor.execute(
            "CREATE TEMP TABLE bench_open AS SELECT * FROM tickets_ticket WHERE state = ANY(%s)", [list(OPEN_STATES)]
        )
    first_event = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    now = timezone.now()
    made = make_due(now=now, share=args.due_share, seed=args.seed)
    due = Ticket.objects.filter(sla_check_at__lte=now)
    due_count = due.count()
    open_count = Ticket.objects.filter(state__in=OPEN_STATES).count()
    print(
        f"due at {now:%H:%M:%S}: {due_count} of {open_count} open tickets "
        f"({made['unconfirmed']} unconfirmed, {made['warning']} warnings, {made['breach']} breaches; "
        f"{made['settled']} settled first)",
        flush=True,
    )
    # The due set is restored after each run: the tickets' columns, the pools' turns, the timeline.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_due, bench_turn")
        cursor.execute("CREATE TEMP TABLE bench_due AS SELECT * FROM tickets_ticket WHERE sla_check_at <= %s", [now])
        cursor.execute("CREATE TEMP TABLE bench_turn AS SELECT * FROM tickets_poolturn")
    last_event = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def restore() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE tickets_ticket t SET {assignments} FROM bench_due s WHERE t.id = s.id")
            cursor.execute("DELETE FROM tickets_ticketevent WHERE id > %s", [last_event])
            cursor.execute("DELETE FROM tickets_poolturn")
            cursor.execute("INSERT INTO tickets_poolturn SELECT * FROM bench_turn")

    # Beat runs the sweep every minute in a long-lived worker: warm its process first (imports, the SLA
    # settings, the channel layer's connection) with a sweep that finds nothing due yet.
    started = time.perf_counter()
    services.sla_sweep(now=now - timedelta(days=3650))
    print(f"  warm-up sweep with nothing due: {(time.perf_counter() - started) * 1000:.1f} ms", flush=True)
    if not args.no_freeze:
        # As a worker process does once started (helpdesk/runtime.py, helpdesk/celery.py).
        from helpdesk.runtime import freeze_startup_objects

        freeze_startup_objects()
    print(f"  objects frozen out of the garbage collector's reach: {gc.get_freeze_count()}", flush=True)
    samples, results, queries = [], [], []
    for _ in range(args.sweep_runs):
        restore()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = services.sla_sweep(now=now)
            samples.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
        results.append(result)
        left = Ticket.objects.filter(sla_check_at__lte=now).count()
        print(f"  run: {samples[-1]:7.1f} ms, {queries[-1]} queries, {result}, still due after: {left}", flush=True)
    # A second sweep right after finds nothing to do.
    started = time.perf_counter()
    again = services.sla_sweep(now=now)
    idle_ms = (time.perf_counter() - started) * 1000
    restore()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE tickets_ticket t SET {assignments} FROM bench_open s "
            "WHERE t.id = s.id AND (t.*) IS DISTINCT FROM (s.*)"
        )
        cursor.execute("DELETE FROM tickets_ticketevent WHERE id > %s", [first_event])
        cursor.execute("DROP TABLE bench_open")
    result = summary(samples) | {
        "due": due_count,
        "open": open_count,
        "made_due": dict(made),
        "did": results[-1],
        "queries": queries[-1],
        "second_run_ms": round(idle_ms, 2),
        "second_run_did": again,
    }
    record(report, "sweep", "sla_sweep()", result, TARGET_SWEEP_MS)
    print(f"  idle sweep right after: {idle_ms:.1f} ms {again}")


# --- 5. Queries per request -----------------------------------------------------------------------
def run_counts(report: dict, api: Api, agent, reviewer, asker) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print("\n[5] Queries per list request (must not depend on page size or page number)\n")
    cases = [
        (agent, "?view=handled"),
        (agent, "?view=assigned"),
        (agent, "?view=due_soon"),
        (agent, "?q=" + quote("投影仪")),
        (reviewer, "?view=review"),
        (asker, "?view=mine"),
    ]
    table = {}
    for user, query in cases:
        counts = {}
        for size in (10, 50):
            url = f"/api/v1/tickets/{query}&page_size={size}"
            with CaptureQueriesContext(connection) as captured:
                api.get(user, url)
            counts[f"page_size={size}"] = len(captured.captured_queries)
        tenth = api.nth_page_url(user, f"/api/v1/tickets/{query}&page_size=10", 10)
        if tenth:
            with CaptureQueriesContext(connection) as captured:
                api.get(user, tenth)
            counts["10th page"] = len(captured.captured_queries)
        table[query] = counts
        print(f"  {query:28s} {counts}", flush=True)
    report["queries_per_request"] = table


# --- 1. Creates through the server ----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVER_SETTINGS = {
    "project": "",
    "close": 'DATABASES["default"]["CONN_MAX_AGE"] = 0\n',
    "pool": (
        'DATABASES["default"]["CONN_MAX_AGE"] = 0\n'
        'DATABASES["default"]["CONN_HEALTH_CHECKS"] = False\n'
        'DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 4}\n'
    ),
}


def start_servers(args: argparse.Namespace) -> tuple[list[subprocess.Popen], list[int]]:
    """gunicorn (one master, ``--workers`` sync workers) or daphne processes; database settings per
    ``--server-db``."""
    ports = [free_port() for _ in range(args.workers if args.server == "daphne" else 1)]
    env = os.environ | {"DJANGO_DEBUG": "false"}
    if args.server_db != "project":
        # A settings module of the benchmark's own, in bench/out (not part of the project).
        (OUT / "bench_server_settings.py").write_text(
            "from helpdesk.settings.base import *  # noqa: F403\n" + SERVER_SETTINGS[args.server_db], encoding="utf-8"
        )
        env["DJANGO_SETTINGS_MODULE"] = "bench_server_settings"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(OUT), str(ROOT), args.server_pythonpath]))
    elif args.server_pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), args.server_pythonpath])
    if args.server == "daphne":
        commands = [
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "helpdesk.asgi:application"]
            for port in ports
        ]
    else:
        commands = [
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{ports[0]}",
                "helpdesk.wsgi:application",
            ]
        ]
    procs = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(OUT / f"server-{port}.log", "w"),  # noqa: SIM115 (closed with the process)
            start_new_session=True,
        )
        for command, port in zip(commands, ports, strict=True)
    ]
    import httpx

    deadline = time.monotonic() + 60
    for port in ports:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/tickets/", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    stop_servers(procs)
                    raise SystemExit(f"the server on port {port} did not start: see {OUT}/server-{port}.log") from None
                time.sleep(0.3)
    return procs, ports


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its live children (gunicorn's workers), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def database_cpu() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving this benchmark's database."""
    name = urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")
    used = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
            if len(words) < 4 or words[0] != "postgres:" or words[3] != name:
                continue
            fields = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[int(cmdline.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def database_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds the backends alive now used since ``before`` (one that started since counts whole).
    Comparing totals instead would subtract the whole life of a backend that exited meanwhile, such as
    one of the previous run's server connections."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in database_cpu().items())


WRK_SCRIPT = """
local tokens = {%(tokens)s}
local bodies = {%(bodies)s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/v1/tickets/", {["Content-Type"] = "application/json",
    ["Authorization"] = "Token " .. tokens[(i %% #tokens) + 1]}, bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f %%.3f\\n", summary.requests,
    (summary.errors.status or 0) + (summary.errors.connect or 0) + (summary.errors.read or 0)
    + (summary.errors.write or 0) + (summary.errors.timeout or 0),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


def run_wrk(args: argparse.Namespace, ports: list[int], tokens: list[str], bodies: list[dict]) -> dict:
    """File tickets for ``--create-seconds`` with wrk (one per server port), each request as the next
    teacher with the next of 500 question bodies. wrk is C: it leaves the two cores to the server."""
    script = OUT / "create.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "tokens": ", ".join(json.dumps(t) for t in tokens),
            "bodies": ", ".join("[==[" + json.dumps(b, ensure_ascii=False) + "]==]" for b in bodies),
        },
        encoding="utf-8",
    )
    connections = max(1, args.clients // len(ports))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    runs = [
        subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{args.create_seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    results = []
    for run in runs:
        output = run.communicate()[0]
        line = next((ln for ln in output.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(f"wrk printed no result:\n{output}")
        results.append([float(x) for x in line.split()[1:]])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the finished wrk runs (servers still run)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    # Percentiles of several wrk runs: the worst run's (they share the servers evenly).
    return {
        "requests": int(sum(r[0] for r in results)),
        "non_2xx": int(sum(r[1] for r in results)),
        "p50_ms": round(max(r[2] for r in results), 1),
        "p95_ms": round(max(r[3] for r in results), 1),
        "p99_ms": round(max(r[4] for r in results), 1),
        "max_ms": round(max(r[5] for r in results), 1),
        "cpu_s": cpu,
    }


def stop_servers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run_create(args: argparse.Namespace, report: dict, teachers: list, tokens: dict[int, str]) -> None:
    import httpx
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from tickets.management.commands.generate_tickets import PROBLEMS
    from tickets.models import Ticket, TicketDayCounter

    # httpx logs every request at INFO: that costs the load generator's CPU and floods the output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    rng = random.Random(args.seed + 5)
    load = (
        f"wrk with {args.clients} connections for {args.create_seconds} s"
        if args.load_generator == "wrk"
        else f"{args.creates} tickets from {args.clients} client threads"
    )
    print(
        f"\n[1] Filing through {args.server} ({args.workers} processes): {load}, token auth, "
        f"server connections: {args.server_db}\n",
        flush=True,
    )

    def body(i: int) -> dict:
        kind, problem, descriptions, _answers = PROBLEMS[i % len(PROBLEMS)]
        return {
            "title": f"{rng.randint(1, 9)}号楼{rng.randint(101, 520)}教室{problem}",
            "description": rng.choice(descriptions),
            "type": str(kind),
            "priority": rng.choice(["P2", "P3", "P3", "P4"]),
            "contact_info": f"138{rng.randint(0, 99_999_999):08d}",
        }

    # What the run adds is taken away at its end (see below).
    last_before = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
    counters_before = dict(TicketDayCounter.objects.values_list("day", "last_serial"))

    # Queries per create, in-process on the same database (one create, after a warm-up).
    client = APIClient()
    teacher = teachers[0]
    auth = {"HTTP_AUTHORIZATION": f"Token {tokens[teacher.pk]}"}
    client.post("/api/v1/tickets/", body(0), format="json", **auth)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/tickets/", body(1), format="json", **auth)
    assert response.status_code == 201, response.content
    per_create = len(captured.captured_queries)
    (OUT / "tickets_create_queries.txt").write_text(
        "\n\n".join(q["sql"] for q in captured.captured_queries), encoding="utf-8"
    )
    print(f"queries per create (POST /api/v1/tickets/, in-process): {per_create}", flush=True)

    procs, ports = start_servers(args)
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(args.creates))
    lock = threading.Lock()

    def client_thread(index: int) -> None:
        with httpx.Client(timeout=30) as http:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                user = teachers[i % len(teachers)]
                port = ports[i % len(ports)]
                started = time.perf_counter()
                response = http.post(
                    f"http://127.0.0.1:{port}/api/v1/tickets/",
                    json=body(i),
                    headers={"Authorization": f"Token {tokens[user.pk]}"},
                )
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code == 201:
                        latencies.append(elapsed)
                    else:
                        errors.append(f"{response.status_code} {response.text[:200]}")

    try:
        # Warm-up: each server process loads Django's URLconf and connects to the database.
        with httpx.Client(timeout=30) as http:
            for port in ports:
                for i in range(3 * args.workers):
                    http.post(
                        f"http://127.0.0.1:{port}/api/v1/tickets/",
                        json=body(i),
                        headers={"Authorization": f"Token {tokens[teachers[i].pk]}"},
                    )
        today_before = Ticket.objects.filter(created_at__date=timezone.localdate()).count()
        speed_before = host_speed_ms()
        database_cpu_before = database_cpu()
        cpu_before = [process_cpu(proc.pid) for proc in procs], time.process_time()
        started = time.perf_counter()
        if args.load_generator == "wrk":
            wrk_result = run_wrk(args, ports, [tokens[t.pk] for t in teachers], [body(i) for i in range(500)])
            latencies = []
        else:
            threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        seconds = time.perf_counter() - started
        server_cpu = sum(process_cpu(proc.pid) for proc in procs) - sum(cpu_before[0])
        client_cpu = time.process_time() - cpu_before[1]
        postgres_cpu = database_cpu_since(database_cpu_before)
        speed_after = host_speed_ms()
    finally:
        stop_servers(procs)

    if args.load_generator == "wrk":
        created = Ticket.objects.filter(created_at__date=timezone.localdate()).count() - today_before
        client_cpu = wrk_result["cpu_s"]
        errors = [f"{wrk_result['non_2xx']} answers other than 201"] if wrk_result["non_2xx"] else []
        result = {"n": created} | {key: wrk_result[key] for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}
    else:
        created = len(latencies)
        result = summary(latencies)
    rate = created / seconds
    result |= {
        "creates": created,
        "errors": len(errors),
        "seconds": round(seconds, 1),
        "creates_per_s": round(rate, 1),
        "queries_per_create": per_create,
        "workers": args.workers,
        "clients": args.clients,
        "server": args.server,
        "server_db": args.server_db,
        "load_generator": args.load_generator,
        # CPU per create on the two cores: the server processes (Django + DRF), PostgreSQL's backends
        # for this database, and the load generator.
        "server_cpu_ms_per_create": round(server_cpu * 1000 / max(1, created), 2),
        "postgres_cpu_ms_per_create": round(postgres_cpu * 1000 / max(1, created), 2),
        "client_cpu_ms_per_create": round(client_cpu * 1000 / max(1, created), 2),
        "load_average": os.getloadavg(),
        "host_loop_ms_before_after": [speed_before, speed_after],
    }
    if errors:
        result["first_errors"] = errors[:5]
    # Numbers stay gap-free per day: today's serials are exactly 1..counter.
    gaps = {}
    for day in {timezone.localdate()}:
        counter_row = TicketDayCounter.objects.filter(day=day).first()
        prefix = f"TS{day:%Y%m%d}"
        serials = sorted(
            int(n[len(prefix) :])
            for n in Ticket.objects.filter(number__startswith=prefix).values_list("number", flat=True)
        )
        expected = list(range(1, (counter_row.last_serial if counter_row else 0) + 1))
        gaps[str(day)] = {
            "tickets": len(serials),
            "counter": counter_row.last_serial if counter_row else 0,
            "gap_free": serials == expected,
        }
    result["numbers"] = gaps
    record(report, "create", f"POST /api/v1/tickets/ through {args.server} ({args.server_db})", result, None)
    flag = "" if rate >= TARGET_CREATES_PER_S else f"   <-- under the {TARGET_CREATES_PER_S:.0f}/s target"
    print(f"creates/s: {rate:.1f} ({created} in {seconds:.1f} s, {len(errors)} errors){flag}")
    print(
        f"latency p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms; CPU per create: server "
        f"{result['server_cpu_ms_per_create']} ms, PostgreSQL {result['postgres_cpu_ms_per_create']} ms, "
        f"load generator {result['client_cpu_ms_per_create']} ms; load average {os.getloadavg()}"
    )
    print(f"host speed: a fixed Python loop took {speed_before} ms before the run, {speed_after} ms after")
    print(f"numbers: {gaps}", flush=True)
    if not args.keep_created:
        # The database as it was: the run's tickets go with their timeline and search text, and the day
        # counters return to their values (numbers stay gap-free), so that every run and the other
        # parts (the sweep's 1% of the open tickets) measure the same data.
        Ticket.objects.filter(id__gt=last_before).delete()
        for day, serial in counters_before.items():
            TicketDayCounter.objects.filter(day=day).update(last_serial=serial)
        TicketDayCounter.objects.exclude(day__in=list(counters_before)).delete()
        # And the space they took back now, not by autovacuum in the middle of the next measurement.
        with connection.cursor() as cursor:
            for table in ("tickets_ticket", "tickets_ticketevent", "tickets_ticketsearch", "tickets_ticketdaycounter"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")


# --- 6. Plans -------------------------------------------------------------------------------------
def explain(report: dict, agent, reviewer, asker) -> None:
    from django.utils import timezone

    from tickets import selectors
    from tickets.models import Ticket

    now = timezone.now()
    today = timezone.localdate()
    plans = {
        "queue assigned": selectors.ticket_list(user=agent, view="assigned")[:PAGE],
        "queue pool": selectors.ticket_list(user=agent, view="pool")[:PAGE],
        "queue due_soon": selectors.ticket_list(user=agent, view="due_soon")[:PAGE],
        "queue handled (county subtree)": selectors.ticket_list(user=agent, view="handled")[:PAGE],
        "queue review": selectors.ticket_list(user=reviewer, view="review")[:PAGE],
        "mine (asker)": selectors.ticket_list(user=asker, view="mine")[:PAGE],
        "search 投影仪 (agent)": selectors.ticket_search(user=agent, q="投影仪")[:PAGE],
        "search 校园网 断网 (agent)": selectors.ticket_search(user=agent, q="校园网 断网")[:PAGE],
        "search 投影仪 (asker)": selectors.ticket_search(user=asker, q="投影仪")[:PAGE],
        "search number prefix (agent)": selectors.ticket_search(user=agent, number=f"TS{today:%Y%m}")[:PAGE],
        "sweep: due tickets": Ticket.objects.filter(sla_check_at__lte=now).order_by("sla_check_at", "id")[:500],
    }
    lines, seq_scans = [], []
    for label, queryset in plans.items():
        plan = queryset.explain(analyze=True, buffers=True)
        lines.append(f"== {label}\n{queryset.query}\n\n{plan}\n")
        if "Seq Scan on tickets_ticket" in plan:
            seq_scans.append(label)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tickets_explain.txt").write_text("\n".join(lines), encoding="utf-8")
    report["seq_scans_on_tickets_ticket"] = seq_scans
    print(f"\n[6] Plans in {OUT / 'tickets_explain.txt'}; Seq Scan on tickets_ticket in: {seq_scans or 'none'}")


def main() -> None:
    args = parse_args()
    check_database("bench_tickets")
    setup_django()
    only = set(filter(None, args.only.split(",")))

    def wanted(part: str) -> bool:
        return not only or part in only

    OUT.mkdir(parents=True, exist_ok=True)
    report: dict = {"args": vars(args)}
    if not args.skip_load:
        load(args, report)
    report["sizes"] = sizes()
    print(json.dumps(report["sizes"], ensure_ascii=False, indent=2), flush=True)

    from accounts.models import Role, UserType

    rng = random.Random(args.seed)
    agents = sample_staff(Role.SUPPORT_AGENT, args.queries, rng)
    reviewers = sample_staff(Role.ANSWER_REVIEWER, args.queries, rng)
    askers = sample_askers(args.queries, rng)
    api = Api(tokens_for(agents + reviewers + askers))

    report["load_average_at_start"] = os.getloadavg()
    if wanted("sweep"):
        run_sweep(args, report)
    if wanted("queues"):
        run_queues(args, report, api, agents, reviewers)
    if wanted("search"):
        run_search(args, report, api, agents, askers)
    if wanted("counts"):
        run_counts(report, api, agents[0], reviewers[0], askers[0])
    if wanted("explain"):
        explain(report, agents[0], reviewers[0], askers[0])
    if wanted("create"):
        from accounts.models import User

        teachers = list(
            User.objects.filter(user_type=UserType.TEACHER, unit__level=4, is_active=True).order_by("?")[:300]
        )
        run_create(args, report, teachers, tokens_for(teachers))

    report["load_average_at_end"] = os.getloadavg()
    path = OUT / "tickets_results.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() and only else {}
    # A partial run (--only) adds its lines to the previous results.
    merged = previous | {
        key: previous[key] | value if isinstance(value, dict) and isinstance(previous.get(key), dict) else value
        for key, value in report.items()
    }
    path.write_text(json.dumps(merged, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    over = [
        f"{section}: {name}"
        for section in ("queues", "search")
        for name, r in report.get(section, {}).items()
        if r["p95_ms"] >= TARGET_P95_MS
    ]
    print(f"\nResults in {path}; over the {TARGET_P95_MS:.0f} ms target: {over or 'none'}")


if __name__ == "__main__":
    main()
