from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "platform:celery-heartbeat"


@shared_task(name="helpdesk.tasks.record_heartbeat")
def record_heartbeat() -> str:
    """Beat's proof of life: the health page shows when the worker last ran a scheduled task."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(name="helpdesk.tasks.prune_realtime_events")
def prune_realtime_events() -> int:
    """Stored realtime events past their retention; a client resuming from one is told to resync."""
    from helpdesk.core import eventlog

    return eventlog.prune()


@shared_task(name="helpdesk.tasks.prune_idempotency_records")
def prune_idempotency_records() -> int:
    """Idempotency-Key answers older than 24 hours: the keys no longer hold, the rows go."""
    from helpdesk.core.api.idempotency import prune_idempotency_records as prune

    return prune()


@shared_task(name="helpdesk.tasks.prune_tombstones")
def prune_tombstones() -> int:
    """Delta-sync tombstones past their retention (30 days); older deltas are answered "resync"."""
    from helpdesk.core import tombstones

    return tombstones.prune()
