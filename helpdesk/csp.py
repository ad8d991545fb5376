"""The Content-Security-Policy header (django-csp), with the socket's own address in connect-src.

The policy itself is CONTENT_SECURITY_POLICY in the settings. ``'self'`` in connect-src covers
``ws://``/``wss://`` to the page's own host only in browsers that implement CSP Level 3's rule for it;
older ones (Safari before 15.4) would refuse the portal's websocket. So each response names it: the
scheme that matches the page's (``wss`` behind HTTPS, as the browser will connect) and the host the
page was served from, which ALLOWED_HOSTS has already vetted.
"""

from __future__ import annotations

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, PolicyParts
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.core.exceptions import DisallowedHost

# What a view or decorator can set on a response to change its policy (django-csp's attributes).
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)
# Policies kept per (scheme, host, excluded paths): a handful in practice; bounded all the same.
_CACHE_LIMIT = 64


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:  # answered 400 already; 'self' is all it needs
            return parts
        socket_origin = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), socket_origin]
        parts.update = update
        return parts

    def process_response(self, request, response):
        """The same headers as django-csp's, from a cache when nothing makes them differ from the last
        response's: no nonce was used (every API answer, every page without inline script), no
        per-response policy, not DEBUG. Building the policy cost every request ~0.1 ms."""
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_RESPONSE)
            or HEADER in response
            or HEADER_REPORT_ONLY in response
        ):
            return super().process_response(request, response)
        try:
            host = request.get_host()
        except DisallowedHost:
            return super().process_response(request, response)
        key = (request.is_secure(), host, *(request.path_info.startswith(p) for p in _excluded_prefixes()))
        cache = self.__dict__.setdefault("_policies", {})
        if key not in cache:
            super().process_response(request, response)
            if len(cache) < _CACHE_LIMIT:
                cache[key] = (response.get(HEADER), response.get(HEADER_REPORT_ONLY))
            return response
        policy, report_only = cache[key]
        if policy:
            response[HEADER] = policy
        if report_only:
            response[HEADER_REPORT_ONLY] = report_only
        # As django-csp does: a nonce asked for after the header was written is an error, not a
        # silently missing nonce.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def _excluded_prefixes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    def prefixes(name: str) -> tuple[str, ...]:
        return tuple((getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ())

    return prefixes("CONTENT_SECURITY_POLICY"), prefixes("CONTENT_SECURITY_POLICY_REPORT_ONLY")
