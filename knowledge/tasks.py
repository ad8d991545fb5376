from celery import shared_task

from . import search


@shared_task(name="knowledge.tasks.catch_up_search_index")
def catch_up_search_index() -> dict[str, int]:
    """Brings the search index in step with the published articles if a write ever bypassed the
    services (a restore from backup, a fix made in the database). Every publish, edit and archive
    already updates the index in its own transaction, so this normally finds nothing. Idempotent:
    it compares versions, so a rerun or an overlap with a publish indexes nothing twice."""
    indexed, removed = search.catch_up_index()
    return {"indexed": indexed, "removed": removed}
