"""Settings as an operator meets them: embedded defaults, DATABASE_URL / REDIS_URL, production.

Each case runs in a fresh interpreter, because settings are read once per process from its environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PG_URL = "postgres://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"

DUMP = """
import json, django
django.setup()
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "db_engine": db["ENGINE"], "db_pool": db.get("OPTIONS", {}).get("pool"), "db_max_age": db.get("CONN_MAX_AGE"),
    "db_name": str(db["NAME"]),
    "cache": s.CACHES["default"]["BACKEND"], "layer": s.CHANNEL_LAYERS["default"]["BACKEND"],
    "broker": s.CELERY_BROKER_URL, "results": s.CELERY_RESULT_BACKEND, "debug": s.DEBUG,
}))
"""


@pytest.fixture
def clean_env(tmp_path) -> dict[str, str]:
    """This process's environment without any of the platform's own variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "HELPDESK_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env["HELPDESK_VAR_DIR"] = str(tmp_path / "var")
    return env


@pytest.fixture
def production_env(clean_env, tmp_path) -> dict[str, str]:
    return {
        **clean_env,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "helpdesk.example.edu.cn",
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def dump(env: dict[str, str]) -> dict:
    result = run(["-c", DUMP], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_defaults_need_no_server(clean_env, tmp_path):
    seen = dump({**clean_env, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base"})
    assert seen["db_engine"] == "django.db.backends.sqlite3"
    assert Path(seen["db_name"]).is_relative_to(tmp_path / "var")
    assert seen["cache"].endswith("FileBasedCache")
    assert seen["layer"] == "channels.layers.InMemoryChannelLayer"
    assert seen["broker"] == "filesystem://"
    assert seen["results"].startswith("file://")


def test_database_url_and_redis_url_switch_to_postgres_and_redis(clean_env):
    seen = dump(
        {
            **clean_env,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
            "DATABASE_URL": PG_URL,
            "REDIS_URL": REDIS_URL,
        }
    )
    assert seen["db_engine"] == "django.db.backends.postgresql"
    # A pool, never persistent connections, which leak one connection per request thread under ASGI.
    assert seen["db_pool"]["max_size"] >= 2 and seen["db_max_age"] == 0
    assert seen["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert seen["layer"] == "helpdesk.core.channel_layer.BoundedRedisChannelLayer"
    assert seen["broker"] == seen["results"] == REDIS_URL


def test_production_passes_deploy_check_without_warnings(production_env):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output and "?: (security." not in output
    assert dump(production_env)["debug"] is False


REQUIRED = ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"]


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without_a_required_variable(production_env, missing):
    env = {**production_env}
    del env[missing]
    result = run(["manage.py", "check", "--deploy"], env)
    assert result.returncode != 0
    assert missing in result.stderr
    assert "Refusing to start with production settings" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_an_empty_variable(production_env):
    result = run(["manage.py", "check"], {**production_env, "REDIS_URL": "  "})
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_production_refuses_a_weak_secret_key(production_env):
    result = run(["manage.py", "check"], {**production_env, "DJANGO_SECRET_KEY": "too-short"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50 characters" in result.stderr


def test_deploy_check_catches_an_insecure_override(production_env):
    """The deploy check is not a formality: plain-HTTP cookies are reported."""
    env = {**production_env, "DJANGO_SECURE_COOKIES": "false"}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W012" in result.stderr + result.stdout


@pytest.mark.parametrize("value", ["one", "-1", "1.5"])
def test_production_refuses_a_proxy_count_that_is_not_a_number(production_env, value):
    result = run(["manage.py", "check"], {**production_env, "DJANGO_PROXY_COUNT": value})
    assert result.returncode != 0
    assert "DJANGO_PROXY_COUNT must be the number of proxies" in result.stderr
    assert "Traceback" not in result.stderr
