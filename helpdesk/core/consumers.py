"""The single websocket per client session. It only delivers; services decide what to send.

A socket lives no longer than what opened it. It joins the user's group (events, and the end of the
account: deactivation) and the group of its credential: the browser session or the API token. When
that ends, ``helpdesk.core.events.close_sockets`` (or a ``session.ended`` event to the user) reaches the
socket, which tells the client ``session.ended`` and closes with SESSION_ENDED_CLOSE_CODE (4401).

It also joins the audience groups apps register (``helpdesk.core.subscriptions``: a notice's units),
computed once at connect; a frame sent to one of them is delivered when the app's filter accepts it
for this socket's user. Roles or a unit changed later take effect at the next connection; an app
that must follow a change at once (a member added to a chat group) sends ``platform.join`` /
``platform.leave`` to the user (helpdesk.core.events.join_sockets / leave_sockets). Events stored for
many users can come as one frame to such a group (``platform.shared_event``, from
``push_stored_shared``): the socket picks out its user's event and delivers it as its own.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from . import eventlog, socket_frames, subscriptions
from .events import SESSION_ENDED_CLOSE_CODE, session_group_name, token_group_name, user_group_name
from .ws_auth import token_backend

logger = logging.getLogger(__name__)


def credential_groups(scope) -> list[str]:
    """The group of the one credential that authenticated this socket: an app device (its
    ``device_credential``, stable across token refreshes) or the browser session."""
    if scope.get("auth_token"):
        return [token_group_name(scope["auth_token"])]
    session = scope.get("session")
    if session is not None and session.session_key:
        return [session_group_name(session.session_key)]
    return []


@database_sync_to_async
def credential_still_valid(scope, user_id: int) -> bool:
    """Checked once the socket has joined its groups: a sign-out, revocation or deactivation that
    happened between authentication and joining sent its close before this socket could hear it."""
    from django.contrib.auth import get_user_model

    if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
        return False
    if scope.get("auth_token"):
        return token_backend().credential_valid(scope["auth_token"], user_id)
    session = scope.get("session")
    return session is not None and session.exists(session.session_key)


def _last_event_id(scope) -> int | str | None:
    """The ``last_event_id`` query parameter: an int, None when absent, "invalid" otherwise."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("last_event_id")
    if not values:
        return None
    value = values[-1]
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else "invalid"


@database_sync_to_async
def _replay(user_id: int, after: int, up_to: int | None = None) -> eventlog.Replay:
    return eventlog.replay(user_id, after=after, up_to=up_to)


@database_sync_to_async
def _newest_id(user_id: int) -> int:
    return eventlog.last_id(user_id)


