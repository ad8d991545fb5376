"""Files on an article: checked by content against an upload policy (``helpdesk.core.files``),
kept in private storage and served only to those who may read the article."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.files import FileKind, UploadPolicy, file_digest, file_kinds, removed_unless_saved

from .. import selectors
from ..models import Article, ArticleAttachment

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_PER_ARTICLE = 20

# Screenshots, documents and archives a how-to needs; nothing executable or scriptable.
ALLOWED_EXTENSIONS: dict[str, FileKind] = file_kinds(
    "jpg", "jpeg", "png", "gif", "txt", "pdf", "docx", "xlsx", "pptx", "zip"
)


def upload_policy() -> UploadPolicy:
    return UploadPolicy(
        kinds=ALLOWED_EXTENSIONS, max_bytes=getattr(settings, "KNOWLEDGE_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)
    )


def attachment_add(*, user: User, article: Article, upload: UploadedFile) -> ArticleAttachment:
    if not selectors.can_edit(user, article):
        raise ValidationError({"file": [_("You cannot add files to this article.")]})
    name, content_type, _kind = upload_policy().inspect(upload)
    sha256, size = file_digest(upload)
    attachment = ArticleAttachment(
        article=article, uploaded_by=user, original_name=name, content_type=content_type, size=size, sha256=sha256
    )
    # Written before the transaction (no row lock held during disk I/O), removed if the row is not.
    attachment.file.save(name, upload, save=False)
    with removed_unless_saved(attachment.file), transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk)
        if not selectors.can_edit(user, locked):
            raise ValidationError({"file": [_("You cannot add files to this article.")]})
        if locked.attachments.count() >= MAX_PER_ARTICLE:
            raise ValidationError(
                {"file": [_("An article takes at most %(limit)d files.") % {"limit": MAX_PER_ARTICLE}]}
            )
        attachment.save()
    return attachment


@transaction.atomic
def attachment_delete(*, user: User, attachment: ArticleAttachment) -> None:
    if not selectors.can_edit(user, attachment.article):
        raise ValidationError({"file": [_("You cannot remove files from this article.")]})
    stored = attachment.file.name
    storage = attachment.file.storage
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(stored))
