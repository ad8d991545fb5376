"""Websocket authentication and origin checks.

Browsers send an Origin header and the session cookie. The origin must be the socket's own (scheme,
host and port: the page ``http://host:8000`` for ``ws://host:8000/ws/``, ``https`` for ``wss``, the
host one of ALLOWED_HOSTS) or one of CSRF_TRUSTED_ORIGINS, as Django's CSRF check has it for forms.
That stops other sites, and other ports and schemes of the same host, from opening a socket with the
user's cookie (Channels' AllowedHostsOriginValidator compares the host only). Mobile clients send no
Origin; they must present their token (``?token=…`` or ``Authorization: Token …``) and their cookies
are ignored, so a missing Origin never lends a cookie session to anybody.

The scope records which credential opened the socket (``scope["session"]`` for a cookie,
``scope["auth_token"]`` for a token), so that signing out or revoking the token closes exactly the
sockets opened with it (helpdesk.core.consumers, helpdesk.signals).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import is_same_domain, split_domain_port, validate_host


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
        return await self.inner(
            {**scope, "user": user, "auth_token": key if user.is_authenticated else None}, receive, send
        )


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
