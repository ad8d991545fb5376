#!/usr/bin/env python
"""Directory benchmark at national scale on PostgreSQL.

Loads the real divisions plus 500,000 schools and 1,000,000 users (or tops up what a previous run
left), then times the directory's queries the way the API issues them (first page: 21 rows, the
page plus one to know whether there is a next page) and reports p50/p95 per kind of query.

    createdb -h 127.0.0.1 -U postgres bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/bench_directory.py

See bench/README.md for options and the figures measured.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from urllib.parse import quote

from bench_common import ROOT, check_database, setup_django, timed

OUT = ROOT / "bench" / "out"
PAGE = 21  # a page of 20 plus the row that tells the paginator there is more
TARGET_P95_MS = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=500_000, help="schools wanted in the database")
    parser.add_argument("--users", type=int, default=1_000_000, help="users wanted in the database")
    parser.add_argument("--queries", type=int, default=300, help="timed queries per kind")
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-load", action="store_true", help="measure what is there, load nothing")
    return parser.parse_args()


def load(args: argparse.Namespace, report: dict) -> None:
    from django.core.management import call_command

    from accounts.models import User
    from orgtree.models import OrgLevel, OrgUnit

    timed("migrate", lambda: call_command("migrate", verbosity=0), report)
    timed("load_divisions", lambda: call_command("load_divisions"), report)
    schools = args.schools - OrgUnit.objects.filter(level=OrgLevel.SCHOOL).count()
    if schools > 0:
        timed(
            f"generate_scale --schools {schools}",
            lambda: call_command(
                "generate_scale",
                schools=schools,
                batch_size=args.batch_size,
                seed=args.seed,
            ),
            report,
        )
    users = args.users - User.objects.count()
    if users > 0:
        timed(
            f"generate_scale --users {users}",
            lambda: call_command(
                "generate_scale",
                users=users,
                batch_size=args.batch_size,
                seed=args.seed + 1,
            ),
            report,
        )
    timed("vacuum analyze", vacuum_analyze, report)


def vacuum_analyze() -> None:
    from django.db import connection

    from accounts.models import User, UserSearchTerm
    from orgtree.models import OrgUnit

    # VACUUM also sets the visibility map, which index-only scans need after a bulk load.
    with connection.cursor() as cursor:
        for model in (OrgUnit, User, UserSearchTerm):
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")


def sizes() -> dict:
    from django.db import connection
    from django.db.models import Count

    from accounts.models import User, UserSearchTerm
    from orgtree.models import OrgUnit

    levels = dict(OrgUnit.objects.values_list("level").annotate(n=Count("id")).order_by("level"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        db_size = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute(
            "SELECT datcollate, datlocprovider, daticulocale FROM pg_database WHERE datname = current_database()"
        )
        collation = cursor.fetchone()
    return {
        "units_by_level": {str(k): v for k, v in levels.items()},
        "users": User.objects.count(),
        "search_terms": UserSearchTerm.objects.count(),
        "database_size": db_size,
        "postgresql": version,
        "collation": " ".join(str(part) for part in collation if part),
    }


# --- Measurements -------------------------------------------------------------------------------
def measure(name: str, make_queryset: Callable[[object], object], inputs: list, report: dict) -> None:
    """Time ``list(qs[:PAGE])`` for every input (after one untimed warm-up pass over a few)."""
    for item in inputs[:5]:
        list(make_queryset(item)[:PAGE])
    samples, rows = [], []
    for item in inputs:
        started = time.perf_counter()
        page = list(make_queryset(item)[:PAGE])
        samples.append((time.perf_counter() - started) * 1000)
        rows.append(len(page))
    samples.sort()
    result = {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 2),
        "max_ms": round(samples[-1], 2),
        "mean_rows": round(sum(rows) / len(rows), 1),
    }
    report.setdefault("queries", {})[name] = result
    flag = "" if result["p95_ms"] < TARGET_P95_MS else "   <-- over target"
    print(
        f"{name:48s} n={result['n']:4d}  p50={result['p50_ms']:7.2f} ms  p95={result['p95_ms']:7.2f} ms  "
        f"max={result['max_ms']:7.2f} ms  rows={result['mean_rows']}{flag}",
        flush=True,
    )


def sample_units(level: int, count: int, rng: random.Random) -> list:
    from orgtree.models import OrgUnit

    ids = list(OrgUnit.objects.filter(level=level).values_list("id", flat=True))
    chosen = [rng.choice(ids) for _ in range(count)]
    units = OrgUnit.objects.in_bulk(set(chosen))
    return [units[pk] for pk in chosen]


def search_queries(count: int, rng: random.Random) -> dict[str, list[str]]:
    """Realistic queries, drawn from real generated users so most of them find someone."""
    from accounts.models import User

    top = User.objects.order_by("-id").values_list("id", flat=True).first() or 0
    picks = []
    while len(picks) < count and top:
        start = rng.randint(1, top)
        user = (
            User.objects.filter(id__gte=start)
            .order_by("id")
            .values("username", "name", "name_pinyin", "name_initials")
            .first()
        )
        if user:
            picks.append(user)
    common = {
        "initials": ["zw", "wf", "lj", "ln", "zm", "cj", "ly", "wl", "hx", "z", "w"],
        "pinyin": ["zhangwei", "wangfang", "lina", "liuyang", "chenjing", "zhang", "wang"],
        "chinese": ["张伟", "王芳", "李娜", "刘洋", "陈静", "张", "王"],
    }
    return {
        "initials": [rng.choice(common["initials"]) if i % 3 == 0 else p["name_initials"] for i, p in enumerate(picks)],
        "pinyin": [rng.choice(common["pinyin"]) if i % 3 == 0 else p["name_pinyin"] for i, p in enumerate(picks)],
        "chinese": [rng.choice(common["chinese"]) if i % 3 == 0 else p["name"] for i, p in enumerate(picks)],
        "account prefix": [p["username"][: rng.randint(4, 7)] for p in picks],
        "no match": [f"qqq{rng.randint(0, 10**6)}" for _ in picks],
    }


def run_queries(args: argparse.Namespace, report: dict) -> None:
    from accounts.selectors import directory_search, unit_members
    from orgtree.models import OrgLevel
    from orgtree.selectors import unit_children, unit_roots

    rng = random.Random(args.seed)
    n = args.queries
    print(
        f"\nFirst page ({PAGE - 1} rows + 1), {n} queries per line, target p95 < {TARGET_P95_MS:.0f} ms\n",
        flush=True,
    )

    root = unit_roots().get()
    units = {level: sample_units(level, n, rng) for level in OrgLevel.values if level != OrgLevel.CENTRAL}
    units[OrgLevel.CENTRAL] = [root] * n
    labels = {
        OrgLevel.CENTRAL: "ministry",
        OrgLevel.PROVINCE: "province",
        OrgLevel.PREFECTURE: "prefecture",
        OrgLevel.COUNTY: "county",
        OrgLevel.SCHOOL: "school",
    }
    for level in OrgLevel.values:
        measure(
            f"members, subtree of a {labels[level]}",
            lambda unit: unit_members(unit=unit, subtree=True),
            units[level],
            report,
        )
    measure(
        "members of a school (unit only)",
        lambda unit: unit_members(unit=unit),
        units[OrgLevel.SCHOOL],
        report,
    )
    for level in (OrgLevel.CENTRAL, OrgLevel.PROVINCE, OrgLevel.PREFECTURE, OrgLevel.COUNTY):
        measure(f"children of a {labels[level]}", lambda unit: unit_children(unit=unit), units[level], report)

    for kind, queries in search_queries(n, rng).items():
        measure(f"search: {kind}", lambda query: directory_search(query=query), queries, report)


def run_api(args: argparse.Namespace, report: dict) -> None:
    """The same reads through the REST API (routing, auth, serialisation, keyset cursor)."""
    from rest_framework.test import APIClient

    from accounts.models import User
    from orgtree.models import OrgLevel

    rng = random.Random(args.seed + 7)
    n = max(20, args.queries // 3)
    client = APIClient()
    client.force_authenticate(user=User.objects.filter(is_active=True).order_by("id").first())
    print(f"\nREST API, first page of 20 and the page after it (cursor), {n} requests per line\n", flush=True)

    def get(url: str) -> dict:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: HTTP {response.status_code} {response.content[:300]!r}")
        return response.json()

    def time_api(name: str, urls: list[str], *, next_page: bool = False, skip_pages: int = 1) -> None:
        if next_page:
            for _ in range(skip_pages):
                urls = [get(url)["next"] for url in urls]
                urls = [url for url in urls if url]
        measure(name, lambda url: _Timed(get, url), urls, report)

    units = {level: sample_units(level, n, rng) for level in (OrgLevel.PROVINCE, OrgLevel.COUNTY, OrgLevel.SCHOOL)}
    for level, label in ((OrgLevel.PROVINCE, "province"), (OrgLevel.COUNTY, "county"), (OrgLevel.SCHOOL, "school")):
        urls = [f"/api/v1/org/units/{unit.pk}/members/?subtree=true" for unit in units[level]]
        time_api(f"API members, subtree of a {label}", urls)
    urls = [f"/api/v1/org/units/{unit.pk}/members/?subtree=true" for unit in units[OrgLevel.PROVINCE]]
    time_api("API members of a province, next page", urls, next_page=True)
    urls = [f"/api/v1/org/units/{unit.pk}/children/" for unit in units[OrgLevel.COUNTY]]
    time_api("API children of a county", urls)
    time_api("API children of a county, next page", urls, next_page=True)

    queries = search_queries(n, rng)
    for kind in ("initials", "pinyin", "chinese", "account prefix"):
        time_api(f"API search: {kind}", [f"/api/v1/users/?search={quote(q)}" for q in queries[kind]])
    broad = [f"/api/v1/users/?search={quote(q)}" for q in ["z", "zhang", "张", "wang", "w", "王", "js00"] * n][:n]
    time_api("API search, next page of a broad query", broad, next_page=True)
    time_api("API search, 10th page of a broad query", broad[:30], next_page=True, skip_pages=9)


class _Timed:
    """Adapter so ``measure`` can time one API call: slicing it runs the request."""

    def __init__(self, get: Callable[[str], dict], url: str) -> None:
        self.get, self.url = get, url

    def __getitem__(self, _slice) -> list:
        return self.get(self.url)["results"]


def explain(report: dict) -> None:
    """Plans of the main queries, kept in bench/out/explain.txt to check that indexes are used."""
    from accounts.selectors import directory_search, unit_members
    from orgtree.models import OrgLevel, OrgUnit
    from orgtree.selectors import unit_children

    province = OrgUnit.objects.filter(level=OrgLevel.PROVINCE).order_by("path").first()
    county = OrgUnit.objects.filter(level=OrgLevel.COUNTY).order_by("path").last()
    school = OrgUnit.objects.filter(level=OrgLevel.SCHOOL).order_by("path").last()
    root = OrgUnit.objects.get(depth=1)
    plans = {
        "members subtree of the ministry": unit_members(unit=root, subtree=True)[:PAGE],
        "members subtree of a province": unit_members(unit=province, subtree=True)[:PAGE],
        "members subtree of a county": unit_members(unit=county, subtree=True)[:PAGE],
        "members of a school": unit_members(unit=school)[:PAGE],
        "children of a county": unit_children(unit=county)[:PAGE],
        "search zw": directory_search(query="zw")[:PAGE],
        "search zhangwei": directory_search(query="zhangwei")[:PAGE],
        "search 张伟": directory_search(query="张伟")[:PAGE],
        "search js00012": directory_search(query="js00012")[:PAGE],
    }
    lines = []
    for label, queryset in plans.items():
        plan = queryset.explain(analyze=True, buffers=True)
        lines.append(f"== {label}\n{queryset.query}\n\n{plan}\n")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "explain.txt").write_text("\n".join(lines), encoding="utf-8")
    seq_scans = [label for label, text in zip(plans, lines, strict=True) if "Seq Scan" in text]
    report["seq_scans"] = seq_scans
    print(f"\nPlans written to {OUT / 'explain.txt'}; sequential scans in: {seq_scans or 'none'}", flush=True)


def main() -> None:
    args = parse_args()
    check_database("bench")
    setup_django()
    report: dict = {"args": vars(args)}
    if not args.skip_load:
        load(args, report)
    report["sizes"] = sizes()
    print(json.dumps(report["sizes"], ensure_ascii=False, indent=2), flush=True)
    run_queries(args, report)
    run_api(args, report)
    explain(report)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    over = [name for name, r in report["queries"].items() if r["p95_ms"] >= TARGET_P95_MS]
    print(f"\nResults in {OUT / 'results.json'}; over the {TARGET_P95_MS:.0f} ms target: {over or 'none'}")


if __name__ == "__main__":
    main()
