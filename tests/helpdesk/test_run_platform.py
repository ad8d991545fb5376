"""``manage.py run_platform``, the README's first command, run for real on a fresh var directory."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.concurrency import require_postgres

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def fresh_env(tmp_path) -> dict[str, str]:
    """A machine with nothing configured: embedded defaults, a var directory of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "HELPDESK_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(HELPDESK_VAR_DIR=str(tmp_path / "var"), HELPDESK_HEARTBEAT_SECONDS="1", PYTHONUNBUFFERED="1")
    return env


class Platform:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_platform", *args],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"^started (\w+) \(pid (\d+)\)$", self.log, re.M)}

    def wait_until(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"run_platform exited early\n{self.log[-4000:]}"
            if check():
                return
            time.sleep(0.5)
        pytest.fail(f"{what} within {timeout:.0f} s\n{self.log[-4000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in self.child_pids().values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def platforms():
    started: list[Platform] = []
    yield started
    for platform in started:
        platform.kill()


def test_one_command_runs_web_worker_and_beat_and_ctrl_c_stops_them(fresh_env, tmp_path, platforms):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    platform = Platform(["--port", str(port)], fresh_env, tmp_path / "run.log")
    platforms.append(platform)

    def healthy() -> bool:
        try:
            return get(f"{base}/healthz")[0] == 200
        except OSError:
            return False

    # Migrations, the division tree and the demo data come first on a fresh machine.
    platform.wait_until("the web server answered /healthz", healthy, timeout=150)
    log = platform.log
    assert f"{base}/accounts/login/" in log and f"ws://127.0.0.1:{port}/ws/" in log
    assert "teacher_zhang" in log and "Demo@2026" in log
    assert set(platform.child_pids()) == {"web", "worker", "beat"}
    # web is serve_ws, its daphnes (one on the embedded default's in-memory layer) its children; each
    # gets a thread pool sized for the sockets' database work (DAPHNE_ENV), not cores + 4.
    web = platform.child_pids()["web"]
    daphnes = [int(pid) for pid in Path(f"/proc/{web}/task/{web}/children").read_text().split()]
    assert len(daphnes) == 1
    for pid in daphnes:
        assert b"daphne" in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"ASGI_THREADS=16" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")

    status, body = get(f"{base}/accounts/login/")
    assert status == 200 and b"<form" in body

    def beat_and_worker_ran() -> bool:
        return bool(json.loads(get(f"{base}/healthz")[1])["celery_last_heartbeat"])

    platform.wait_until("beat's heartbeat was run by the worker", beat_and_worker_ran, timeout=30)
    assert "Sending due task platform-heartbeat" in platform.log
    assert "Task helpdesk.tasks.record_heartbeat" in platform.log

    platform.process.send_signal(signal.SIGINT)
    assert platform.process.wait(timeout=40) == 0, platform.log[-3000:]
    assert "All processes stopped." in platform.log
    for name, pid in [*platform.child_pids().items(), *(("daphne", pid) for pid in daphnes)]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
            pytest.fail(f"{name} (pid {pid}) outlived run_platform")


def test_exits_with_an_error_when_a_process_dies(fresh_env, tmp_path, platforms):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        platform = Platform(["--skip-setup", "--port", str(port)], fresh_env, tmp_path / "run.log")
        platforms.append(platform)
        try:
            returncode = platform.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"run_platform kept running without its web server\n{platform.log[-3000:]}")
    assert returncode != 0
    assert "web exited with code" in platform.log
    for pid in platform.child_pids().values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_missing_postgres_database_is_named_with_the_command_that_creates_it(fresh_env):
    """DATABASE_URL names a database the local PostgreSQL does not have: a clear message at once."""
    require_postgres()
    server = connection.settings_dict
    host, port, user = server["HOST"] or "127.0.0.1", server["PORT"] or 5432, server["USER"]
    name = f"helpdesk_missing_{uuid.uuid4().hex[:8]}"
    env = fresh_env | {"DATABASE_URL": f"postgres://{user}@{host}:{port}/{name}"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "run_platform"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # Django's start-up included; the connection pool alone used to wait 10 s before failing.
    assert elapsed < 8, (elapsed, output)
    assert f'The PostgreSQL database "{name}" named in DATABASE_URL does not exist' in output
    assert f"createdb -h {host} -p {port} -U {user} {name}" in output
    assert "Traceback" not in output and len(output.strip().splitlines()) <= 3, output
