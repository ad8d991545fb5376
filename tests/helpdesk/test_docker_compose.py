"""docker-compose.yml and the Dockerfile: what ``docker compose up`` relies on.

No Docker engine runs here, so the stack is checked by its structure, by the Compose CLI's own
validation (``docker compose config``, or Debian's ``docker-compose``), and by loading the
production settings with exactly the environment the compose file gives the containers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
APP_SERVICES = ("web", "ws", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` with nothing set in the caller's shell."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), str(value))


def compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_cli_accepts_the_file():
    cli = compose_cli()
    if cli is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have `docker compose` or `docker-compose` to validate docker-compose.yml")
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE), "config", "-q"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_services_images_and_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "proxy", *APP_SERVICES}
    assert services["proxy"]["image"].startswith("nginx:")
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    checks = {name: " ".join(map(str, svc["healthcheck"]["test"])) for name, svc in services.items()}
    assert "pg_isready" in checks["postgres"]
    assert "redis-cli ping" in checks["redis"]
    assert "urllib.request" in checks["web"] and "/healthz" in checks["web"]
    assert "8001/healthz" in checks["ws"]
    assert "/healthz" in checks["proxy"]
    assert "inspect ping" in checks["worker"]
    assert "HEARTBEAT_KEY" in checks["beat"]


def test_named_volumes_keep_database_redis_and_media(compose):
    assert {"pgdata", "redisdata", "media", "private"} <= set(compose["volumes"])
    services = compose["services"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]
    for name in APP_SERVICES:
        assert "media:/data/media" in services[name]["volumes"]
        assert services[name]["environment"]["DJANGO_MEDIA_ROOT"] == "/data/media"
        # Ticket attachments persist in their own volume, outside the web root.
        assert "private:/data/private" in services[name]["volumes"]
        assert services[name]["environment"]["DJANGO_PRIVATE_MEDIA_ROOT"] == "/data/private"


def test_app_services_use_postgres_and_redis_and_start_in_order(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert interpolate(env["DATABASE_URL"]).startswith("postgres://helpdesk:")
        assert interpolate(env["DATABASE_URL"]).endswith("@postgres:5432/helpdesk")
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["DJANGO_SETTINGS_MODULE"] == "helpdesk.settings.production"
    assert services["web"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    # The websocket server, the worker and beat start once web has migrated and answers its health check.
    for name in ("ws", "worker", "beat"):
        assert services[name]["depends_on"] == {"web": {"condition": "service_healthy"}}
    web = " ".join(services["web"]["command"])
    steps = ["migrate", "load_divisions", "seed_demo", "gunicorn"]
    assert [web.index(step) for step in steps] == sorted(web.index(step) for step in steps)
    assert "helpdesk.wsgi:application" in web
    # The websocket: serve_ws (a daphne per WS_PROCESSES, on one port), behind the proxy.
    assert services["ws"]["command"][:3] == ["python", "manage.py", "serve_ws"]
    assert "--proxy-headers" in services["ws"]["command"]
    assert services["ws"]["environment"]["WS_PROCESSES"] == "${WS_PROCESSES:-2}"
    assert services["worker"]["command"][:4] == ["celery", "-A", "helpdesk", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "helpdesk", "beat"]
    # Exactly one beat.
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_compose_environment_satisfies_production_settings(compose, tmp_path):
    """The containers' environment loads the production settings and passes Django's checks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))}
    env.update({k: interpolate(v) for k, v in compose["services"]["web"]["environment"].items()})
    env.update(HELPDESK_VAR_DIR=str(tmp_path / "var"), DJANGO_MEDIA_ROOT=str(tmp_path / "media"))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_the_app_image():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install ." in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "the app should not run as root"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def test_nginx_sends_http_to_gunicorn_and_the_websocket_to_daphne(compose):
    """The front door: every path but /ws/ to web (gunicorn), /ws/ upgraded to ws (daphne)."""
    proxy = compose["services"]["proxy"]
    assert proxy["ports"] == ["${HELPDESK_PORT:-8000}:80"]
    mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/nginx/conf.d/default.conf:ro"))
    conf = (REPO / mount.split(":")[0]).read_text()
    assert "server web:8000;" in conf and "server ws:8001;" in conf
    websocket = conf[conf.index("location /ws/") : conf.index("location / ")]
    assert "proxy_pass http://ws;" in websocket
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_pass http://web;" in conf[conf.index("location / ") :]
    # Attachments of up to 10 MB get through.
    assert re.search(r"client_max_body_size 1[0-9]m;", conf)
    # Both servers listen where nginx looks for them.
    assert "0.0.0.0:8000" in " ".join(compose["services"]["web"]["command"])
    ws = compose["services"]["ws"]["command"]
    assert " ".join(ws[ws.index("--host") :][:4]) == "--host 0.0.0.0 --port 8001"
