"""The API's half of the forced password change (the portal's is ``accounts.middleware``).

An account whose password an administrator issued or reset may sign in with a token, read
``GET /api/v1/me/`` (whose ``password_change_required`` tells the client why everything else is
refused), change its password and sign out; every other operation answers 403 with the code
``password_change_required`` until it has. It is a default permission class, so a view that
lists its own permission classes must include it (``IsUnitAdmin`` checks it first).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission

CODE = "password_change_required"


class PasswordChangeRequired(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = CODE
    default_detail = _("Change the password your administrator gave you before doing anything else.")


def ensure_password_changed(request, view) -> None:
    """Raise the 403 when the caller still holds an administrator-issued password.

    Views name the methods that stay open in ``open_before_password_change``.
    """
    user = getattr(request, "user", None)
    if not (user is not None and user.is_authenticated and getattr(user, "password_change_required", False)):
        return
    if request.method in getattr(view, "open_before_password_change", ()):
        return
    # Raised rather than returned False: DRF would answer a bare 403 without the code.
    raise PasswordChangeRequired()


class PasswordChangeNotRequired(BasePermission):
    def has_permission(self, request, view) -> bool:
        ensure_password_changed(request, view)
        return True
