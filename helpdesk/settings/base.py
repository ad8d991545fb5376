"""Settings for every environment.

With no environment variables the platform runs on embedded defaults: SQLite, an in-process
channel layer, a file-based cache and a filesystem Celery broker that a separate worker process
can still read. ``DATABASE_URL`` and ``REDIS_URL`` switch it to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("HELPDESK_VAR_DIR", BASE_DIR / "var"))
# Beat's schedule file lives here whatever the database and broker are.
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-never-use-in-production-3f9a7c1e5b2d8f4a6c0e")
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    # Django admin on the platform's site (its name, no internal tables: helpdesk.admin).
    "helpdesk.apps.PlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "treebeard",
    "django_htmx",
    "helpdesk.apps.AxesConfig",  # django-axes under a Chinese name
    # 验证码 on the portal's password change (manual 2.2.2); images are served from /captcha/.
    "captcha",
    "helpdesk",
    "helpdesk.core",
    "orgtree",
    "accounts",
    "tickets",
    "knowledge",
    "notices",
    "chat",
]

MIDDLEWARE = [
    # First, so that it sees every answer: under /api/ an error is JSON even where Django answers HTML
    # (DEBUG's pages, a bad Host refused by the middlewares below, a bare 405).
    "helpdesk.core.api.errors.ApiJsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files need no policy; every page and API answer gets one.
    "helpdesk.csp.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Events a request causes carry its session (or, set by the API's token authentication, its
    # device) as their origin, for no echo to the socket of the device that acted.
    "accounts.middleware.EventOriginMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication: an account with an administrator-issued password sees only the password page.
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    # NUL bytes and undocumented or ill-typed query parameters are a 400 before any view runs.
    "helpdesk.core.api.middleware.QueryStringMiddleware",
    # API writes with an Idempotency-Key: a malformed key is a 400, the first answer is stored and replayed.
    "helpdesk.core.api.idempotency.IdempotencyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A connection pool, not persistent connections: under ASGI (daphne) each request runs its
        # database work in a thread of its own, so CONN_MAX_AGE kept one connection open per dead
        # thread until PostgreSQL refused new clients. The pool hands connections back at the end
        # of every request, and the pool itself checks them before use.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # Only the few hot statements helpdesk.core.db.fetch_prepared runs are prepared (the ORM binds on the
        # client); their plans do not depend on the values, so one generic plan serves every call
        # instead of PostgreSQL planning each call afresh (0.3–0.7 ms each).
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c plan_cache_mode=force_generic_plan"
        # psycopg prepares nothing on its own (a threshold no statement reaches) but honours the
        # explicit requests; Django's default (None) would turn those off too.
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2**62
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": int(os.environ.get("DATABASE_POOL_MIN", "2")),
            "max_size": int(os.environ.get("DATABASE_POOL_MAX", "10")),
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "helpdesk.sqlite3",
            # The web server, the worker and beat share one file: wait for locks instead of failing.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
            # The tests' database is a file too, as the platform's is, not Django's shared-cache
            # in-memory database: there a connection that writes locks whole tables and the live
            # server's other threads fail at once with "database table is locked" (no busy timeout
            # applies), where a WAL file lets readers read and writers wait. One per process, so
            # parallel runs do not meet; removed when the run ends.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery --------------------------------------------------------
# Every task is killed after this (a task may set a lower limit of its own, never a higher one); the
# soft limit raises inside the task first, so its transaction rolls back cleanly and a rerun picks up
# (every task is idempotent). The longest, the SLA sweep, takes ~0.3 s with a thousand tickets due
# (bench/README.md); the hourly archive and session clean-up are single statements. Five minutes
# leaves room for a slow database without letting a stuck task hold its message for an hour. The
# broker's visibility timeout follows from this.
CELERY_TASK_TIME_LIMIT = 300  # seconds
CELERY_TASK_SOFT_TIME_LIMIT = 240
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_TIMEOUT = float(os.environ.get("HELPDESK_REDIS_TIMEOUT", "2"))  # seconds
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "helpdesk",
            # A stalled Redis (accepting connections, answering nothing) would otherwise hold every
            # request that touches the cache, and /healthz, for as long as the kernel keeps the socket.
            # Commands take well under a millisecond; after this the cache call raises, and /healthz
            # answers 503 with "cache": "down".
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
        }
    }
    # Redis connections per event loop of a process (daphne's, and the loop that hands sync code's
    # events over: helpdesk.core.events), whatever the number of sockets opening or closing at once.
    # A socket's join or leave waits for a free connection (up to the pool timeout) instead of opening
    # one more (helpdesk.core.channel_layer; bench/README.md, "Websocket storms", has the figures).
    CHANNEL_LAYER_MAX_CONNECTIONS = int(os.environ.get("HELPDESK_CHANNEL_LAYER_MAX_CONNECTIONS", "32"))
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "helpdesk.core.channel_layer.BoundedRedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": CHANNEL_LAYER_MAX_CONNECTIONS,
                        # Seconds a join or leave may wait for a connection before it fails. A storm
                        # drains in a few seconds; only a stalled Redis makes anyone wait this long.
                        "timeout": 30,
                        "socket_connect_timeout": REDIS_TIMEOUT,
                        # Redis's CLIENT LIST names them, so the layer's connections can be counted.
                        "client_name": "helpdesk-ws",
                    }
                ],
                "prefix": "helpdesk:ws",
                # Messages waiting in a process's inbox (one Redis key per process, whatever its
                # sockets) before group_send drops more (channels_redis's default: 100). A process
                # busy with a storm of sockets falls behind for seconds; at 100 the bench's watcher
                # lost events while it caught up. A message to a chat group is one send per member
                # (each member's own numbered event), so a process holding 2,000 members' sockets
                # gets 2,000 at once: at 1,000 the rest were dropped and came only with each
                # socket's next ping (bench_groups). Messages older than ``expiry`` (60 s) still go.
                "capacity": 20000,
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # How long Redis waits for the ack of a delivered task before handing it to another worker. With
    # late acks, a task in flight when the whole worker is killed comes back only after this, so it is
    # as short as it safely can be: the longest hard time limit (below) plus a minute for delivery. Any
    # shorter and a task still running would be handed out a second time.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 60}
else:
    # A file cache, unlike the local-memory one, is shared by the web process and the worker.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    _broker_dir = VAR_DIR / "celery" / "broker"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _results_dir = VAR_DIR / "celery" / "results"
    for _dir in (_broker_dir, _processed_dir, _results_dir):
        _dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_processed_dir),
        # Broadcast (remote control) messages too, or kombu writes them to ./control.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = "file://" + str(_results_dir)

# --- Realtime ----------------------------------------------------------------------------------
# Check every realtime event against the events registry (declared type, payload schema) before it
# is sent. The tests turn it on; it costs a JSON Schema validation per event.
HELPDESK_VALIDATE_EVENTS = env_bool("HELPDESK_VALIDATE_EVENTS", False)

# --- Celery: never lose work --------------------------------------------------------------------
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Tests shorten the interval to see beat and the worker cooperate within seconds.
    "platform-heartbeat": {
        "task": "helpdesk.tasks.record_heartbeat",
        "schedule": float(os.environ.get("HELPDESK_HEARTBEAT_SECONDS", "30")),
    },
    "clear-expired-sessions": {"task": "accounts.tasks.clear_expired_sessions", "schedule": 3600.0},
    # Seed 004's clocks: unconfirmed assignments pass on, warnings before a breach, escalation at one.
    "ticket-sla-sweep": {"task": "tickets.tasks.sla_sweep", "schedule": 60.0},
    "ticket-archive-resolved": {"task": "tickets.tasks.archive_resolved", "schedule": 3600.0},
    # New tickets told to their pools' agents (the bell), a few seconds after filing, in batches.
    "ticket-notify-new": {"task": "tickets.tasks.notify_new_tickets", "schedule": 5.0},
    # Delta sync's tombstones past their 30 days (helpdesk.core.tombstones).
    "prune-tombstones": {"task": "helpdesk.tasks.prune_tombstones", "schedule": 86400.0},
    # Idempotency-Key answers are kept 24 hours (helpdesk.core.api.idempotency).
    "prune-idempotency-records": {"task": "helpdesk.tasks.prune_idempotency_records", "schedule": 3600.0},
    # Stored realtime events past their retention (helpdesk.core.eventlog), and push retries.
    "prune-realtime-events": {"task": "helpdesk.tasks.prune_realtime_events", "schedule": 3600.0},
    "push-outbox": {"task": "accounts.tasks.push_outbox_send", "schedule": 60.0},
    # The knowledge search index is written in the publishing transactions; this repairs anything
    # written around the services (a restore, a fix in the database). Normally it finds nothing.
    "knowledge-search-catch-up": {"task": "knowledge.tasks.catch_up_search_index", "schedule": 3600.0},
    # Approved notices waiting for their publishing time (exactly once, notices.services.workflow), and
    # the read statistics a lost queued run left stale.
    "notices-publish-due": {"task": "notices.tasks.publish_due", "schedule": 60.0},
    "notices-recount-stale-stats": {"task": "notices.tasks.recount_stale_stats", "schedule": 60.0},
}

# --- Notifications ------------------------------------------------------------------------------
# E-mail: SMTP when EMAIL_HOST is set, else the console (the embedded default prints each mail).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "true").lower() == "true"
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "教育技术服务平台 <noreply@localhost>")
# Links in e-mails and pushes.
HELPDESK_SITE_URL = os.environ.get("HELPDESK_SITE_URL", "http://127.0.0.1:8000")
# The push provider adapter (accounts.services.notifications.PushBackend); the default logs.
HELPDESK_PUSH_BACKEND = os.environ.get("HELPDESK_PUSH_BACKEND", "accounts.services.LoggingPushBackend")
# Stored realtime events are kept this long; resuming from older ids is answered with a resync.
HELPDESK_EVENT_RETENTION_HOURS = int(os.environ.get("HELPDESK_EVENT_RETENTION_HOURS", "48"))

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
# 14 天内保持登录 (keep me signed in) keeps the session this long; without it the session ends with the browser.
REMEMBER_ME_AGE = timedelta(days=14)
SESSION_COOKIE_AGE = int(REMEMBER_ME_AGE.total_seconds())
# Each API sign-in is a device with its own tokens (accounts.services.devices): the access token
# expires after this, the refresh token (which renews both) this long after the last refresh.
HELPDESK_ACCESS_TOKEN_TTL = timedelta(days=int(os.environ.get("HELPDESK_ACCESS_TOKEN_DAYS", "30")))
HELPDESK_REFRESH_TOKEN_TTL = timedelta(days=int(os.environ.get("HELPDESK_REFRESH_TOKEN_DAYS", "90")))
# A device's "last used" is written at most this often (not one UPDATE per request).
HELPDESK_DEVICE_SEEN_INTERVAL = timedelta(minutes=5)

# django-axes: lock an account on one client after repeated failures, on the portal and the API.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.accounts.lockout_response"
AXES_VERBOSE = False

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF takes the WWW-Authenticate header from the first class, and without one a
    # missing, revoked or deactivated user's token would answer 403 instead of 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # A one-time password (issued or reset by an administrator) must be changed before anything else.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.PasswordChangeNotRequired",
    ],
    "DEFAULT_PAGINATION_CLASS": "helpdesk.core.api.pagination.DefaultPagination",
    # JSON nested beyond the decoder's depth and bodies over the upload limits answer the API's 400.
    "DEFAULT_PARSER_CLASSES": [
        "helpdesk.core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "helpdesk.core.api.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_RATES": {},
    # Not a rate limit: claims the Idempotency-Key of a write once the user is known (helpdesk.core.api.idempotency).
    # A view that sets throttle_classes must keep it.
    "DEFAULT_THROTTLE_CLASSES": ["helpdesk.core.api.idempotency.IdempotencyGate"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "教育技术服务平台 API",
    "DESCRIPTION": "REST API of the Education Technology Service Platform for the portal and mobile clients.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Interactive docs from the installed sidecar package: intranets may have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Document JSON bodies only: with the same body listed under three content types, generated
    # clients (openapi-python-client) cannot tell them apart and send multipart. Upload endpoints
    # declare multipart/form-data explicitly with extend_schema(request={...}).
    "PARSER_WHITELIST": ["helpdesk.core.api.parsers.JSONParser"],
    # Choice sets that share the field name "kind": each gets a name of its own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "UnitKindEnum": "orgtree.models.OrgKind",
        "DeviceKindEnum": "accounts.models.DeviceKind",
    },
    # Every operation documents the 400 an undocumented or ill-typed query parameter gets.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "helpdesk.core.api.schema.document_bad_query",
        # The Idempotency-Key header, its 422 and 409, and the retry rules in the API's description.
        "helpdesk.core.api.schema.document_idempotency",
        "accounts.api.schema.document_password_change_required",
    ],
}

# --- I18N ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# One catalog for every app and template, so makemessages run from the project root finds it.
LOCALE_PATHS = [BASE_DIR / "helpdesk" / "locale"]

# --- Static and uploaded files ------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
# Ticket attachments: outside MEDIA_ROOT and STATIC_ROOT, served only by a permission-checked view.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("DJANGO_PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))
# Serve collected files in production and the app's own directories while developing.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
AVATAR_MAX_BYTES = 2 * 1024 * 1024
ACCOUNT_IMPORT_MAX_BYTES = 5 * 1024 * 1024
ACCOUNT_IMPORT_MAX_ROWS = 5000

# --- Security defaults that hold everywhere -----------------------------------------------------
# Content-Security-Policy (django-csp; helpdesk.csp adds the page's own ws:// or wss:// origin to
# connect-src). Everything the portal loads is its own: no CDN, no inline script or style, no eval
# (htmx is configured without it in base.html). Script tags carry the request's nonce
# (request.csp_nonce), so that an inline script added later works only with it. data: images are
# for the API docs' icons. The same policy in development, so that a page that breaks under it
# breaks there first (django-csp leaves Django's debug error pages alone).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A refused request (403, 404, any 4xx) is one line, not a traceback; 5xx keep theirs (helpdesk.logs).
    "filters": {"one_line_refusals": {"()": "helpdesk.logs.OneLineRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "django.request": {"filters": ["one_line_refusals"]}},
}

PLATFORM_NAME = _("Education Technology Service Platform")

# The password change captcha (django-simple-captcha): four letters (case-insensitive), drawn as a
# same-origin image (img-src 'self'); the refresh button is static/js/captcha.js. Tests turn on
# the library's test mode, where the answer "PASSED" is accepted (tests/accounts/conftest.py).
CAPTCHA_CHALLENGE_FUNCT = "captcha.helpers.random_char_challenge"
CAPTCHA_LENGTH = 4
CAPTCHA_FONT_SIZE = 30
CAPTCHA_TIMEOUT = 5  # minutes
