"""A task in flight when the whole worker dies comes back within minutes, and is never run twice at once.

With late acks, Redis hands an unacknowledged task to another worker after the broker's visibility
timeout. That timeout must be longer than any task may run (or a slow task would be started a second
time while the first still runs) and no longer than needed (or a killed worker's task waits an hour).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

DUMP = """
import json, django
django.setup()
from helpdesk.celery import app
app.loader.import_default_modules()
conf = app.conf
tasks = {
    name: {"hard": task.time_limit or conf.task_time_limit, "soft": task.soft_time_limit or conf.task_soft_time_limit}
    for name, task in app.tasks.items() if not name.startswith("celery.")
}
print(json.dumps({
    "tasks": tasks,
    "transport": conf.broker_transport_options,
    "broker": conf.broker_url,
    "schedule": sorted(entry["task"] for entry in conf.beat_schedule.values()),
}))
"""


def seen_with_redis(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "HELPDESK_VAR_DIR": str(tmp_path / "var"),
        # Only read, never connected to.
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    result = subprocess.run(
        [sys.executable, "-c", DUMP], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_task_has_a_time_limit_within_the_visibility_timeout(tmp_path):
    seen = seen_with_redis(tmp_path)
    assert seen["broker"].startswith("redis://")
    tasks = seen["tasks"]
    # Every task beat schedules is registered, so its limit is checked here.
    assert set(seen["schedule"]) <= set(tasks), seen
    for name, limits in tasks.items():
        assert limits["hard"], f"{name} may run forever"
        assert limits["soft"] and limits["soft"] < limits["hard"], f"{name} is killed without a soft limit first"
    longest = max(limits["hard"] for limits in tasks.values())
    visibility = seen["transport"]["visibility_timeout"]
    # Covers the longest task with a margin for delivery ...
    assert visibility >= longest + 30, (visibility, longest)
    # ... and a killed worker's task is back within minutes, not after kombu's default hour.
    assert visibility <= 15 * 60, visibility
