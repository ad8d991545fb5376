"""/healthz as a load balancer sees it: a quick answer, 503 when a piece is down, also when Redis stalls.

Each case runs the settings in a fresh interpreter, as the server would, with REDIS_URL pointing at a
local socket server that accepts connections and never answers (a Redis stuck in a fork, a half-open
network path), so the timeouts under test are the settings' own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, time, django
django.setup()
from django.test import Client
started = time.monotonic()
response = Client().get("/healthz", HTTP_HOST="localhost")
print(json.dumps({"status": response.status_code, "body": response.json(), "seconds": time.monotonic() - started}))
"""


@pytest.fixture
def stalled_redis():
    """A TCP server that accepts every connection and never reads or writes a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0", accepted
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    server.close()


def probe(env: dict[str, str], settings_module: str) -> dict:
    env = {**env, "DJANGO_SETTINGS_MODULE": settings_module}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def base_env(tmp_path) -> dict[str, str]:
    """Embedded SQLite (SELECT 1 needs no migrations) and whatever REDIS_URL the case sets."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "HELPDESK_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    return env | {"HELPDESK_VAR_DIR": str(tmp_path / "var")}


def test_healthz_answers_503_within_seconds_while_redis_stalls(base_env, stalled_redis):
    url, accepted = stalled_redis
    seen = probe(base_env | {"REDIS_URL": url}, "helpdesk.settings.base")
    assert accepted, "the health check never reached the stalled Redis"
    assert seen["status"] == 503
    assert seen["body"]["database"] == "ok" and seen["body"]["cache"] == "down"
    assert seen["seconds"] < 5, seen


def test_healthz_is_200_when_redis_answers(base_env):
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        if os.environ.get("CI"):
            pytest.fail("CI sets REDIS_URL")
        pytest.skip("set REDIS_URL to check /healthz against a live Redis")
    seen = probe(base_env | {"REDIS_URL": redis_url}, "helpdesk.settings.base")
    assert seen["status"] == 200 and seen["body"]["cache"] == "ok", seen
