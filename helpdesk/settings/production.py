"""Production settings: everything base has, with infrastructure required and HTTPS enforced.

Select with ``DJANGO_SETTINGS_MODULE=helpdesk.settings.production``. Refuses to start when a
required variable is missing instead of silently falling back to the embedded defaults.
"""

import os

REQUIRED_VARIABLES = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")


def _refuse(message: str) -> None:
    # SystemExit rather than ImproperlyConfigured: the operator of manage.py, daphne or celery sees
    # one line naming the variable instead of a traceback through Django's settings loader.
    raise SystemExit(f"Refusing to start with production settings: {message} See README.md, 'Production'.")


_missing = [name for name in REQUIRED_VARIABLES if not os.environ.get(name, "").strip()]
if _missing:
    _refuse("these environment variables are not set: " + ", ".join(_missing) + ".")

from .base import *  # noqa: E402,F403
from .base import env_bool  # noqa: E402

if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):  # noqa: F405
    _refuse("DJANGO_SECRET_KEY must be at least 50 characters of random text.")

DEBUG = False
WHITENOISE_AUTOREFRESH = False
WHITENOISE_USE_FINDERS = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Load balancers probe /healthz over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Only for a plain-HTTP demo on a private network (docker-compose's default); check --deploy warns.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_REFERRER_POLICY = "same-origin"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# The client's address for django-axes (lockout per account and client, README "Login lockout"), read by
# django-ipware. docker-compose puts nginx in front of gunicorn: REMOTE_ADDR is nginx, and each of the
# DJANGO_PROXY_COUNT proxies appends the address it received from to X-Forwarded-For, so the client is
# the DJANGO_PROXY_COUNT-th entry from the right. Entries further left are the client's own to write
# and are never believed: forging them neither moves an attacker to a fresh counter nor locks anyone
# else out. ipware counts only the proxies listed in the header (the last one is REMOTE_ADDR), hence
# count - 1, and non-strict, so that a header the client started (its own proxy's) still yields the
# right entry instead of falling back to nginx's address for everyone. A chain shorter than expected
# (a request that did not come through the proxies) falls back to REMOTE_ADDR.
PROXY_COUNT = os.environ.get("DJANGO_PROXY_COUNT", "1").strip()
if not PROXY_COUNT.isdigit():
    _refuse("DJANGO_PROXY_COUNT must be the number of proxies in front (0 or more).")
PROXY_COUNT = int(PROXY_COUNT)
if PROXY_COUNT > 0:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    AXES_IPWARE_PROXY_COUNT = PROXY_COUNT - 1
    AXES_IPWARE_PROXY_ORDER = "left-most"
    IPWARE_STRICT = False
else:  # nothing in front: the header is whatever the client sent
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
