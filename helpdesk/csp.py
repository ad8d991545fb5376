"""The Content-Security-Policy header (django-csp), with the socket's own address in connect-src.

The policy itself is CONTENT_SECURITY_POLICY in the settings. ``'self'`` in connect-src covers
``ws://``/``wss://`` to the page's own host only in browsers that implement CSP Level 3's rule for it;
older ones (Safari before 15.4) would refuse the portal's websocket. So each response names it: the
scheme that matches the page's (``wss`` behind HTTPS, as the browser will connect) and the host the
page was served from, which ALLOWED_HOSTS has already vetted.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.core.exceptions import DisallowedHost


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
