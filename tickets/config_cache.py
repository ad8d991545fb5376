"""A per-process snapshot of the SLA configuration: the four policies, the default working-hour
schedule and the calendar overrides. Every ticket create, transition and sweep needs them, and they
change a few times a year, so reading them from the database each time would be most of a create's
queries. A save or delete in the admin clears the snapshot in that process at once (signals, below);
other processes pick the change up within ``TTL_SECONDS``."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

from django.db.models.signals import post_delete, post_save

TTL_SECONDS = 60.0
_lock = threading.Lock()
_snapshot: dict[str, Any] = {}


def clear(**_kwargs: Any) -> None:
    with _lock:
        _snapshot.clear()


def _get(key: str, load):
    now = time.monotonic()
    entry = _snapshot.get(key)
    if entry is not None and now - entry[0] < TTL_SECONDS:
        return entry[1]
    value = load()
    with _lock:
        _snapshot[key] = (now, value)
    return value


def policies() -> dict[str, Any]:
    from .models import SLAPolicy

    return _get("policies", lambda: {policy.priority: policy for policy in SLAPolicy.objects.all()})


def default_schedule():
    from .working_time import default_schedule as load

    return _get("schedule", load)


def overrides() -> dict[date, bool]:
    """Every override (a few dozen rows a year: the table stays small)."""
    from .models import CalendarOverride

    return _get("overrides", lambda: dict(CalendarOverride.objects.values_list("day", "is_workday")))


def connect_signals() -> None:
    from .models import CalendarOverride, SLAPolicy, WorkingSchedule

    for model in (SLAPolicy, WorkingSchedule, CalendarOverride):
        post_save.connect(clear, sender=model, dispatch_uid=f"sla-config-save-{model.__name__}")
        post_delete.connect(clear, sender=model, dispatch_uid=f"sla-config-delete-{model.__name__}")
