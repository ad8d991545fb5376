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


@shared_task(name="tickets.tasks.ticket_created_notify")
def ticket_created_notify(ticket_id: int) -> int:
    """After a create commits: the pool's agents hear a question arrived, the handler that it is theirs.
    Idempotent: a rerun finds the notifications written and writes none."""
    return services.ticket_created_notify(ticket_id=ticket_id)
