"""Long-lived server processes keep what they loaded at start out of the garbage collector's full
collections: one over Django and the apps paused an SLA sweep or a request for ~100-130 ms."""

import gc
import os
import subprocess
import sys
from pathlib import Path

from celery.signals import worker_process_init

ROOT = Path(__file__).resolve().parents[2]


def test_a_celery_worker_process_freezes_what_it_loaded():
    import helpdesk.celery  # noqa: F401 - connects the signal

    gc.unfreeze()
    try:
        worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_a_web_worker_freezes_django_and_every_view_once_the_wsgi_app_is_loaded():
    probe = (
        "import gc, sys\n"
        "import helpdesk.wsgi\n"
        "print(gc.get_freeze_count(), 'tickets.api.views' in sys.modules, 'tickets.views' in sys.modules)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    frozen, api_views, portal_views = result.stdout.split()
    assert int(frozen) > 10_000
    assert api_views == portal_views == "True"
