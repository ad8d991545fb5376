"""The test suite touches the Redis that REDIS_URL names, its database included, and no other: with
REDIS_URL unset it runs on the in-process channel layer and a local-memory cache even when a Redis
answers on 6379 (tests/backends.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from tests.backends import channel_layer_params, redis_url

REPO = Path(__file__).resolve().parents[2]
DB12 = "redis://127.0.0.1:6379/12"


def test_redis_url_alone_decides():
    assert redis_url({}) is None
    assert channel_layer_params({}) == ["in-memory"]
    assert redis_url({"REDIS_URL": DB12}) == DB12
    assert channel_layer_params({"REDIS_URL": DB12}) == ["in-memory", "redis"]
    with pytest.raises(pytest.fail.Exception, match="set REDIS_URL"):
        redis_url({"CI": "true"})


def test_this_session_uses_what_redis_url_says():
    url = os.environ.get("REDIS_URL")
    key = f"backend-probe-{uuid.uuid4().hex}"
    cache.set(key, "here", 30)
    assert cache.get(key) == "here"
    backend = settings.CACHES["default"]["BACKEND"]
    if url is None:
        assert backend == "django.core.cache.backends.locmem.LocMemCache"
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
        return
    assert backend == "django.core.cache.backends.redis.RedisCache"
    assert settings.CACHES["default"]["LOCATION"] == url
    # The key is in the URL's database, not in db 0 of the same server.
    client = redis.Redis.from_url(url)
    try:
        assert client.keys(f"*{key}")
    finally:
        cache.delete(key)
        client.close()


def run_pytest(env_changes: dict[str, str | None], *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in env_changes}
    env |= {k: v for k, v in env_changes.items() if v is not None}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def realtime_layer_ids(output: str) -> set[str]:
    return set(re.findall(r"\[(in-memory|redis)\b", output))


def test_a_run_without_redis_url_stays_off_redis():
    # Even here, where a Redis may answer on 6379: CI is unset so the run is a developer's.
    env = {"REDIS_URL": None, "CI": None, "DATABASE_URL": None}
    this_module = "tests/helpdesk/test_suite_backends.py::test_this_session_uses_what_redis_url_says"
    assert "1 passed" in run_pytest(env, this_module)
    collected = run_pytest(env, "--collect-only", "tests/helpdesk/test_realtime.py")
    assert realtime_layer_ids(collected) == {"in-memory"}


def test_a_run_with_redis_url_uses_that_database():
    url = os.environ.get("REDIS_URL")
    if url is None:
        # Only the Redis this session was given may be used: the run above already proves this one.
        assert channel_layer_params() == ["in-memory"]
        return
    env = {"REDIS_URL": url, "DATABASE_URL": None}
    this_module = "tests/helpdesk/test_suite_backends.py::test_this_session_uses_what_redis_url_says"
    assert "1 passed" in run_pytest(env, this_module)
    collected = run_pytest(env, "--collect-only", "tests/helpdesk/test_realtime.py")
    assert realtime_layer_ids(collected) == {"in-memory", "redis"}
