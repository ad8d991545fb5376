"""The realtime events chat sends on ``/ws/``, their payload schemas and builders, and the socket's
chat frames (``chat.ack``; the frames a client sends are declared in chat/socket.py).

``chat.message``, ``chat.read``, ``chat.recalled`` and ``chat.hidden`` are stored in each
recipient's event log (resumable): a client that reconnects with its last event id receives every
one it missed, in order, once. ``chat.typing`` and ``chat.presence`` are moments, not state: they are
not stored (a reconnecting client reads presence over REST, and an old typing signal means nothing).

A message's payload is the same object the REST API answers with (``message_data``), so a client
renders both the same way. A recalled message keeps its place (id, seq, sender, time) and loses its
content; its stored ``chat.message`` events are rewritten the same way (chat.services.messages).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from helpdesk.core.event_types import INTEGER, STRING, EventType, obj, register

from .models import Message, MessageKind

CHAT_MESSAGE = "chat.message"
CHAT_READ = "chat.read"
CHAT_RECALLED = "chat.recalled"
CHAT_HIDDEN = "chat.hidden"
CHAT_TYPING = "chat.typing"
CHAT_PRESENCE = "chat.presence"
CHAT_ACK = "chat.ack"

API = "/api/v1/chat"


def conversation_group(conversation_id: int) -> str:
    """The socket group of a group conversation: every connected member's sockets are in it (joined
    at connect, and when added: chat.socket, chat.services.groups), so a message reaches them all with
    one push (helpdesk.core.events.push_stored_shared)."""
    return f"chat.conversation.{conversation_id}"


_NULLABLE_INT = {"type": ["integer", "null"]}
FILE_SCHEMA = {
    "oneOf": [
        {"type": "null"},
        obj(
            {
                "name": STRING,
                "content_type": STRING,
                "size": INTEGER,
                "url": STRING,
                "thumbnail_url": {"type": ["string", "null"]},
                "width": _NULLABLE_INT,
                "height": _NULLABLE_INT,
            }
        ),
    ]
}
MESSAGE_SCHEMA = obj(
    {
        "id": INTEGER,
        "conversation": INTEGER,
        "seq": INTEGER,
        "sender": obj({"id": INTEGER, "name": STRING}),
        "kind": {"enum": list(MessageKind.values)},
        "text": STRING,
        "file": FILE_SCHEMA,
        "client_id": STRING,
        "created_at": {"type": "string", "format": "date-time"},
        "recalled": {"type": "boolean"},
        "recalled_at": {"type": ["string", "null"], "format": "date-time"},
    }
)


def message_urls(message: Message) -> tuple[str, str]:
    base = f"{API}/conversations/{message.conversation_id}/messages/{message.pk}"
    return f"{base}/file/", f"{base}/file/?variant=thumbnail"


def message_data(message: Message, *, sender_name: str | None = None) -> dict[str, Any]:
    """A message as every client sees it (REST and events). A recalled one has no content: no text,
    no file, ``recalled`` true (the client shows "<sender> 撤回了一条消息")."""
    recalled = message.recalled_at is not None
    file = None
    if message.file and not recalled:
        file_url, thumbnail_url = message_urls(message)
        file = {
            "name": message.file_name,
            "content_type": message.content_type,
            "size": message.size or 0,
            "url": file_url,
            "thumbnail_url": thumbnail_url if message.thumbnail else None,
            "width": message.width,
            "height": message.height,
        }
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "sender": {"id": message.sender_id, "name": sender_name if sender_name is not None else message.sender.name},
        "kind": message.kind,
        "text": "" if recalled else message.text,
        "file": file,
        "client_id": message.client_id,
        "created_at": timezone.localtime(message.created_at).isoformat(),
        "recalled": recalled,
        "recalled_at": timezone.localtime(message.recalled_at).isoformat() if recalled else None,
    }


def message_payload(message: Message, *, unread: int, sender_name: str | None = None) -> dict[str, Any]:
    return {
        "conversation": message.conversation_id,
        "message": message_data(message, sender_name=sender_name),
        "unread": unread,
    }


_EXAMPLE_MESSAGE = {
    "id": 981,
    "conversation": 12,
    "seq": 57,
    "sender": {"id": 7, "name": "张伟"},
    "kind": "text",
    "text": "李老师，明天的教研活动改到三楼会议室 👍",
    "file": None,
    "client_id": "c0b1f6a2-4a9e-4bd0-9a61-2f4f0c9d8e11",
    "created_at": "2026-12-05T09:30:00+08:00",
    "recalled": False,
    "recalled_at": None,
}

register(
    EventType(
        CHAT_MESSAGE,
        "To every member of the conversation (the sender's other devices too): a message was stored with its "
        "sequence number; `unread` is the recipient's unread count in that conversation now.",
        obj({"conversation": INTEGER, "message": MESSAGE_SCHEMA, "unread": INTEGER}),
        examples=({"conversation": 12, "message": _EXAMPLE_MESSAGE, "unread": 3},),
    ),
    EventType(
        CHAT_READ,
        "To every member: `user` has read the conversation up to `read_seq` (the other side shows 已读; the "
        "reader's other devices clear the badge).",
        obj({"conversation": INTEGER, "user": INTEGER, "read_seq": INTEGER, "unread": INTEGER}),
        examples=({"conversation": 12, "user": 9, "read_seq": 57, "unread": 0},),
    ),
    EventType(
        CHAT_RECALLED,
        "To every member: the sender recalled a message (撤回了一条消息); drop its content, keep its place.",
        obj({"conversation": INTEGER, "message": MESSAGE_SCHEMA}),
    ),
    EventType(
        CHAT_HIDDEN,
        "To the user's other devices: they deleted a message for themselves (删除).",
        obj({"conversation": INTEGER, "message_id": INTEGER}),
    ),
    EventType(
        CHAT_TYPING,
        "To the other members: `user` is typing (shown for a few seconds). Not stored.",
        obj({"conversation": INTEGER, "user": INTEGER}),
        resumable=False,
        resync_via="(none: a moment, not state)",
    ),
    EventType(
        CHAT_PRESENCE,
        "To the people the user has one-to-one conversations with: they came online (first device) or went "
        "offline (last device). Not stored.",
        obj({"user": INTEGER, "online": {"type": "boolean"}}),
        resumable=False,
        resync_via="GET /api/v1/chat/presence/",
    ),
    EventType(
        CHAT_ACK,
        "The answer to a chat.send frame: the message is stored (or was already, for a resent client_id) "
        "with this id and sequence number. `event_id`, when present, is the id of the sender's own "
        "chat.message event for it, which this device is not sent (its own echo): the socket counts it "
        "as seen, and a client may take it as its last_event_id when it is the next one.",
        obj(
            {
                "client_id": STRING,
                "conversation": INTEGER,
                "id": INTEGER,
                "seq": INTEGER,
                "created_at": STRING,
                "event_id": INTEGER,
            },
            required=["client_id", "conversation", "id", "seq", "created_at"],
        ),
        socket_frame=True,
    ),
)
