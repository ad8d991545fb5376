"""The one way services push realtime events to users.

Events are sent after the surrounding transaction commits, so a client never hears of something
that was rolled back, and everything pushed is already persisted for a client that reconnects and
catches up over REST.
"""

from __future__ import annotations

import asyncio
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
    send_events([(user_ids, event_type, payload)])


def send_events(events: Iterable[tuple[Iterable[int], str, dict[str, Any]]]) -> None:
    """Push many events after commit in one hand-over to the channel layer: a sweep that changes a
    thousand tickets pays one event-loop round trip, not one per recipient."""
    sent_at = timezone.now().isoformat()
    deliveries = [
        (
            user_group_name(user_id),
            {"type": "platform.event", "event": {"type": event_type, "payload": payload, "sent_at": sent_at}},
        )
        for user_ids, event_type, payload in events
        for user_id in sorted(set(user_ids))
    ]
    if not deliveries:
        return

    def _push() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(_deliver)(layer, deliveries)
        except Exception:  # a realtime hiccup must not break the write that already committed
            logger.exception("could not push %d realtime events", len(deliveries))

    transaction.on_commit(_push)


async def _deliver(layer, deliveries: list[tuple[str, dict[str, Any]]]) -> None:
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in deliveries), return_exceptions=True
    )
    for (group, message), result in zip(deliveries, results, strict=True):
        if isinstance(result, Exception):
            logger.error("could not push %s to %s: %r", message["event"]["type"], group, result)
