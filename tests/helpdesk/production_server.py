"""gunicorn on the production settings, behind an imaginary nginx: the test client connects from
127.0.0.1 (the proxy's address, REMOTE_ADDR) and sends the X-Forwarded-For / X-Forwarded-Proto
headers nginx would add. The server reads this test's database (PostgreSQL) and the test Redis, so
a test using it must commit its rows (``django_db(transaction=True)``).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.backends import require_redis_url
from tests.concurrency import require_postgres

REPO = Path(__file__).resolve().parents[2]
HOST = "helpdesk.example.edu.cn"
# What nginx appends after the client's address when a client is behind nginx only.
PROXY_ADDRESS = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(static_root: Path, var_dir: Path, **extra: str) -> dict[str, str]:
    require_postgres()
    redis_url = require_redis_url()
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "HELPDESK_", "AXES_")) and k not in {"DATABASE_URL"}
    }
    return env | {
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_STATIC_ROOT": str(static_root),
        "HELPDESK_VAR_DIR": str(var_dir),
        **extra,
    }


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """The production settings serve hashed file names from the manifest collectstatic writes."""
    redis_url = require_redis_url()  # before collectstatic's minute: production_env needs it anyway
    root = tmp_path_factory.mktemp("static")
    var_dir = tmp_path_factory.mktemp("var")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))} | {
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/unused",
        "REDIS_URL": redis_url,
        "DJANGO_STATIC_ROOT": str(root),
        "HELPDESK_VAR_DIR": str(var_dir),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return root


def start_gunicorn(env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
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
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", headers={"Host": HOST}, timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("gunicorn did not start: " + process.stderr.read().decode()[-3000:])
        time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def through_proxy(client_address: str, forged: str | None = None) -> dict[str, str]:
    """The headers nginx ($proxy_add_x_forwarded_for) sends for a request from ``client_address``:
    whatever X-Forwarded-For the client sent itself, then the client's address."""
    chain = f"{forged}, {client_address}" if forged else client_address
    return {"Host": HOST, "X-Forwarded-For": chain, "X-Forwarded-Proto": "https"}


def portal_login(base: str, headers: dict[str, str], username: str, password: str) -> httpx.Response:
    """The login form as a browser submits it: the page first (CSRF cookie and token), then the POST."""
    with httpx.Client(base_url=base, timeout=20) as http:
        page = http.get("/accounts/login/", headers=headers)
        assert page.status_code == 200, page.text[:500]
        cookie = page.cookies["csrftoken"]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        # The cookie is Secure (the request came over HTTPS to the proxy), so it is sent by hand here.
        return http.post(
            "/accounts/login/",
            headers=headers | {"Cookie": f"csrftoken={cookie}", "Origin": f"https://{HOST}"},
            data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        )
