"""Chat over the platform's one socket: the frames a client sends (``chat.send``, ``chat.typing``,
``chat.read``) and presence, registered with ``helpdesk.core.socket_frames`` at start-up
(chat.apps). Thin: each frame calls the same service as its REST endpoint, so both paths have the
same guarantees (membership, blocks, limits, client ids, events after commit)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from helpdesk.core import subscriptions
from helpdesk.core.event_types import INTEGER, obj
from helpdesk.core.events import reset_event_origin, send_event, set_event_origin
from helpdesk.core.socket_frames import ClientFrame, FrameError, Socket, register_frame, register_hook

from . import events, presence, selectors, services
from .services.messages import CLIENT_ID_MAX, TEXT_MAX

_ID = {"type": "integer", "minimum": 1}

# Frames run in the event loop's thread pool, not the one thread Channels keeps for thread-sensitive
# work: every message of every socket of the process would otherwise wait in one queue (the
# connection pool hands each thread its own connection).
in_pool = partial(database_sync_to_async, thread_sensitive=False)


def _user(user_id: int):
    from accounts.models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise Http404
    return user


# chat.send's user, kept per socket between frames (every frame read it again: a query per message).
# Safe to keep: a deactivated account's sockets are closed at once (helpdesk.signals, close_sockets),
# and the send itself checks the stored account is still active (chat.sql.SEND_TEXT_SQL on
# PostgreSQL, the membership query of chat.services.messages._store elsewhere). A renamed user's
# messages carry the new name within USER_KEPT_SECONDS.
USER_KEPT_SECONDS = 60.0
_socket_users: dict[str, tuple[Any, float]] = {}


def _sender(socket: Socket):
    kept = _socket_users.get(socket.channel_name)
    now = time.monotonic()
    if kept is not None and now - kept[1] < USER_KEPT_SECONDS:
        return kept[0]
    user = _user(socket.user_id)
    _socket_users[socket.channel_name] = (user, now)
    return user


def _as_frame_error(exc: Exception, client_id: str | None) -> FrameError:
    extra = {"client_id": client_id} if client_id is not None else {}
    if isinstance(exc, Http404):
        return FrameError(_("No such conversation, or you are not in it."), code="not_found", **extra)
    if isinstance(exc, services.ChatRefused):
        return FrameError(exc.message, code=exc.code, **extra)
    if isinstance(exc, ValidationError):
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        text = "; ".join(message for field in messages.values() for message in field)
        return FrameError(text, code="invalid", **extra)
    raise exc


def _as(socket: Socket, work, client_id: str | None = None, *, user_of=None):
    """Run ``work(user)`` as the socket's user, with the socket's credential as the events' origin
    (the sending device is answered by the ack, not echoed the event)."""
    token = set_event_origin(socket.origin)
    try:
        return work((user_of or (lambda s: _user(s.user_id)))(socket))
    except (Http404, services.ChatRefused, ValidationError) as exc:
        raise _as_frame_error(exc, client_id) from None
    finally:
        reset_event_origin(token)


@in_pool
def _send(socket: Socket, frame: dict[str, Any]) -> dict[str, Any]:
    sent = _as(
        socket,
        lambda user: services.message_send(
            user=user, conversation_id=frame["conversation"], text=frame["text"], client_id=frame["client_id"]
        ),
        frame["client_id"],
        user_of=_sender,
    )
    message = sent.message
    payload = {
        "client_id": frame["client_id"],
        "conversation": message.conversation_id,
        "id": message.pk,
        "seq": message.seq,
        "created_at": events.message_data(message, sender_name="")["created_at"],
    }
    if sent.event_id is not None:
        payload["event_id"] = sent.event_id
    return {"type": events.CHAT_ACK, "payload": payload}


async def on_send(socket: Socket, frame: dict[str, Any]) -> dict[str, Any]:
    return await _send(socket, frame)


@in_pool
def _typing(socket: Socket, frame: dict[str, Any]) -> None:
    _as(socket, lambda user: services.typing(user=user, conversation_id=frame["conversation"]))


async def on_typing(socket: Socket, frame: dict[str, Any]) -> None:
    await _typing(socket, frame)


@in_pool
def _read(socket: Socket, frame: dict[str, Any]) -> None:
    _as(socket, lambda user: services.read_up_to(user=user, conversation_id=frame["conversation"], seq=frame["seq"]))


async def on_read(socket: Socket, frame: dict[str, Any]) -> None:
    await _read(socket, frame)


# --- Presence ---------------------------------------------------------------------------------------
@in_pool
def _announce(user_id: int, online: bool) -> None:
    partners = selectors.partners_of(user_id)
    if partners:
        send_event(user_ids=partners, event_type=events.CHAT_PRESENCE, payload={"user": user_id, "online": online})


async def on_connect(socket: Socket) -> None:
    if await presence.arrive(socket.user_id, socket.channel_name):
        await _announce(socket.user_id, True)


async def on_ping(socket: Socket) -> None:
    # Refreshes the socket's expiry; a socket that had lapsed (missed pings) comes back online.
    if await presence.arrive(socket.user_id, socket.channel_name):
        await _announce(socket.user_id, True)


async def on_disconnect(socket: Socket) -> None:
    _socket_users.pop(socket.channel_name, None)
    if await presence.leave(socket.user_id, socket.channel_name):
        await _announce(socket.user_id, False)


# --- The sockets of group members join their groups' conversation groups -----------------------------
def _group_conversations(user) -> subscriptions.Membership:
    """At connect (in a database thread): the socket groups of the user's group conversations."""
    from .models import ConversationKind, Membership

    ids = Membership.objects.filter(user=user, conversation__kind=ConversationKind.GROUP).values_list(
        "conversation_id", flat=True
    )
    return subscriptions.Membership(groups=tuple(events.conversation_group(pk) for pk in ids))


def register() -> None:
    subscriptions.register("chat.groups", groups=_group_conversations)
    register_frame(
        ClientFrame(
            "chat.send",
            "Send a text message (emoji welcome) to a conversation you are in. Answered with chat.ack (the stored "
            "id and sequence number; the same ack again for a resent client_id, never a second message) or an "
            "error frame carrying the client_id (codes: invalid, not_found, blocked, you_blocked, rate_limited). "
            "Images and files go through REST.",
            obj(
                {
                    "type": {"const": "chat.send"},
                    "client_id": {"type": "string", "minLength": 1, "maxLength": CLIENT_ID_MAX},
                    "conversation": _ID,
                    "text": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX},
                }
            ),
            on_send,
        )
    )
    register_frame(
        ClientFrame(
            "chat.typing",
            "Tell the other members you are typing (send at most every 3 seconds while typing). No answer.",
            obj({"type": {"const": "chat.typing"}, "conversation": _ID}),
            on_typing,
        )
    )
    register_frame(
        ClientFrame(
            "chat.read",
            "You have read the conversation up to seq (the other side sees 已读). No answer; your other devices "
            "and the other members get chat.read.",
            obj({"type": {"const": "chat.read"}, "conversation": _ID, "seq": INTEGER}),
            on_read,
        )
    )
    register_hook("connect", on_connect)
    register_hook("ping", on_ping)
    register_hook("disconnect", on_disconnect)
