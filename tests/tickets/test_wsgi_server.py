"""The HTTP server docker-compose runs: gunicorn's sync workers serving helpdesk.wsgi, on PostgreSQL
through the project's own settings (pooled connections, the create's prepared statements)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.concurrency import require_postgres
from tests.factories import api_token
from tickets.models import Ticket

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn():
    require_postgres()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "helpdesk.wsgi:application",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("gunicorn did not start: " + process.stderr.read().decode()[-2000:])
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=20)


def test_gunicorn_files_numbers_and_lists_tickets(gunicorn, teacher, staff):
    token = api_token(teacher)
    headers = {"Authorization": f"Token {token}"}
    body = {"title": "投影仪无法开机", "description": "指示灯常亮", "type": "hardware", "contact_info": "13800138000"}
    with httpx.Client(base_url=gunicorn, headers=headers, timeout=10) as http:
        # More creates than workers: every worker's pooled connection prepares and reuses the statements.
        created = [http.post("/api/v1/tickets/", json=body) for _ in range(8)]
        assert [r.status_code for r in created] == [201] * 8, created[0].text
        numbers = [r.json()["number"] for r in created]
        assert [int(n[-3:]) for n in numbers] == list(range(1, 9))
        assert created[0].headers["Location"] == f"/api/v1/tickets/{created[0].json()['id']}/"
        assert {r.json()["pool_unit"]["name"] for r in created} == {"海淀区"}
        mine = http.get("/api/v1/tickets/?view=mine").json()["results"]
        assert [row["number"] for row in mine] == numbers[::-1]
        assert http.post("/api/v1/tickets/", json=body | {"type": "nope"}).status_code == 400
    assert Ticket.objects.filter(asker=teacher).count() == 8
    assert httpx.get(f"{gunicorn}/api/v1/tickets/", headers={"Authorization": "Token nope"}).status_code == 401
