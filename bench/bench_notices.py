#!/usr/bin/env python
"""Notices (公告) benchmark at national scale on PostgreSQL (issue 14).

Loads the divisions, 500,000 schools and 1,000,000 users (or tops up what a previous run left, as
bench_tickets.py does), fills the system with 10,000 published notices (audiences spread over the
tree: national, province, prefecture, county, single schools), then measures:

1. publishing a national notice: the reviewer's approve through the API (the request that publishes:
   targets, timeline, the unread-count version bump, one socket frame per target) — target < 100 ms;
   the same through the service alone;
2. the time until every per-unit statistics row of that national notice is ready (the statistics
   task's one INSERT … SELECT over the tree and the users, with a share of the audience having read);
3. a school user's inbox (first page, with read/confirmed flags) p95 — target < 50 ms;
4. the statistics query of the national notice (the root's 34 provinces), a province and a county
   — target < 1 s;
5. the unread count p95, computed (the user's cache entry replaced first) and cached — target < 10 ms.

    createdb -h 127.0.0.1 -U postgres bench_notices
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_notices REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/bench_notices.py

See bench/README.md ("Notices") for the figures measured.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bench_common import ROOT, check_database, setup_django, timed

OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "bench" / "out")
TARGETS_MS = {"publish": 100.0, "inbox": 50.0, "stats": 1000.0, "unread": 10.0}
TITLES = [
    "关于做好寒假期间校园网络安全工作的通知",
    "关于开展教师信息技术能力培训的通知",
    "关于报送教育装备统计数据的通知",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=500_000, help="schools wanted in the database")
    parser.add_argument("--users", type=int, default=1_000_000, help="users wanted in the database")
    parser.add_argument("--notices", type=int, default=10_000, help="published notices wanted in the system")
    parser.add_argument("--read-share", type=float, default=0.1, help="share of users who read the national notice")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per line")
    parser.add_argument("--publishes", type=int, default=20, help="national notices published for the timing")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-load", action="store_true", help="measure what is there, load nothing")
    return parser.parse_args()


def load(args: argparse.Namespace, report: dict) -> None:
    """The tree and the users, as bench_tickets.py loads them (generate_scale tops up what is missing)."""
    from django.core.management import call_command

    from accounts.models import User
    from orgtree.models import OrgLevel, OrgUnit

    timed("migrate", lambda: call_command("migrate", verbosity=0), report)
    if not OrgUnit.objects.filter(level__lt=OrgLevel.SCHOOL).exists():
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


def bench_staff():
    """The ministry's notice publisher and reviewer (created once)."""
    from accounts.models import Role, RoleAssignment, User, UserType
    from orgtree.models import OrgUnit

    root = OrgUnit.objects.get_root_nodes().first()
    people = []
    for username, name, role in (
        ("bench_notice_pub", "部公告发布员", Role.NOTICE_PUBLISHER),
        ("bench_notice_rev", "部公告审核员", Role.NOTICE_REVIEWER),
    ):
        user, _ = User.objects.get_or_create(
            username=username, defaults={"name": name, "unit": root, "user_type": UserType.STAFF}
        )
        RoleAssignment.objects.get_or_create(user=user, unit=root, role=role)
        people.append(User.objects.get(pk=user.pk))
    return root, people[0], people[1]


def fill_notices(args: argparse.Namespace, report: dict, root, author) -> None:
    """Top the system up to ``--notices`` published notices, written as bench data straight into the
    tables (the rows the publishing service writes: the notice, its target, its search text), with
    audiences spread over the tree: 3% national, 12% a province, 25% a prefecture, 30% a county,
    30% one school."""
    from django.db import transaction
    from django.utils import timezone

    from notices.models import AudienceMode, Notice, NoticeSearch, NoticeState, NoticeTarget
    from orgtree.models import OrgLevel, OrgUnit

    have = Notice.objects.filter(state=NoticeState.PUBLISHED).count()
    wanted = args.notices - have
    if wanted <= 0:
        return
    rng = random.Random(args.seed + 3)
    by_level = {
        level: list(OrgUnit.objects.filter(level=level).values_list("pk", "path"))
        for level in (OrgLevel.PROVINCE, OrgLevel.PREFECTURE, OrgLevel.COUNTY)
    }
    schools = list(OrgUnit.objects.filter(level=OrgLevel.SCHOOL).order_by("?").values_list("pk", "path")[:20_000])
    levels = [
        (0.03, None),
        (0.12, OrgLevel.PROVINCE),
        (0.25, OrgLevel.PREFECTURE),
        (0.30, OrgLevel.COUNTY),
        (0.30, OrgLevel.SCHOOL),
    ]

    def pick():
        roll, total, level = rng.random(), 0.0, levels[-1][1]
        for share, candidate in levels:
            total += share
            if roll < total:
                level = candidate
                break
        if level is None:
            return root.pk, root.path, True
        if level == OrgLevel.SCHOOL:
            pk, path = rng.choice(schools)
            return pk, path, False
        pk, path = rng.choice(by_level[level])
        return pk, path, True

    def run() -> None:
        now = timezone.now()
        batch = 2000
        for start in range(0, wanted, batch):
            size = min(batch, wanted - start)
            picks = [pick() for _ in range(size)]
            with transaction.atomic():
                notices = Notice.objects.bulk_create(
                    [
                        Notice(
                            title=f"{rng.choice(TITLES)}（{have + start + i + 1}）",
                            body="各单位：请按要求落实。",
                            body_html="<p>各单位：请按要求落实。</p>",
                            unit_id=pk,
                            unit_path=path,
                            author=author,
                            audience_mode=AudienceMode.SUBTREE if subtree else AudienceMode.UNIT,
                            state=NoticeState.PUBLISHED,
                            published_at=now - timedelta(seconds=30 * (wanted - start - i)),
                            receipt_required=rng.random() < 0.3,
                        )
                        for i, (pk, path, subtree) in enumerate(picks)
                    ]
                )
                NoticeTarget.objects.bulk_create(
                    [
                        NoticeTarget(notice=n, path=p[1], subtree=p[2], published_at=n.published_at)
                        for n, p in zip(notices, picks, strict=True)
                    ]
                )
                NoticeSearch.objects.bulk_create([NoticeSearch(notice=n, text=n.title) for n in notices])

    timed(f"fill {wanted} published notices", run, report)


def summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 2),
        "max_ms": round(samples[-1], 2),
    }


def record(report: dict, name: str, result: dict, target: float | None) -> None:
    result["target_ms"] = target
    report.setdefault("results", {})[name] = result
    flag = "" if target is None else ("  ok" if result["p95_ms"] < target else "  OVER TARGET")
    print(f"{name:58s} p50 {result['p50_ms']:8.2f}  p95 {result['p95_ms']:8.2f}  max {result['max_ms']:8.2f} ms{flag}")


def measure(run: Callable[[object], object], inputs: list) -> dict:
    samples = []
    for item in inputs:
        started = time.perf_counter()
        run(item)
        samples.append((time.perf_counter() - started) * 1000)
    return summary(samples)


def national_draft(publisher, root, *, receipt: bool = True):
    from notices import services

    notice = services.notice_create(
        user=publisher,
        unit=root,
        data=services.NoticeInput(
            title="关于做好寒假期间校园网络安全工作的通知（全国）",
            body="各省级教育行政部门：\n\n请于**12月20日前**完成网络安全自查。",
            audience_mode="subtree",
            receipt_required=receipt,
        ),
    )
    return services.notice_submit(user=publisher, notice=notice)


def run_publish(args: argparse.Namespace, report: dict, root, publisher, reviewer):
    """A national notice published by the reviewer's approve: through the API (token auth), and
    through the service alone. Returns the last national notice."""
    from rest_framework.test import APIClient

    from accounts.services import token_issue
    from notices import services
    from notices.models import Notice

    client = APIClient()
    auth = f"Token {token_issue(user=reviewer).key}"
    drafts = [national_draft(publisher, root) for _ in range(args.publishes)]
    statuses = []

    def by_api(notice) -> None:
        answer = client.post(
            f"/api/v1/notices/{notice.pk}/approve/", data={"note": ""}, format="json", HTTP_AUTHORIZATION=auth
        )
        statuses.append(answer.status_code)

    record(report, "publish a national notice: approve through the API", measure(by_api, drafts), TARGETS_MS["publish"])
    report["results"]["publish a national notice: approve through the API"]["statuses"] = sorted(set(statuses))
    drafts = [national_draft(publisher, root) for _ in range(args.publishes)]
    record(
        report,
        "publish a national notice: notice_approve (service)",
        measure(lambda n: services.notice_approve(user=reviewer, notice=n), drafts),
        TARGETS_MS["publish"],
    )
    return Notice.objects.get(pk=drafts[-1].pk)


