"""Files on a notice: checked by content against an upload policy (``helpdesk.core.files``), kept in
private storage and served only to those who may see the notice (a forward serves its original's)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.files import FileKind, UploadPolicy, file_digest, file_kinds, removed_unless_saved

from .. import selectors
from ..models import Notice, NoticeAttachment, TimelineAction
from .writing import record

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_PER_NOTICE = 20

# What notices carry: documents, spreadsheets, slides, images, archives; nothing executable.
ALLOWED_EXTENSIONS: dict[str, FileKind] = file_kinds(
    "jpg", "jpeg", "png", "txt", "pdf", "doc", "xls", "ppt", "docx", "xlsx", "pptx", "zip"
)


def upload_policy() -> UploadPolicy:
    return UploadPolicy(
        kinds=ALLOWED_EXTENSIONS, max_bytes=getattr(settings, "NOTICE_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)
    )


def _refused() -> ValidationError:
    return ValidationError({"file": [_("Files are added to a draft or a returned notice, by its author.")]})


def attachment_add(*, user: User, notice: Notice, upload: UploadedFile) -> NoticeAttachment:
    if not selectors.can_edit(user, notice):
        raise _refused()
    name, content_type, _kind = upload_policy().inspect(upload)
    sha256, size = file_digest(upload)
    attachment = NoticeAttachment(
        notice=notice, uploaded_by=user, original_name=name, content_type=content_type, size=size, sha256=sha256
    )
    # Written before the transaction (no row lock held during disk I/O), removed if the row is not.
    attachment.file.save(name, upload, save=False)
    with removed_unless_saved(attachment.file), transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if not selectors.can_edit(user, locked):
            raise _refused()
        if locked.attachments.count() >= MAX_PER_NOTICE:
            raise ValidationError({"file": [_("A notice takes at most %(limit)d files.") % {"limit": MAX_PER_NOTICE}]})
        attachment.save()
        record(locked, TimelineAction.ATTACHED, actor=user, note=name)
    return attachment


@transaction.atomic
def attachment_delete(*, user: User, attachment: NoticeAttachment) -> None:
    notice = Notice.objects.select_for_update().get(pk=attachment.notice_id)
    if not selectors.can_edit(user, notice):
        raise _refused()
    stored = attachment.file.name
    storage = attachment.file.storage
    attachment.delete()
    record(notice, TimelineAction.DETACHED, actor=user, note=attachment.original_name)
    transaction.on_commit(lambda: storage.delete(stored))
