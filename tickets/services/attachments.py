"""Files on a ticket: which kinds a ticket takes and how many, checked by content rather than by name
(``helpdesk.core.files.UploadPolicy``), and stored in private storage with its checksum. Served back
only through ``tickets.views.attachments``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.files import (
    ORIGINAL_NAME_MAX,
    FileKind,
    UploadPolicy,
    file_digest,
    file_kinds,
    is_inline_type,
    removed_unless_saved,
    sanitize_filename,
)

from .. import selectors
from ..models import Ticket, TicketAttachment, TicketMessage, TicketState

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PER_TICKET = 20
DEFAULT_MAX_PER_MESSAGE = 10


# What a support ticket needs: screenshots and photos, logs and exported tables, office documents,
# and archives to bundle them (how each is checked: ``helpdesk.core.files.FILE_KINDS``).
ALLOWED_EXTENSIONS: dict[str, FileKind] = file_kinds(
    "jpg",
    "jpeg",
    "png",
    "gif",
    "webp",
    "bmp",
    "txt",
    "log",
    "csv",
    "pdf",
    "doc",
    "xls",
    "ppt",
    "docx",
    "xlsx",
    "pptx",
    "zip",
    "rar",
    "7z",
)


def attachment_max_bytes() -> int:
    return getattr(settings, "TICKET_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def attachment_max_per_ticket() -> int:
    return getattr(settings, "TICKET_ATTACHMENT_MAX_PER_TICKET", DEFAULT_MAX_PER_TICKET)


def attachment_max_per_message() -> int:
    return getattr(settings, "TICKET_ATTACHMENT_MAX_PER_MESSAGE", DEFAULT_MAX_PER_MESSAGE)


def ticket_upload_policy() -> UploadPolicy:
    """The kinds of file a ticket takes and the size limit of the moment (settings may change it)."""
    return UploadPolicy(kinds=ALLOWED_EXTENSIONS, max_bytes=attachment_max_bytes())


def inspect_upload(upload: UploadedFile) -> tuple[str, str, FileKind]:
    """Check an upload against the tickets' policy: (safe original name, content type, kind), or a
    ValidationError on ``file``."""
    return ticket_upload_policy().inspect(upload)


def _user_can_see(user: User, ticket: Ticket) -> bool:
    return selectors.visible_tickets(user=user).filter(pk=ticket.pk).exists()


def _user_is_staff_of(user: User, ticket: Ticket) -> bool:
    return bool(selectors.ticket_capabilities(user=user, ticket=ticket) & selectors.STAFF_CAPABILITIES)


def attachment_add(
    *,
    ticket: Ticket,
    user: User,
    upload: UploadedFile,
    message: TicketMessage | None = None,
    internal: bool = False,
) -> TicketAttachment:
    """Attach a file to a ticket, optionally to one of its messages. A file on an internal note is
    internal: hidden from the asker like the note. Refused on a closed (archived) ticket."""
    if not _user_can_see(user, ticket):
        raise ValidationError({"ticket": [_("You cannot add files to this ticket.")]})
    if message is not None:
        if message.ticket_id != ticket.pk:
            raise ValidationError({"message": [_("The message belongs to another ticket.")]})
        if message.author_id != user.pk:
            raise ValidationError({"message": [_("Files can only be added to your own message.")]})
        if internal and not message.internal:
            raise ValidationError({"internal": [_("A file on a public reply cannot be internal.")]})
        internal = message.internal
    if internal and not _user_is_staff_of(user, ticket):
        raise ValidationError({"internal": [_("Only the ticket's support staff can add internal files.")]})

    if ticket.state == TicketState.CLOSED:
        raise ValidationError({"state": [_("A closed ticket cannot take new files.")]})

    name, content_type, _kind = inspect_upload(upload)
    sha256, size = file_digest(upload)
    attachment = TicketAttachment(
        ticket=ticket,
        message=message,
        uploaded_by=user,
        original_name=name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        internal=internal,
    )
    # The stored name comes from the model's upload_to (random). The file is written before the
    # transaction so the ticket's row lock is not held during disk I/O, and removed again if the row
    # is not written.
    attachment.file.save(name, upload, save=False)
    with removed_unless_saved(attachment.file), transaction.atomic():
        # The lock serialises concurrent uploads so the limits hold, and re-reads the state in case
        # the ticket was closed since the caller loaded it.
        locked = Ticket.objects.select_for_update().only("pk", "state").get(pk=ticket.pk)
        if locked.state == TicketState.CLOSED:
            raise ValidationError({"state": [_("A closed ticket cannot take new files.")]})
        max_per_ticket = attachment_max_per_ticket()
        if TicketAttachment.objects.filter(ticket=ticket).count() >= max_per_ticket:
            raise ValidationError({"file": [_("A ticket holds at most %(count)d files.") % {"count": max_per_ticket}]})
        max_per_message = attachment_max_per_message()
        if message is not None and message.attachments.count() >= max_per_message:
            raise ValidationError(
                {"file": [_("A message holds at most %(count)d files.") % {"count": max_per_message}]}
            )
        attachment.save()
    return attachment


def ticket_create_with_attachments(
    *, asker: User, uploads: Sequence[UploadedFile], **fields: Any
) -> tuple[Ticket, list[TicketAttachment]]:
    """问题咨询 with its files, all or nothing: every file is checked against the tickets' upload
    policy before anything is written, and the ticket and its attachments are written in one
    transaction. A refused file is a ValidationError on ``attachments`` naming the file, and no
    ticket exists (nor a number taken, nor an event sent).

    The files are written to private storage before the transaction (under ``tickets/intake/``: the
    ticket's id, which names the folder of later uploads, does not exist yet), so the day counter's
    row lock, which every create in the country waits for, is held for the rows only and not for
    disk writes; they are removed again if the rows are not written. ``fields`` are
    ``ticket_create``'s."""
    from .intake import ticket_create

    limit = attachment_max_per_ticket()
    if len(uploads) > limit:
        raise ValidationError({"attachments": [_("A ticket holds at most %(count)d files.") % {"count": limit}]})
    checked: list[tuple[UploadedFile, str, str]] = []
    errors: list[str] = []
    for position, upload in enumerate(uploads, start=1):
        try:
            name, content_type, _kind = inspect_upload(upload)
        except ValidationError as exc:
            shown = sanitize_filename(getattr(upload, "name", "")) or "?"
            errors += [
                _("File %(position)d (%(name)s): %(message)s") % {"position": position, "name": shown, "message": m}
                for m in exc.messages
            ]
            continue
        checked.append((upload, name, content_type))
    if errors:
        raise ValidationError({"attachments": errors})

    storage = TicketAttachment._meta.get_field("file").storage
    stored: list[str] = []
    try:
        attachments = []
        for upload, name, content_type in checked:
            sha256, size = file_digest(upload)
            stored.append(storage.save(f"tickets/intake/{uuid.uuid4().hex}", upload))
            attachments.append(
                TicketAttachment(
                    uploaded_by=asker,
                    file=stored[-1],
                    original_name=name,
                    content_type=content_type,
                    size=size,
                    sha256=sha256,
                )
            )
        with transaction.atomic():
            ticket = ticket_create(asker=asker, **fields)
            for attachment in attachments:
                attachment.ticket = ticket
            TicketAttachment.objects.bulk_create(attachments)
    except BaseException:
        for name in stored:
            storage.delete(name)
        raise
    return ticket, attachments


__all__ = [
    "ALLOWED_EXTENSIONS",
    "DEFAULT_MAX_BYTES",
    "ORIGINAL_NAME_MAX",
    "FileKind",
    "attachment_add",
    "attachment_max_bytes",
    "attachment_max_per_message",
    "attachment_max_per_ticket",
    "inspect_upload",
    "is_inline_type",
    "sanitize_filename",
    "ticket_create_with_attachments",
    "ticket_upload_policy",
]