@database_sync_to_async
def _memberships(user) -> dict[str, subscriptions.Membership]:
    return subscriptions.memberships(user)


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """Delivers each stored event once, in id order.

    ``last_seq`` is the id of the last event this socket has dealt with (sent, or skipped as an echo
    of its own device's action). A live event at or below it is a duplicate and dropped; one above
    ``last_seq + 1`` means an event is missing (two pushes overtook each other, or Redis dropped one),
    and the gap is filled from the log first. A ping also looks in the log, so a socket whose live
    stream broke (a Redis restart) catches up within one ping interval.
    """

    async def dispatch(self, message: dict) -> None:
        # channels' own dispatch first hops to the thread pool to close the sync thread's stale
        # database connections, for every frame in and every channel-layer message: a third of the
        # socket's CPU per chat message (py-spy, bench_chat). Every database call of this consumer
        # and of the frames apps register goes through database_sync_to_async, which closes stale
        # connections in its own thread before and after the call, so the hop adds nothing here.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.ended = False
        self.joined: list[str] = []
        self.last_seq = 0
        user = self.scope.get("user")
        requested = _last_event_id(self.scope)
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept, then close: a close before accept is an HTTP 403 the client cannot read.
            await self.accept()
            await self.close(code=SESSION_ENDED_CLOSE_CODE)
            return
        self.user_id = user.pk
        credential = credential_groups(self.scope)
        self.origin = credential[0] if credential else ""
        for group in (user_group_name(user.pk), *credential):
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        # Audience groups the apps add (helpdesk.core.subscriptions): a notice's units, say.
        self.memberships = await _memberships(user)
        self.group_frames_seen: list[str] = []
        for group in subscriptions.all_groups(self.memberships):
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        if not await credential_still_valid(self.scope, user.pk):
            await self.accept()
            await self.close(code=SESSION_ENDED_CLOSE_CODE)
            return
        await self.accept()
        self.socket = socket_frames.Socket(user_id=user.pk, channel_name=self.channel_name, origin=self.origin)
        await socket_frames.run_hooks("connect", self.socket)
        # Joined before reading the log: an event committed from here on is either in the replay
        # or arrives live (and is dropped as a duplicate if it was in both).
        if requested is None or requested == "invalid":
            self.last_seq = await _newest_id(user.pk)
            await self._hello(resumed=False)
            if requested == "invalid":
                await self.send_json(
                    {"type": "error", "payload": {"detail": "last_event_id must be a non-negative integer."}}
                )
            return
        replay = await _replay(user.pk, requested)
        if replay.resync:
            self.last_seq = replay.last_id
            await self._hello(resumed=False)
            await self.send_json(
                {"type": "resync", "payload": {"reason": replay.resync, "last_event_id": self.last_seq}}
            )
            return
        self.last_seq = requested
        await self._hello(resumed=True)
        await self._send_stored(replay.events)

    async def _hello(self, *, resumed: bool) -> None:
        await self.send_json(
            {"type": "hello", "payload": {"user_id": self.user_id, "last_event_id": self.last_seq, "resumed": resumed}}
        )

    async def _send_stored(self, events: list[eventlog.Event]) -> None:
        for event in events:
            if event.seq <= self.last_seq:
                continue
            self.last_seq = event.seq
            if not (self.origin and event.origin == self.origin):
                await self.send_json(event.frame())

    async def _catch_up(self, up_to: int | None = None) -> None:
        """Send what the log holds above ``last_seq`` (up to ``up_to``)."""
        replay = await _replay(self.user_id, self.last_seq, up_to)
        if replay.resync:
            self.last_seq = replay.last_id
            await self.send_json(
                {"type": "resync", "payload": {"reason": replay.resync, "last_event_id": self.last_seq}}
            )
            return
        await self._send_stored(replay.events)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "socket", None) is not None:
            await socket_frames.run_hooks("disconnect", self.socket)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # A bad frame is answered with an error frame; the socket stays open (the base class would
        # raise on invalid JSON and drop the connection).
        if self.ended:
            return
        if text_data is None:
            await self._error("Frames are JSON text, not binary.", "bad_frame")
        elif len(text_data) > socket_frames.MAX_FRAME_CHARS:
            await self._error(
                f"The frame is too large: at most {socket_frames.MAX_FRAME_CHARS} characters.", "frame_too_large"
            )
        else:
            try:
                content = json.loads(text_data)
            except ValueError:
                await self._error("The frame is not valid JSON.", "invalid_json")
                return
            await self.receive_json(content)

    async def _error(self, detail: str, code: str, **extra) -> None:
        await self.send_json({"type": "error", "payload": {"detail": detail, "code": code, **extra}})

    async def receive_json(self, content, **kwargs) -> None:
        if self.ended:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await socket_frames.run_hooks("ping", self.socket)
            await self._catch_up()
            await self.send_json({"type": "pong", "payload": {"last_event_id": self.last_seq}})
            return
        # Other writes go through the REST API, apart from the frames apps registered (chat.send).
        client_frame = socket_frames.get(kind) if isinstance(kind, str) else None
        if client_frame is None:
            await self._error(
                "Unknown frame type: the socket takes ping and the frames listed in the AsyncAPI description; "
                "other writes go through the REST API.",
                "unknown_type",
            )
            return
        problems = socket_frames.schema_errors(client_frame, content)
        extra = {"client_id": content["client_id"]} if isinstance(content.get("client_id"), str) else {}
        if problems:
            await self._error(problems, "invalid", **extra)
            return
        try:
            answer = await client_frame.handler(self.socket, content)
        except socket_frames.FrameError as exc:
            answer = exc.frame()
        except Exception:
            logger.exception("socket frame %s failed", kind)
            answer = {
                "type": "error",
                "payload": {"detail": "The server could not handle the frame.", "code": "error", **extra},
            }
        if answer is not None and not self.ended:
            self._count_own_event(answer)
            await self.send_json(answer)

    def _count_own_event(self, answer: dict) -> None:
        """A frame's answer may name the event the action stored for this user (``payload.event_id``):
        this socket's own echo, which it is never pushed when it is its user's only device. Counted as
        seen when it is the next id, so the next ping does not read it back from the log (an active
        chat user's every message, every 25 s); after a gap the log fills in as before."""
        payload = answer.get("payload")
        own = payload.get("event_id") if isinstance(payload, dict) else None
        if isinstance(own, int) and own == self.last_seq + 1:
            self.last_seq = own

    async def platform_event(self, message: dict) -> None:
        if self.ended:
            return
        frame = message["event"]
        seq = frame.get("id")
        if seq is None:  # an unstored frame (none today): deliver as it comes
            await self.send_json(frame)
            return
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            await self._catch_up(up_to=seq - 1)
            if seq <= self.last_seq:
                return
        self.last_seq = seq
        if not (self.origin and message.get("origin") == self.origin):
            await self.send_json(frame)

    async def platform_shared_event(self, message: dict) -> None:
        """Events stored for many users, pushed as one frame to a group they joined
        (helpdesk.core.events.push_stored_shared): this socket's user's id and personal payload keys
        are picked out, and it goes on as that user's own stored event. A user not listed (no longer
        a recipient: removed from a chat group) is sent nothing."""
        if self.ended:
            return
        mine = message.get("recipients", {}).get(str(getattr(self, "user_id", "")))
        if mine is None:
            return
        seq, personal = mine
        shared = message["event"]
        frame = {"id": seq, "type": shared["type"], "payload": {**shared["payload"], **personal}}
        frame["sent_at"] = shared["sent_at"]
        await self.platform_event({"event": frame, "origin": message.get("origin")})

    async def platform_join(self, message: dict) -> None:
        """From helpdesk.core.events.join_sockets: join more groups, then read the log for events
        pushed there before this socket joined."""
        if self.ended:
            return
        for group in message.get("groups", []):
            if group not in self.joined:
                await self.channel_layer.group_add(group, self.channel_name)
                self.joined.append(group)
        await self._catch_up()

    async def platform_leave(self, message: dict) -> None:
        """From helpdesk.core.events.leave_sockets."""
        for group in message.get("groups", []):
            if group in self.joined:
                self.joined.remove(group)
                await self.channel_layer.group_discard(group, self.channel_name)

    async def platform_group_event(self, message: dict) -> None:
        """A frame sent to an audience group (helpdesk.core.events.send_group_event): delivered when the
        subscriber that added the group accepts it for this user; never stored, so no id. A frame that
        reaches the socket through two of its groups (the same ``key``) is sent once."""
        if self.ended:
            return
        frame = message["event"]
        key = message.get("key") or ""
        if key:
            if key in self.group_frames_seen:
                return
            self.group_frames_seen = [*self.group_frames_seen[-63:], key]
        if not subscriptions.accepted(message.get("subscriber", ""), self.memberships, frame.get("payload") or {}):
            return
        if not (self.origin and message.get("origin") == self.origin):
            await self.send_json(frame)

    async def session_close(self, message: dict) -> None:
        """From helpdesk.core.events.close_sockets: this socket's session, token or account has ended."""
        if self.ended:
            return
        await self.send_json(
            {
                "type": "session.ended",
                "payload": {"reason": message.get("reason", "")},
                "sent_at": timezone.localtime().isoformat(),
            }
        )
        await self._end()

    async def _end(self) -> None:
        # Nothing more reaches the client once it has been told; the close follows the frame.
        self.ended = True
        await self.close(code=SESSION_ENDED_CLOSE_CODE)
