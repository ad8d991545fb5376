import os
import sys
from importlib import import_module

from django.conf import settings
from django.core.asgi import get_asgi_application

from helpdesk.runtime import freeze_startup_objects

if "daphne.http_protocol" in sys.modules:  # served by daphne (its CLI or runserver)
    from daphne.http_protocol import WebRequest

    # Twisted parses every POST form body itself, for a ``request.args`` daphne never reads, before
    # the application sees it, and answers a multipart body it cannot parse (an empty one:
    # ``--boundary--``) with a bare "400 Bad Request", no content type, no body: API clients got no
    # JSON error. Django parses the body (and answers bad input in the API's format), so Twisted's
    # parse is switched off through the flag Twisted has for it (an argument daphne never passes,
    # hence a read-only attribute on daphne's request class); uploads are no longer parsed twice.
    WebRequest._parsePOSTFormSubmission = property(lambda _request: False, lambda _request, _value: None)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from .core.consumers import RealtimeConsumer  # noqa: E402
from .core.ws_auth import WebsocketAuthStack  # noqa: E402

websocket_urlpatterns = [path("ws/", RealtimeConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketAuthStack(URLRouter(websocket_urlpatterns)),
    }
)
# As helpdesk.wsgi does: the URLconf and every view loaded now, then what the process holds from
# start-up frozen out of the collector's reach. Without it a full collection over ~300,000 objects
# stalled daphne's one event loop, and every socket it serves, for ~100 ms every so often.
import_module(settings.ROOT_URLCONF)
freeze_startup_objects()