def add_reads(args: argparse.Namespace, report: dict, notice) -> None:
    """A share of the users read the national notice (and half of them confirmed): bench rows."""
    from django.db import connection

    from accounts.models import User
    from notices.models import NoticeRead

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {NoticeRead._meta.db_table} (notice_id, user_id, unit_id, read_at, confirmed_at)
                SELECT %s, id, unit_id, now(), CASE WHEN random() < 0.5 THEN now() END
                FROM {User._meta.db_table} WHERE random() < %s AND unit_id IS NOT NULL
                ON CONFLICT DO NOTHING""",
                [notice.pk, args.read_share],
            )

    timed(f"reads of the national notice ({args.read_share:.0%} of the users)", run, report)


def run_stats(args: argparse.Namespace, report: dict, notice, publisher) -> None:
    from notices import services
    from notices.models import NoticeRead, NoticeUnitStat
    from notices.selectors import stats as stats_selectors
    from orgtree.models import OrgLevel, OrgUnit

    started = time.perf_counter()
    rows = services.compute_notice_stats(notice.pk)
    seconds = time.perf_counter() - started
    count = NoticeUnitStat.objects.filter(notice=notice).count()
    report.setdefault("results", {})["statistics ready (compute_notice_stats, national)"] = {
        "seconds": round(seconds, 2),
        "unit_rows": count,
        "rows_returned": rows,
        "reads": NoticeRead.objects.filter(notice=notice).count(),
    }
    print(f"statistics ready for the national notice: {seconds:.2f} s, {count} unit rows", flush=True)

    rng = random.Random(args.seed + 5)
    provinces = list(OrgUnit.objects.filter(level=OrgLevel.PROVINCE))
    counties = list(OrgUnit.objects.filter(level=OrgLevel.COUNTY).order_by("?")[: args.queries])

    def query(unit) -> None:
        found = stats_selectors.notice_stats(user=publisher, notice=notice, unit=unit)
        len(found.children)

    queries = max(10, args.queries // 10)
    record(report, "statistics query, national (34 provinces)", measure(query, [None] * queries), TARGETS_MS["stats"])
    record(
        report,
        "statistics query, a province (its prefectures)",
        measure(query, [rng.choice(provinces) for _ in range(queries)]),
        TARGETS_MS["stats"],
    )
    record(report, "statistics query, a county (its schools)", measure(query, counties[:queries]), TARGETS_MS["stats"])

    def pending(unit) -> None:
        list(stats_selectors.pending_units(user=publisher, notice=notice, unit=unit, level=OrgLevel.SCHOOL)[:50])

    record(
        report,
        "schools of a province that have not all confirmed (first 50)",
        measure(pending, [rng.choice(provinces) for _ in range(queries)]),
        TARGETS_MS["stats"],
    )


def school_users(count: int, seed: int) -> list:
    from accounts.models import User, UserType
    from orgtree.models import OrgLevel

    ids = list(
        User.objects.filter(unit__level=OrgLevel.SCHOOL, user_type=UserType.TEACHER, is_active=True)
        .order_by("?")
        .values_list("pk", flat=True)[:count]
    )
    return list(User.objects.filter(pk__in=ids).select_related("unit"))


def run_inbox(args: argparse.Namespace, report: dict, users: list) -> None:
    from notices import selectors, unread

    def first_page(user) -> None:
        rows = list(selectors.with_receipt(selectors.inbox(user=user), user=user)[:21])
        user._inbox_rows = len(rows)

    # Fresh user objects each time: the scope (roles) is read per request in production too.
    record(report, "school user's inbox, first page with read flags", measure(first_page, users), TARGETS_MS["inbox"])
    sizes = [getattr(u, "_inbox_rows", 0) for u in users]
    report["results"]["school user's inbox, first page with read flags"]["rows_on_page_mean"] = round(
        statistics.mean(sizes), 1
    )
    reaching = [selectors.inbox(user=u).count() for u in users[:20]]
    report["results"]["school user's inbox, first page with read flags"]["notices_reaching_a_user_mean"] = round(
        statistics.mean(reaching), 1
    )

    def computed(user) -> None:
        selectors.unread_count(user=user)

    for user in users:
        unread.bump_user(user.pk)
    record(report, "unread count, computed (cache entry replaced)", measure(computed, users), TARGETS_MS["unread"])
    record(report, "unread count, cached", measure(computed, users), TARGETS_MS["unread"])


def main() -> None:
    args = parse_args()
    check_database("bench_notices")
    setup_django()
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict = {"args": vars(args), "load_average_at_start": os.getloadavg()}
    if not args.skip_load:
        load(args, report)

    from accounts.models import User
    from notices.models import Notice
    from orgtree.models import OrgLevel, OrgUnit

    root, publisher, reviewer = bench_staff()
    fill_notices(args, report, root, publisher)
    report["sizes"] = {
        "schools": OrgUnit.objects.filter(level=OrgLevel.SCHOOL).count(),
        "units": OrgUnit.objects.count(),
        "users": User.objects.count(),
        "notices": Notice.objects.count(),
    }
    print(json.dumps(report["sizes"], ensure_ascii=False), flush=True)
    report["load_average_before_timing"] = os.getloadavg()

    national = run_publish(args, report, root, publisher, reviewer)
    add_reads(args, report, national)
    run_stats(args, report, national, publisher)
    run_inbox(args, report, school_users(args.queries, args.seed))

    report["load_average_at_end"] = os.getloadavg()
    path = OUT / "notices_results.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print(f"\nResults in {path}; load average {report['load_average_at_end']}")


if __name__ == "__main__":
    main()
