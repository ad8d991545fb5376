"""Websocket authentication and origin checks.

Browsers send an Origin header and the session cookie; the origin must be one of ALLOWED_HOSTS,
which stops other sites from opening a socket with the user's cookie. Mobile clients send no
Origin; they must present their token (``?token=…`` or ``Authorization: Token …``) and their
cookies are ignored, so a missing Origin never lends a cookie session to anybody.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin-1").split()
            if len(parts) == 2 and parts[0].lower() == "token":
                return parts[1]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("token") or [None])[0]


def _has_origin(scope) -> bool:
    return any(name == b"origin" for name, _value in scope.get("headers", []))


class TokenAuthMiddleware:
    """Authenticates a socket without an Origin header by token alone."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        key = _token_from_scope(scope)
        user = await _user_for_token(key) if key else AnonymousUser()
        return await self.inner({**scope, "user": user}, receive, send)


def WebsocketAuthStack(inner):  # named like Channels' own stacks
    browser = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))
    mobile = TokenAuthMiddleware(inner)

    async def app(scope, receive, send):
        if _has_origin(scope):
            return await browser(scope, receive, send)
        return await mobile(scope, receive, send)

    return app
