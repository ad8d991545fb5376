"""Downloading a ticket's files. Files live in private storage that no URL maps to; this view is the
only way out, and it answers 404 for anything the user may not see (a guessed id reveals nothing)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from . import selectors
from .models import Ticket, TicketAttachment
from .services.attachments import is_inline_type


def attachment_response(attachment: TicketAttachment) -> FileResponse:
    """Stream a stored file back under its original name. Only images are shown inline; everything
    else is a download, so an uploaded document is never rendered as a page of this site. Shared
    with the API's download endpoint; the caller has already checked the user may see the file."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=not is_inline_type(attachment.content_type),
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    # The stored content type is the one the content was checked against; the browser must not guess.
    response["X-Content-Type-Options"] = "nosniff"
    # Even an image opened directly gets no scripts, forms or plugins from this origin.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def attachment_get(*, user, ticket_id: int, attachment_id: int) -> TicketAttachment:
    """The attachment if the user may see it, else Http404 (for hidden tickets, other tickets' files
    and internal files alike)."""
    try:
        ticket = selectors.ticket_get(user=user, pk=ticket_id)
        return selectors.ticket_attachments(user=user, ticket=ticket).get(pk=attachment_id)
    except (Ticket.DoesNotExist, TicketAttachment.DoesNotExist) as exc:
        raise Http404 from exc


@require_safe
@login_required
def attachment_download(request: HttpRequest, ticket_id: int, attachment_id: int) -> FileResponse:
    attachment = attachment_get(user=request.user, ticket_id=ticket_id, attachment_id=attachment_id)
    return attachment_response(attachment)
