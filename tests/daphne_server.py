"""daphne in a process of its own, as run_platform starts it, for tests against a real ASGI server.

It serves this test session's database (PostgreSQL: the test's rows must be committed, so the tests
use ``django_db(transaction=True)``) and the Redis that ``redis_url`` names, if any. Its log goes to a
file: a pipe nobody reads fills up after ~64 KiB of request lines and stops the server mid-test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from helpdesk.management.commands.run_platform import DAPHNE_ENV, DAPHNE_OPTIONS
from tests.concurrency import require_postgres

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaphneProcess:
    def __init__(self, *, var_dir: Path, redis_url: str | None = None, **env: str) -> None:
        require_postgres()
        db = connection.settings_dict
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))}
        inherited.pop("REDIS_URL", None)
        self.env = inherited | {
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "HELPDESK_VAR_DIR": str(var_dir),
            **({"REDIS_URL": redis_url} if redis_url else {}),
            **env,
        }
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = Path(tempfile.mkstemp(prefix="daphne-", suffix=".log")[1])

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def start(self, timeout: float = 60) -> DaphneProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    *DAPHNE_OPTIONS,
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "helpdesk.asgi:application",
                ],
                cwd=REPO,
                env=DAPHNE_ENV | self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{self.base}/healthz", timeout=2)
                return self
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    pytest.fail("daphne exited: " + self.output())
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("daphne did not answer: " + self.output())
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
