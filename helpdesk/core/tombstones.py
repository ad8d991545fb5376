"""Tombstones: what left a client's cached lists, for delta sync (helpdesk.core.api.delta).

A list answered with ``updated_after`` reports the rows changed since then; a row that is gone
(deleted) or that left the list without a change the list itself can find (a ticket handed from one
agent to another no longer matches the first agent's list) is reported from here. The services write
them in the transaction of the change; ``prune`` (Celery beat, daily) drops those past ``RETENTION``,
and a delta older than that is answered with "resync" instead (410), never with a silent gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.utils import timezone

from .models import Tombstone

# How long a client may stay away and still sync by delta. A phone unused for a month fetches its
# lists afresh, as it would after a reinstall.
RETENTION = timedelta(days=30)
# Kind of a resync marker that concerns every collection (the reader's scope changed).
EVERY_KIND = "*"


def record_removed(
    *, kind: str, object_ids: Iterable[int], user_ids: Iterable[int | None] = (None,), at: datetime | None = None
) -> None:
    """Objects ``object_ids`` left the ``kind`` lists of ``user_ids`` (None: of everyone)."""
    at = at or timezone.now()
    rows = [
        Tombstone(kind=kind, object_id=object_id, user_id=user_id, removed_at=at)
        for object_id in dict.fromkeys(object_ids)
        for user_id in dict.fromkeys(user_ids)
    ]
    if rows:
        Tombstone.objects.bulk_create(rows)


def record_removed_rows(rows: Iterable[tuple[str, int, int | None]], *, at: datetime | None = None) -> None:
    """The same for many objects at once: (kind, object id, user id or None) each, one INSERT."""
    at = at or timezone.now()
    tombstones = [
        Tombstone(kind=kind, object_id=object_id, user_id=user_id, removed_at=at)
        for kind, object_id, user_id in dict.fromkeys(rows)
    ]
    if tombstones:
        Tombstone.objects.bulk_create(tombstones)


def record_resync(*, user_ids: Iterable[int], kind: str = EVERY_KIND, at: datetime | None = None) -> None:
    """What ``user_ids`` may see changed as a whole (a role granted or removed, a unit moved): their
    deltas from before now cannot be answered row by row, and they are told to fetch afresh."""
    at = at or timezone.now()
    rows = [Tombstone(kind=kind, object_id=None, user_id=user_id, removed_at=at) for user_id in set(user_ids)]
    if rows:
        Tombstone.objects.bulk_create(rows)


def prune(*, now: datetime | None = None) -> int:
    """Drop tombstones past the retention; returns how many. Deltas from before the cut-off are
    refused by age (delta.updated_after check), so nothing pruned is ever needed."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = Tombstone.objects.filter(removed_at__lt=cutoff).delete()
    return deleted
