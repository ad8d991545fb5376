"""Pieces the ticket API views share: error responses for the schema, the lists' page sizes, and
the object lookups that turn "not yours" into a 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from helpdesk.core.api.delta import SyncTokenPagination
from helpdesk.core.api.pagination import CompositeKeysetPagination
from helpdesk.core.api.serializers import ErrorSerializer

from .. import selectors
from ..models import Ticket

ERROR_400 = OpenApiResponse(
    ErrorSerializer,
    description="Invalid input, or an action the ticket's state refuses; `fields` holds a message per field.",
)
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_403 = OpenApiResponse(ErrorSerializer, description="Signed in but not allowed.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such ticket, or not one you may see.")
ERROR_404_LIST = OpenApiResponse(
    ErrorSerializer, description="No such ticket, not one you may see, or a `cursor` this list did not hand out."
)
ERROR_410_RESYNC = OpenApiResponse(
    ErrorSerializer,
    description=(
        "`resync_required`: `updated_after` is older than 30 days, or what you may see changed since "
        "(a role, the tree); fetch the list again without it."
    ),
)
ERROR_404_CURSOR = OpenApiResponse(ErrorSerializer, description="The `cursor` is not one this list handed out.")


def ticket_or_404(*, user, pk: int) -> Ticket:
    """The ticket if ``user`` may see it. Another unit's ticket does not exist for them: 404, not 403,
    so ids cannot be probed."""
    return selectors.ticket_get(user=user, pk=pk)  # Http404, which the API's error handler answers


class TicketPagination(SyncTokenPagination):
    """The ticket lists' pages, each with the ``sync_token`` a later delta (``updated_after``) starts from."""

    page_size = 20
    max_page_size = 100


class ThreadPagination(CompositeKeysetPagination):
    """A ticket's timeline, messages and files, oldest first; a client that reconnects continues
    from the last row it saw."""

    ordering = ("id",)
    page_size = 50
    max_page_size = 100
