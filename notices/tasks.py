from celery import shared_task

from . import services


@shared_task(name="notices.tasks.publish_due", expires=55)
def publish_due() -> int:
    """Beat runs this every minute: scheduled notices whose time has come are published. Safe to
    overlap or rerun: each notice is taken with SKIP LOCKED and its state checked in the same
    transaction, so it is published once; a worker killed mid-way rolls back and the next run has it."""
    return services.publish_due()


@shared_task(name="notices.tasks.compute_notice_stats")
def compute_notice_stats(notice_id: int) -> int | None:
    """Recount one notice's per-unit statistics from scratch (idempotent)."""
    return services.compute_notice_stats(notice_id)


@shared_task(name="notices.tasks.recount_stale_stats", expires=55)
def recount_stale_stats() -> int:
    """Beat's safety net: notices whose statistics a read marked stale but whose queued run was lost."""
    from .services.stats import stale_notice_ids

    ids = stale_notice_ids()
    for notice_id in ids:
        services.compute_notice_stats(notice_id)
    return len(ids)


@shared_task(name="notices.tasks.deliver_notice_reminder")
def deliver_notice_reminder(notice_id: int, number: int) -> int:
    """催阅's live part: recount, then tell the units that have not confirmed (a rerun sends the same
    frames, which sockets drop as duplicates by their key)."""
    from .services.reading import reminder_deliver

    return reminder_deliver(notice_id, number)
