"""Celery for real: a worker and beat in their own processes, talking to this one through the broker.

With no environment the broker and result backend are directories under HELPDESK_VAR_DIR (kombu's
filesystem transport) and the cache is a file cache there too; with REDIS_URL all three are Redis.
Either way the web process, the worker and beat must see the same queue, results and cache.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from celery import Celery
from django.core.cache import cache
from django.utils import timezone

from helpdesk.tasks import HEARTBEAT_KEY

REPO = Path(__file__).resolve().parents[2]
HEARTBEAT_SECONDS = 1

DUMP_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "broker_url": s.CELERY_BROKER_URL,
    "broker_transport_options": s.CELERY_BROKER_TRANSPORT_OPTIONS,
    "result_backend": s.CELERY_RESULT_BACKEND,
    "beat_schedule_filename": s.CELERY_BEAT_SCHEDULE_FILENAME,
    "caches": s.CACHES,
    "acks_late": s.CELERY_TASK_ACKS_LATE,
    "reject_on_worker_lost": s.CELERY_TASK_REJECT_ON_WORKER_LOST,
    "prefetch": s.CELERY_WORKER_PREFETCH_MULTIPLIER,
    "heartbeat_schedule": s.CELERY_BEAT_SCHEDULE["platform-heartbeat"]["schedule"],
}, default=str))
"""


@pytest.fixture
def platform_env(tmp_path) -> dict[str, str]:
    """The environment the worker and beat get: this process's own, with a private var directory."""
    env = {**os.environ}
    env["HELPDESK_VAR_DIR"] = str(tmp_path / "var")
    env["HELPDESK_HEARTBEAT_SECONDS"] = str(HEARTBEAT_SECONDS)
    env["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.base"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def settings_seen_by(env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", DUMP_SETTINGS],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class Processes:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "helpdesk", *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running.append((name, proc))

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {name}.log\n{self.log(name)[-3000:]}" for name, _ in self.running)

    def assert_alive(self) -> None:
        for name, proc in self.running:
            assert proc.poll() is None, f"{name} exited with {proc.returncode}\n{self.logs()}"

    def stop(self) -> None:
        # Whole process groups: the prefork pool's children go with their parent.
        for _name, proc in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, proc in self.running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    yield procs
    procs.stop()


def test_defaults_need_no_server_and_live_under_the_var_dir(platform_env, tmp_path):
    embedded = {k: v for k, v in platform_env.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    seen = settings_seen_by(embedded)
    var = tmp_path / "var"
    assert seen["broker_url"] == "filesystem://"
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        assert Path(seen["broker_transport_options"][key]).is_relative_to(var)
        assert Path(seen["broker_transport_options"][key]).is_dir()
    assert seen["result_backend"] == f"file://{var / 'celery' / 'results'}"
    assert Path(seen["beat_schedule_filename"]).is_relative_to(var)
    assert seen["caches"]["default"]["BACKEND"].endswith("FileBasedCache")
    assert Path(seen["caches"]["default"]["LOCATION"]).is_relative_to(var)


def test_no_work_is_lost_settings(platform_env):
    seen = settings_seen_by(platform_env)
    assert seen["acks_late"] is True
    assert seen["reject_on_worker_lost"] is True
    assert seen["prefetch"] == 1
    assert seen["heartbeat_schedule"] == HEARTBEAT_SECONDS


def test_worker_runs_beat_schedule_and_tasks_sent_from_here(platform_env, processes, settings, tmp_path):
    seen = settings_seen_by(platform_env)
    if os.environ.get("REDIS_URL"):
        assert seen["broker_url"] == os.environ["REDIS_URL"]
        assert seen["caches"]["default"]["LOCATION"] == os.environ["REDIS_URL"]
    # This process reads the cache the worker writes to, as the web process's health page does.
    settings.CACHES = seen["caches"]
    started = timezone.now()

    var = Path(platform_env["HELPDESK_VAR_DIR"])
    node = f"test-{uuid.uuid4().hex[:8]}@%h"
    processes.start("worker", ["worker", "-l", "info", "--concurrency", "1", "-n", node], platform_env)
    processes.start("beat", ["beat", "-l", "info", "-s", str(var / "celerybeat-schedule")], platform_env)

    # (b) Beat sends the heartbeat on its schedule and the worker runs it: the key appears in the cache.
    deadline = time.monotonic() + 20
    heartbeat = None
    while time.monotonic() < deadline:
        processes.assert_alive()
        value = cache.get(HEARTBEAT_KEY)
        if value and datetime.fromisoformat(value) >= started:
            heartbeat = value
            break
        time.sleep(0.3)
    assert heartbeat, f"no heartbeat from beat + worker within 20 s\n{processes.logs()}"
    assert "Sending due task platform-heartbeat" in processes.log("beat")

    # (a) A task sent from this process through the broker comes back with its result.
    client = Celery("test-client", broker=seen["broker_url"], backend=seen["result_backend"])
    client.conf.broker_transport_options = seen["broker_transport_options"]
    client.conf.task_serializer = client.conf.result_serializer = "json"
    result = client.send_task("helpdesk.tasks.record_heartbeat")
    try:
        returned = result.get(timeout=20)
    except Exception as exc:
        pytest.fail(f"task result did not come back: {exc!r}\n{processes.logs()}")
    assert datetime.fromisoformat(returned) >= started
    assert result.state == "SUCCESS"
    processes.assert_alive()
