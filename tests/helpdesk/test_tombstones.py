"""Delta sync's tombstones (helpdesk.core.tombstones): written by the services, read by
helpdesk.core.api.delta, pruned by beat after their 30 days."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from helpdesk import tasks
from helpdesk.core import tombstones
from helpdesk.core.models import Tombstone


def test_tombstones_past_the_retention_are_pruned_by_beat(db):
    now = timezone.now()
    tombstones.record_removed(kind="ticket", object_ids=[1, 2], at=now - tombstones.RETENTION - timedelta(minutes=1))
    tombstones.record_removed(kind="ticket", object_ids=[3], at=now - tombstones.RETENTION + timedelta(minutes=1))
    tombstones.record_resync(user_ids=[], at=now)  # nobody: nothing written

    assert tasks.prune_tombstones() == 2
    assert list(Tombstone.objects.values_list("object_id", flat=True)) == [3]
    assert any(entry["task"] == "helpdesk.tasks.prune_tombstones" for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_one_write_per_object_and_reader_however_often_named(db):
    tombstones.record_removed(kind="ticket", object_ids=[7, 7, 8], user_ids=[None, None])
    tombstones.record_removed_rows([("ticket", 9, None), ("ticket", 9, None), ("ticket:pool:4", 9, None)])
    rows = sorted(Tombstone.objects.values_list("kind", "object_id", "user_id"))
    assert rows == [("ticket", 7, None), ("ticket", 8, None), ("ticket", 9, None), ("ticket:pool:4", 9, None)]
