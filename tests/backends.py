"""Which Redis the test suite uses: the one ``REDIS_URL`` names (its database included), and no other.

The suite used to fall back to ``redis://127.0.0.1:6379/0`` whenever something answered there, so a
developer's run wrote test keys into whatever db 0 held (a dev server's cache and broker) and two
sessions on one machine heard each other. Without ``REDIS_URL`` the suite runs on the in-process
channel layer and a local-memory cache; with it, on that URL. CI always sets it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest


def redis_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """The Redis the tests may use, or None. In CI (``CI`` set) Redis is required."""
    url = environ.get("REDIS_URL") or None
    if url is None and environ.get("CI"):
        pytest.fail("CI runs the suite on Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/12)", pytrace=False)
    return url


def channel_layer_params(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The channel layers the realtime tests run on: the in-process one, and Redis if configured."""
    return ["in-memory", "redis"] if redis_url(environ) else ["in-memory"]


def require_redis_url() -> str:
    """For tests that only make sense on Redis (a production server): skipped without REDIS_URL."""
    url = redis_url()
    if url is None:
        pytest.skip("needs Redis: set REDIS_URL=redis://…/<db> as CI does")
    return url
