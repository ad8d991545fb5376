"""Pieces the account API views share: error responses for the schema, permissions, service calls."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission

from helpdesk.core.api.serializers import ErrorSerializer
from orgtree.models import OrgUnit

from .. import selectors
from ..permissions import ensure_password_changed

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_403 = OpenApiResponse(ErrorSerializer, description="Signed in but not allowed.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such object, or not one you may see.")
ERROR_404_CURSOR = OpenApiResponse(ErrorSerializer, description="The `cursor` is not one this list handed out.")
ERROR_404_UNIT = OpenApiResponse(ErrorSerializer, description="No such unit, or a `cursor` this list did not hand out.")


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"
    default_detail = gettext_lazy("Too many failed logins. This account is locked on this device for 15 minutes.")


class IsUnitAdmin(BasePermission):
    message = gettext_lazy("Only unit administrators manage accounts.")

    def has_permission(self, request, view) -> bool:
        # Views that name IsUnitAdmin replace the default classes: keep the forced password change.
        ensure_password_changed(request, view)
        return bool(request.user and request.user.is_authenticated and selectors.is_unit_admin(actor=request.user))


def service_call(func, /, *args, rename: dict[str, str] | None = None, **kwargs):
    """Call a service; its field errors come back under the API's field names (``username`` → ``account``)."""
    rename = {"username": "account", **(rename or {})}
    try:
        return func(*args, **kwargs)
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise exceptions.ValidationError(
                {rename.get(name, name): messages for name, messages in exc.message_dict.items()}
            ) from exc
        raise exceptions.ValidationError({"non_field_errors": exc.messages}) from exc


def unit_or_400(unit_id: int, field: str = "unit") -> OrgUnit:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise exceptions.ValidationError({field: [_("There is no unit with this id.")]})
    return unit


# --- Token login (mobile clients and scripts) -----------------------------------------------------
