from celery import shared_task

from . import services


@shared_task(name="tickets.tasks.sla_sweep", expires=55)
def sla_sweep() -> dict[str, int]:
    """Beat runs this every minute. Safe to overlap or rerun: due tickets are taken with SKIP LOCKED
    and each change moves the ticket's next check past now in the same transaction."""
    return services.sla_sweep()


@shared_task(name="tickets.tasks.archive_resolved")
def archive_resolved() -> int:
    return services.tickets_archive_resolved()


@shared_task(name="tickets.tasks.notify_new_tickets", expires=10)
def notify_new_tickets() -> int:
    """Beat runs this every 5 seconds: the pools hear of the tickets filed since the last run."""
    return services.tickets_notify_new()
