"""Websocket authentication and origin checks.

Browsers send an Origin header and the session cookie. The origin must be the socket's own (scheme,
host and port: the page ``http://host:8000`` for ``ws://host:8000/ws/``, ``https`` for ``wss``, the
host one of ALLOWED_HOSTS) or one of CSRF_TRUSTED_ORIGINS, as Django's CSRF check has it for forms.
That stops other sites, and other ports and schemes of the same host, from opening a socket with the
user's cookie (Channels' AllowedHostsOriginValidator compares the host only). Mobile clients send no
Origin; they must present their token (``?token=…`` or ``Authorization: Token …``) and their cookies
are ignored, so a missing Origin never lends a cookie session to anybody.

The scope records which credential opened the socket (``scope["session"]`` for a cookie,
``scope["auth_token"]`` for a token: the device's credential, see ``device_credential``), so that
signing out or revoking the device closes exactly the sockets opened with it (helpdesk.core.consumers,
accounts.services.devices).

A socket that presents no valid credential is accepted and at once closed with code 4401
(SESSION_ENDED_CLOSE_CODE): closing before accepting would reach the client as a bare HTTP 403 on
daphne, with no code it could read. An expired access token is first told ``session.ended`` with
the reason ``token_expired`` (refresh the tokens, then reconnect). A refused Origin stays an HTTP 403: that is
another site, not a signed-out client.

The core imports no app, so the token store is accounts' business: accounts registers a
``TokenBackend`` here when it loads (``register_token_backend``, in its AppConfig.ready).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http.request import is_same_domain, split_domain_port, validate_host
from django.utils import timezone

from .events import SESSION_ENDED_CLOSE_CODE


def device_credential(device_id: int) -> str:
    """What an app device's sockets are grouped by (``token_group_name`` of it) and what its requests
    give as their event origin. Stable across token refreshes: a refresh keeps the device's sockets,
    revoking the device closes them."""
    return f"device:{device_id}"


@dataclass(frozen=True)
class TokenCheck:
    """A token's verdict: the active user and the device credential, or the reason it is refused."""

    user: Any = None
    credential: str = ""
    refused: str = ""  # "" when accepted; "token_expired" or "unauthenticated"


class TokenBackend(Protocol):
    def check_token(self, key: str) -> TokenCheck: ...

    def credential_valid(self, credential: str, user_id: int) -> bool: ...


_token_backend: TokenBackend | None = None


def register_token_backend(backend: TokenBackend) -> None:
    global _token_backend
    _token_backend = backend


def token_backend() -> TokenBackend:
    if _token_backend is None:
        raise ImproperlyConfigured("No token backend registered (accounts registers one when it loads).")
    return _token_backend


@database_sync_to_async
def _check_token(key: str) -> TokenCheck:
    return token_backend().check_token(key)


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin-1").split()
            if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
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
        check = await _check_token(key) if key else TokenCheck(refused="unauthenticated")
        if check.refused == "token_expired":
            # Told apart from a bad token: the client refreshes its tokens and reconnects.
            return await refuse(send, receive, check.refused)
        if check.user is None:
            # The consumer accepts and closes with 4401 (helpdesk.core.consumers).
            return await self.inner({**scope, "user": AnonymousUser(), "auth_token": None}, receive, send)
        return await self.inner({**scope, "user": check.user, "auth_token": check.credential}, receive, send)


async def refuse(send, receive, reason: str) -> None:
    """Accept, tell ``session.ended`` with ``reason``, then close with 4401: the code and the reason
    reach the client (see the module's doc; daphne does not pass a close frame's reason text on)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    frame = {"type": "session.ended", "payload": {"reason": reason}, "sent_at": timezone.localtime().isoformat()}
    await send({"type": "websocket.send", "text": json.dumps(frame)})
    await send({"type": "websocket.close", "code": SESSION_ENDED_CLOSE_CODE})


def _headers(scope) -> dict[bytes, str]:
    return {name: value.decode("latin-1") for name, value in scope.get("headers", [])}


def _is_secure(scope, headers: dict[bytes, str]) -> bool:
    """request.is_secure() for a socket: the trusted proxy's header (SECURE_PROXY_SSL_HEADER) when it is
    configured and present, else the scheme the server saw. daphne puts no scheme in a websocket scope
    (ASGI's default is ws); behind a TLS-terminating proxy the header says wss."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        if name in headers:
            return headers[name].split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") == "wss"


def origin_allowed(scope) -> bool:
    headers = _headers(scope)
    origin = headers.get(b"origin", "")
    host = headers.get(b"host", "")
    domain, _port = split_domain_port(host)
    own_origin = f"{'https' if _is_secure(scope, headers) else 'http'}://{host}"
    if domain and validate_host(domain, settings.ALLOWED_HOSTS) and origin == own_origin:
        return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in trusted:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    # Django's wildcard form: https://*.example.edu.cn trusts every subdomain over https.
    return any(
        parsed.scheme == urlsplit(pattern).scheme
        and is_same_domain(parsed.netloc, urlsplit(pattern).netloc.replace("*", "", 1))
        for pattern in trusted
        if "*" in pattern
    )


class SameOriginValidator:
    """Refuses a browser's socket from any origin but the platform's own (see the module's doc)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if origin_allowed(scope):
            return await self.inner(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def WebsocketAuthStack(inner):  # named like Channels' own stacks
    browser = SameOriginValidator(AuthMiddlewareStack(inner))
    mobile = TokenAuthMiddleware(inner)

    async def app(scope, receive, send):
        if _has_origin(scope):
            return await browser(scope, receive, send)
        return await mobile(scope, receive, send)

    return app
