"""Read statistics per unit, recomputed by a background task (notices.tasks.compute_notice_stats).

A run counts the notice from scratch (notices/sql.py) and replaces its rows in one transaction, so
running it twice, or two workers at once (an advisory lock orders them), gives the same rows. The
notice's ``stats_stale`` flag is cleared before the count starts: a read that lands during the count
sets it again and queues the next run, so no read is left uncounted.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from orgtree.models import OrgUnit

from .. import sql
from ..models import DELIVERED_STATES, Notice


def compute_notice_stats(notice_id: int) -> int | None:
    """Recount one delivered notice; how many unit rows it wrote (None: not delivered, nothing to count)."""
    notice = Notice.objects.filter(pk=notice_id, state__in=DELIVERED_STATES).only("pk", "unit_path").first()
    if notice is None:
        return None
    Notice.objects.filter(pk=notice_id, stats_stale=True).update(stats_stale=False)
    max_depth = OrgUnit.objects.aggregate(deepest=Max("depth"))["deepest"] or 1
    now = timezone.now()
    with transaction.atomic():
        sql.lock_notice_stats(notice_id)
        written = sql.write_unit_stats(
            notice_id=notice_id, unit_path=notice.unit_path, max_depth=max_depth, computed_at=now
        )
        Notice.objects.filter(pk=notice_id).update(stats_computed_at=now)
    return written


def stale_notice_ids(limit: int = 100) -> list[int]:
    return list(
        Notice.objects.filter(stats_stale=True, state__in=DELIVERED_STATES)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
