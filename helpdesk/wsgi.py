"""HTTP through a WSGI server (gunicorn in docker-compose.yml): a request costs about 4 ms of CPU less
than through the ASGI handler, which hands every synchronous view to a thread. The websocket
(/ws/) is served by daphne from ``helpdesk.asgi``; nginx in front sends each path to its server."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from helpdesk.runtime import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
application = get_wsgi_application()
# The URLconf, and with it every view, now rather than at the first request, so that it is frozen
# with the rest. A gunicorn worker imports this module after it is forked (or the master before
# forking, with --preload: then the workers share the frozen pages).
import_module(settings.ROOT_URLCONF)
freeze_startup_objects()
