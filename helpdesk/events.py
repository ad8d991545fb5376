"""The one way services push realtime events to users.

Events are sent after the surrounding transaction commits, so a client never hears of something
that was rolled back, and everything pushed is already persisted for a client that reconnects and
catches up over REST.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def user_group_name(user_id: int) -> str:
    return f"user.{user_id}"


def send_event(*, user_ids: Iterable[int], event_type: str, payload: dict[str, Any]) -> None:
    """Push ``{"type": event_type, "payload": payload}`` to every connection of each user, on commit."""
    recipients = sorted(set(user_ids))
    message = {
        "type": "platform.event",
        "event": {"type": event_type, "payload": payload, "sent_at": timezone.now().isoformat()},
    }

    def _push() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for user_id in recipients:
            try:
                async_to_sync(layer.group_send)(user_group_name(user_id), message)
            except Exception:  # a realtime hiccup must not break the write that already committed
                logger.exception("could not push %s to user %s", event_type, user_id)

    transaction.on_commit(_push)
