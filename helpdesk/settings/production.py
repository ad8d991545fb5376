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
# docker-compose puts nginx in front of gunicorn and daphne: the client's address is the last one
# nginx adds to X-Forwarded-For, and axes locks out by account and that address, not nginx's.
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("DJANGO_PROXY_COUNT", "1"))
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
