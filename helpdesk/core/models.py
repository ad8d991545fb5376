"""The shared layer's tables.

``EventCursor`` and ``StoredEvent`` are the per-user event log behind resumable realtime
(``helpdesk.core.events``): every event a user receives is stored with the user's next sequence
number before it is pushed, so a client that reconnects with the last id it saw gets every event it
missed, in order, exactly once. Sequence numbers are contiguous per user (the cursor row and the
events are written in one transaction), so a gap in what is stored means events were pruned and the
client must resync.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventCursor(models.Model):
    """The last sequence number handed out to a user's events."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+")
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "event cursor"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.last_seq}"


class StoredEvent(models.Model):
    """One event as one user received it. ``seq`` is the id the client resumes from."""

    # No foreign-key constraint in the database: its check was a locking lookup of the user's row for
    # every event stored, on every action's path. Accounts are deactivated, not deleted; a deleted
    # user's events still go with it (Django's cascade), and the log is pruned within days anyway.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    seq = models.BigIntegerField()
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    # The credential (session or device token digest) whose request caused the event: that socket
    # does not receive an echo of its own action; the user's other devices do.
    origin = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "stored event"
        # No index on created_at: ids grow with time, so pruning walks the primary key from the oldest
        # (helpdesk.core.eventlog.prune) and every event stored saves an index insert.
        constraints = [models.UniqueConstraint(fields=["user", "seq"], name="core_storedevent_user_seq")]

    def __str__(self) -> str:
        return f"{self.user_id}#{self.seq} {self.type}"


class IdempotencyRecord(models.Model):
    """The first answer to an API write sent with an ``Idempotency-Key`` header (helpdesk.core.api
    idempotency): the same key from the same user within 24 hours gets this answer again instead of a
    second execution. ``status_code`` is null while the first request is still running."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # Method, path and a digest of the body: a reused key with a different request is refused (422).
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    # The answer's headers that belong to it rather than to the transport (Location of a create).
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "idempotency record"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="core_idempotency_user_key")]
        indexes = [models.Index(fields=["created_at"], name="core_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"


class Tombstone(models.Model):
    """An object that left cached lists (helpdesk.core.tombstones writes them, helpdesk.core.api.delta
    reads them): delta-sync endpoints report tombstones newer than the client's ``updated_after`` in
    their ``removed`` list, minus what the list still holds.

    ``kind`` names the collection: ``"ticket"`` for every ticket list, or a narrower key such as
    ``"ticket:pool:12"`` (the pool list of unit 12) for an object that left only that list.
    ``user`` null: for everyone who reads that collection (a deleted ticket carries no content, only
    its id); otherwise for that user only (an agent whose ticket was handed to another).
    ``object_id`` null: the whole collection changed for these readers (their scope changed: a role
    was granted or removed, a unit moved), so a delta older than ``removed_at`` cannot be answered
    and the client must fetch the list afresh (kind ``"*"``: every collection).
    Kept for ``tombstones.RETENTION`` (30 days); older deltas get the same answer.
    """

    kind = models.CharField(max_length=32)
    object_id = models.BigIntegerField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "tombstone"
        indexes = [models.Index(fields=["kind", "removed_at"], name="core_tombstone_kind_removed")]

    def __str__(self) -> str:
        what = "everything" if self.object_id is None else self.object_id
        return f"{self.kind} {what} removed {self.removed_at:%Y-%m-%d %H:%M}"


class Watermark(models.Model):
    """How far a periodic job has got through an ever-growing table (the last id it handled), kept
    under a row lock by the job so that overlapping runs neither skip nor repeat."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "watermark"

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"
