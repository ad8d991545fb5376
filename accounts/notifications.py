"""The kinds of notification a user can receive, and the notification centre's realtime events.

Each app registers its kinds at import (tickets/notifications.py) with a label users see on the
preferences page and the channels it reaches by default. The portal channel (the bell) is always on;
e-mail and push follow the user's choice per kind (accounts.models.NotificationPreference), else the
kind's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise

from helpdesk.core.event_types import INTEGER, STRING, EventType, obj, register


@dataclass(frozen=True)
class NotificationKind:
    name: str
    label: str | Promise
    email: bool = False
    push: bool = True


_KINDS: dict[str, NotificationKind] = {}


def register_kinds(*kinds: NotificationKind) -> None:
    for kind in kinds:
        _KINDS[kind.name] = kind


def kind(name: str) -> NotificationKind:
    return _KINDS[name]


def all_kinds() -> list[NotificationKind]:
    return list(_KINDS.values())


NOTIFICATION_CREATED = "notification.created"
NOTIFICATION_READ = "notification.read"

_NOTIFICATION = {
    "id": INTEGER,
    "kind": STRING,
    "title": STRING,
    "body": STRING,
    "url": STRING,
    "subject_type": STRING,
    "subject_id": {"type": ["integer", "null"]},
    "created_at": {"type": "string", "format": "date-time"},
}

register(
    EventType(
        NOTIFICATION_CREATED,
        "To the user: a new entry in the notification centre (the bell's count rises by one).",
        obj(_NOTIFICATION),
        examples=(
            {
                "id": 9,
                "kind": "ticket.info_requested",
                "title": "TS20261205001 需要您补充信息",
                "body": "请提供投影仪型号",
                "url": "/tickets/42/",
                "subject_type": "ticket",
                "subject_id": 42,
                "created_at": "2026-12-05T09:30:00+08:00",
            },
        ),
    ),
    EventType(
        NOTIFICATION_READ,
        "To the user's other devices: notifications were marked read (ids, or all); the unread count now.",
        obj({"ids": {"type": "array", "items": INTEGER}, "all": {"type": "boolean"}, "unread_count": INTEGER}),
        examples=({"ids": [9], "all": False, "unread_count": 3},),
    ),
)
