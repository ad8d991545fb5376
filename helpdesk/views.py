from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.static import serve

from accounts.selectors import is_unit_admin, user_roles
from orgtree.selectors import unit_ancestors

from .tasks import HEARTBEAT_KEY


@login_required
def home(request):
    user = request.user
    return render(
        request,
        "home.html",
        {
            "unit_chain": unit_ancestors(unit=user.unit) if user.unit_id else [],
            "roles": user_roles(user=user),
            "is_unit_admin": is_unit_admin(actor=user),
        },
    )


def health(request):
    """Liveness of the pieces an operator cares about; answers 503 if the database is down."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        database = "down"
    try:
        heartbeat = cache.get(HEARTBEAT_KEY)
        cache_state = "ok"
    except Exception:
        heartbeat, cache_state = None, "down"
    status = 200 if database == "ok" and cache_state == "ok" else 503
    return JsonResponse({"database": database, "cache": cache_state, "celery_last_heartbeat": heartbeat}, status=status)


@login_required
def avatar_file(request, path: str):
    # MEDIA_ROOT is read per request (not frozen into the URLconf); serve() refuses paths outside it.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


def asyncapi_schema(request):
    """The websocket's AsyncAPI description (every registered event type), beside the OpenAPI one."""
    from .core.event_types import asyncapi_document

    scheme = "wss" if request.is_secure() else "ws"
    document = asyncapi_document(server_url=f"{scheme}://{request.get_host()}/ws/")
    document["servers"]["platform"]["protocol"] = scheme
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})
