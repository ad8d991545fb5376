"""The single websocket per client session. It only delivers; services decide what to send.

A socket lives no longer than what opened it. It joins the user's group (events, and the end of the
account: deactivation) and the group of its credential: the browser session or the API token. When
that ends, ``helpdesk.core.events.close_sockets`` (or a ``session.ended`` event to the user) reaches the
socket, which tells the client ``session.ended`` and closes with SESSION_ENDED_CLOSE_CODE (4401).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from .events import SESSION_ENDED_CLOSE_CODE, session_group_name, token_group_name, user_group_name
from .ws_auth import token_backend


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


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.ended = False
        self.joined: list[str] = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept, then close: a close before accept is an HTTP 403 the client cannot read.
            await self.accept()
            await self.close(code=SESSION_ENDED_CLOSE_CODE)
            return
        for group in (user_group_name(user.pk), *credential_groups(self.scope)):
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        if not await credential_still_valid(self.scope, user.pk):
            await self.accept()
            await self.close(code=SESSION_ENDED_CLOSE_CODE)
            return
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"user_id": user.pk}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if self.ended:
            return
        # Clients write through the REST API; the socket accepts only keep-alive pings.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "payload": {}})
        else:
            await self.send_json({"type": "error", "payload": {"detail": "Send writes through the REST API."}})

    async def platform_event(self, message: dict) -> None:
        if self.ended:
            return
        event = message["event"]
        await self.send_json(event)
        # Sent to the user's group, it means every session of the account has ended (deactivation).
        if event.get("type") == "session.ended":
            await self._end()

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
