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

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    # The credential (session or device token digest) whose request caused the event: that socket
    # does not receive an echo of its own action; the user's other devices do.
    origin = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "stored event"
        constraints = [models.UniqueConstraint(fields=["user", "seq"], name="core_storedevent_user_seq")]
        indexes = [models.Index(fields=["created_at"], name="core_storedevent_created")]

    def __str__(self) -> str:
        return f"{self.user_id}#{self.seq} {self.type}"
