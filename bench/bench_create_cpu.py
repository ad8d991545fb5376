#!/usr/bin/env python
"""CPU per ticket create, in process: this process's and its PostgreSQL backend's.

POSTs ``--creates`` tickets through the whole API stack (middleware, token auth, validation, the
create, the detail answer, the event log and the push) with Django's test client, as 300 teachers in
turn, for ``--rounds`` rounds, and prints each round's CPU per create of this process (every thread,
so the push's too) and of the database's backends (read from /proc: the database runs on this machine). Without an HTTP
server or a load generator in the way, a change to the create's cost shows even when the shared
machine's speed wanders; bench_tickets.py's wrk run is the throughput figure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_tickets REDIS_URL=redis://127.0.0.1:6379/7 \\
      .venv/bin/python bench/bench_create_cpu.py --creates 400 --rounds 3

Runs on a database that bench_tickets.py loaded; the tickets it files are left there (as the wrk run's
are unless cleaned up).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from bench_common import check_database, setup_django
from bench_tickets import database_cpu, database_cpu_since


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=400, help="creates per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="then profile N creates (cProfile)")
    args = parser.parse_args()
    check_database("bench_tickets")
    setup_django()

    from django.conf import settings
    from django.test import Client

    from accounts.models import User, UserType
    from accounts.services import token_issue
    from tickets.management.commands.generate_tickets import PROBLEMS

    settings.ALLOWED_HOSTS = ["*"]
    rng = random.Random(args.seed)
    teachers = list(User.objects.filter(user_type=UserType.TEACHER, unit__level=4, is_active=True).order_by("id")[:300])
    if not teachers:
        raise SystemExit("No teachers: load the data with bench/bench_tickets.py first.")
    auth = {user.pk: f"Token {token_issue(user=user).key}" for user in teachers}

    def body(i: int) -> str:
        kind, problem, descriptions, _answers = PROBLEMS[i % len(PROBLEMS)]
        return json.dumps(
            {
                "title": f"{rng.randint(1, 9)}号楼{rng.randint(101, 520)}教室{problem}",
                "description": rng.choice(descriptions),
                "type": str(kind),
                "priority": rng.choice(["P2", "P3", "P3", "P4"]),
                "contact_info": f"138{rng.randint(0, 99_999_999):08d}",
            }
        )

    bodies = [body(i) for i in range(500)]
    client = Client()

    def run(count: int, offset: int) -> None:
        for i in range(count):
            teacher = teachers[(i + offset) % len(teachers)]
            response = client.post(
                "/api/v1/tickets/",
                bodies[i % len(bodies)],
                content_type="application/json",
                HTTP_AUTHORIZATION=auth[teacher.pk],
            )
            if response.status_code != 201:
                raise SystemExit(f"create refused: {response.status_code} {response.content[:300]!r}")

    run(50, 0)  # warm: statements prepared on every pooled connection, caches filled

    for round_ in range(args.rounds):
        # Every backend of the database: the pool hands each request whichever connection is free.
        database = database_cpu()
        cpu, wall = time.process_time(), time.perf_counter()
        run(args.creates, 50 + round_ * args.creates)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        database = database_cpu_since(database)
        print(
            f"round {round_ + 1}: CPU per create {1000 * cpu / args.creates:.2f} ms here, "
            f"{1000 * database / args.creates:.2f} ms PostgreSQL; wall {1000 * wall / args.creates:.2f} ms; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(run, args.profile, 50 + args.rounds * args.creates)
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
