"""What the notices API's views share: the error answers of the schema and the unit look-up."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions

from helpdesk.core.api.serializers import ErrorSerializer
from orgtree.models import OrgUnit

from ..services.attachments import ALLOWED_EXTENSIONS
from .serializers import NoticeDetailSerializer

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such notice, or not one you may see.")
ERROR_410 = OpenApiResponse(
    ErrorSerializer, description="`resync_required`: `updated_after` is too old or what you may see changed."
)
DETAIL_RESPONSES = {200: NoticeDetailSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404}
LIST_ERRORS = {
    400: ERROR_400,
    401: ERROR_401,
    404: OpenApiResponse(ErrorSerializer, description="A `cursor` this list did not hand out."),
}
DOWNLOAD_RESPONSES = {
    (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
    for content_type in sorted({kind.content_type for kind in ALLOWED_EXTENSIONS.values()})
}


def unit_or_400(pk, field: str) -> OrgUnit | None:
    if pk is None:
        return None
    found = OrgUnit.objects.filter(pk=pk).first()
    if found is None:
        raise exceptions.ValidationError({field: [_("No such unit.")]})
    return found
