"""What every benchmark script does first: refuse a shared database, set Django up as production
runs it (DEBUG off), and time the load steps."""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def check_database(example: str) -> None:
    """Exit unless DATABASE_URL names a PostgreSQL database of the benchmark's own (``example``)."""
    parsed = urlparse(os.environ.get("DATABASE_URL", ""))
    if not parsed.scheme.startswith("postgres"):
        sys.exit(f"Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/{example}")
    if parsed.path.lstrip("/") in {"", "test", "postgres"}:
        sys.exit(f"Use a dedicated database (createdb {example}): this one is shared (CI uses `test`).")


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    # With DEBUG on, Django keeps every query in memory and times them: not what production runs.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")
    import django

    django.setup()


def timed(label: str, func: Callable[[], object], report: dict) -> object:
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    report.setdefault("load", {})[label] = round(seconds, 1)
    print(f"[load] {label}: {seconds:.1f} s", flush=True)
    return result


def host_speed_ms() -> float:
    """CPU time of a fixed pure-Python loop (best of three): the machine's own speed, which on this shared
    host changes by half or more from one minute to the next, whatever the project does. Printed beside
    the CPU-bound figures (creates, chat messages), so that runs on a slow spell can be told from slower code."""
    best = math.inf
    for _ in range(3):
        started = time.process_time()
        sum(i * i for i in range(2_000_000))
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)
