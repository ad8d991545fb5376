from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(request, credentials, *args, **kwargs):
    """What django-axes answers when an account is locked on this client: portal page or API JSON."""
    message = _("Too many failed logins. This account is locked on this device for 15 minutes.")
    if request.path.startswith("/api/"):
        import json

        return HttpResponse(
            json.dumps({"detail": message, "code": "locked_out"}, ensure_ascii=False),
            status=429,
            content_type="application/json",
        )
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)
