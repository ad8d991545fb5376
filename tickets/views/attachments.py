"""Downloading a ticket's files. Files live in private storage that no URL maps to; this view is the
only way out, and it answers 404 for anything the user may not see (a guessed id reveals nothing)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from helpdesk.core.files import attachment_response

from .. import selectors
from ..models import TicketAttachment


def attachment_get(*, user, ticket_id: int, attachment_id: int) -> TicketAttachment:
    """The attachment if the user may see it, else Http404 (for hidden tickets, other tickets' files
    and internal files alike)."""
    ticket = selectors.ticket_get(user=user, pk=ticket_id)  # Http404 when the ticket is not the user's
    try:
        return selectors.ticket_attachments(user=user, ticket=ticket).get(pk=attachment_id)
    except TicketAttachment.DoesNotExist as exc:
        raise Http404 from exc


@require_safe
@login_required
def attachment_download(request: HttpRequest, ticket_id: int, attachment_id: int) -> FileResponse:
    attachment = attachment_get(user=request.user, ticket_id=ticket_id, attachment_id=attachment_id)
    return attachment_response(attachment)
