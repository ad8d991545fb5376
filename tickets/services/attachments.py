"""Files on a ticket: what may be uploaded, checked by content rather than by name, and stored in
private storage with its checksum. Served back only through ``tickets.attachment_views``."""

from __future__ import annotations

import codecs
import hashlib
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User

from .. import selectors
from ..models import Ticket, TicketAttachment, TicketMessage, TicketState

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PER_TICKET = 20
DEFAULT_MAX_PER_MESSAGE = 10
ORIGINAL_NAME_MAX = 200


@dataclass(frozen=True)
class FileKind:
    content_type: str
    # How the content is checked: "image" (magic + Pillow), "text" (encoding), "pdf", "ooxml"
    # (a zip holding the Office part directory), "ole" (a compound file holding the named stream),
    # "zip", or "magic" (filetype's signature alone).
    check: str
    # ooxml: the part directory; ole: the streams of which one must exist; magic: filetype extensions.
    detail: tuple[str, ...] = ()


# What a support ticket needs: screenshots and photos, logs and exported tables, office documents,
# and archives to bundle them. Nothing executable or scriptable (no html, svg, js, exe, bat).
ALLOWED_EXTENSIONS: dict[str, FileKind] = {
    "jpg": FileKind("image/jpeg", "image", ("JPEG",)),
    "jpeg": FileKind("image/jpeg", "image", ("JPEG",)),
    "png": FileKind("image/png", "image", ("PNG",)),
    "gif": FileKind("image/gif", "image", ("GIF",)),
    "webp": FileKind("image/webp", "image", ("WEBP",)),
    "bmp": FileKind("image/bmp", "image", ("BMP", "DIB")),
    "txt": FileKind("text/plain", "text"),
    "log": FileKind("text/plain", "text"),
    "csv": FileKind("text/csv", "text"),
    "pdf": FileKind("application/pdf", "pdf"),
    "doc": FileKind("application/msword", "ole", ("WordDocument",)),
    "xls": FileKind("application/vnd.ms-excel", "ole", ("Workbook", "Book")),
    "ppt": FileKind("application/vnd.ms-powerpoint", "ole", ("PowerPoint Document",)),
    "docx": FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "ooxml", ("word/",)),
    "xlsx": FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "ooxml", ("xl/",)),
    "pptx": FileKind("application/vnd.openxmlformats-officedocument.presentationml.presentation", "ooxml", ("ppt/",)),
    "zip": FileKind("application/zip", "zip"),
    # Chinese users bundle files as rar and 7z as often as zip.
    "rar": FileKind("application/vnd.rar", "magic", ("rar",)),
    "7z": FileKind("application/x-7z-compressed", "magic", ("7z",)),
}

_CHUNK = 64 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def attachment_max_bytes() -> int:
    return getattr(settings, "TICKET_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def attachment_max_per_ticket() -> int:
    return getattr(settings, "TICKET_ATTACHMENT_MAX_PER_TICKET", DEFAULT_MAX_PER_TICKET)


def attachment_max_per_message() -> int:
    return getattr(settings, "TICKET_ATTACHMENT_MAX_PER_MESSAGE", DEFAULT_MAX_PER_MESSAGE)


def is_inline_type(content_type: str) -> bool:
    """Images are shown in the page; every other type is downloaded, never rendered by the browser."""
    return content_type.startswith("image/")


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def sanitize_filename(name: str) -> str:
    """The uploader's name reduced to something safe to show and to send back in a header: the last
    path component (browsers on Windows send full paths), no control characters, at most 200
    characters with the extension kept."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".").strip()
    if len(name) > ORIGINAL_NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: ORIGINAL_NAME_MAX - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:ORIGINAL_NAME_MAX]
    return name


def _extension(name: str) -> str:
    _stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _head(upload: UploadedFile, size: int = 8192) -> bytes:
    upload.seek(0)
    data = upload.read(size)
    upload.seek(0)
    return data


def _read_chunks(upload: UploadedFile):
    upload.seek(0)
    while chunk := upload.read(_CHUNK):
        yield chunk


def _text_charset(upload: UploadedFile) -> str | None:
    """The file's charset if it is text: no NUL byte and decodes as UTF-8, else as GB18030 (what
    Chinese Windows writes). Decoded incrementally so a 10 MB log is never held whole."""
    try:
        for charset in ("utf-8", "gb18030"):
            decoder = codecs.getincrementaldecoder(charset)()
            try:
                for chunk in _read_chunks(upload):
                    if b"\x00" in chunk:
                        return None
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return charset
        return None
    finally:
        upload.seek(0)


def _image_matches(upload: UploadedFile, formats: tuple[str, ...]) -> bool:
    # Images are shown inline, so they are parsed, not just sniffed: a PNG signature in front of
    # something else is refused.
    from PIL import Image

    guess = filetype.guess(_head(upload))
    if guess is None or not guess.mime.startswith("image/"):
        return False
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            found = (image.format or "").upper()
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, TypeError, IndexError):
        return False
    finally:
        upload.seek(0)
    return found in formats


def _zip_names(upload: UploadedFile) -> list[str] | None:
    # Only the central directory is read; nothing is extracted, so a zip bomb costs nothing here.
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        upload.seek(0)


def _ole_stream_names(upload: UploadedFile, max_sectors: int = 64) -> set[str]:
    """Names in a compound file's directory (the container of .doc/.xls/.ppt). An .msi or other
    compound file has the same signature, so the format is told by its main stream's name. Follows
    the directory's sector chain through the FAT sectors listed in the header (enough for files up
    to ~7 MB of FAT reach and for any real document's directory, which comes first)."""
    upload.seek(0)
    header = upload.read(512)
    if len(header) < 512 or header[:8] != _OLE_MAGIC:
        return set()
    shift = int.from_bytes(header[30:32], "little")
    if shift not in (9, 12):
        return set()
    sector_size = 1 << shift
    fat_sectors = [int.from_bytes(header[76 + 4 * i : 80 + 4 * i], "little") for i in range(109)]
    fat_sectors = [sid for sid in fat_sectors if sid < 0xFFFFFFFA]
    entries_per_fat_sector = sector_size // 4

    def read_sector(sid: int) -> bytes:
        upload.seek((sid + 1) * sector_size)
        return upload.read(sector_size)

    def next_sector(sid: int) -> int:
        index, offset = divmod(sid, entries_per_fat_sector)
        if index >= len(fat_sectors):
            return 0xFFFFFFFE
        fat = read_sector(fat_sectors[index])
        return int.from_bytes(fat[4 * offset : 4 * offset + 4], "little") if len(fat) == sector_size else 0xFFFFFFFE

    names: set[str] = set()
    sid = int.from_bytes(header[48:52], "little")
    seen: set[int] = set()
    try:
        while sid < 0xFFFFFFFA and sid not in seen and len(seen) < max_sectors:
            seen.add(sid)
            sector = read_sector(sid)
            for start in range(0, len(sector) - 127, 128):
                entry = sector[start : start + 128]
                length = int.from_bytes(entry[64:66], "little")
                if 2 <= length <= 64 and entry[66] in (1, 2):  # storage or stream
                    names.add(entry[: length - 2].decode("utf-16-le", "replace"))
            sid = next_sector(sid)
    finally:
        upload.seek(0)
    return names


def inspect_upload(upload: UploadedFile) -> tuple[str, str, FileKind]:
    """Check an upload against the rules and return (safe original name, content type, kind), or raise
    a ValidationError on ``file``. The name only picks the rule; the bytes must then prove it."""
    name = sanitize_filename(getattr(upload, "name", ""))
    ext = _extension(name)
    kind = ALLOWED_EXTENSIONS.get(ext)
    if kind is None:
        allowed = ", ".join(sorted(ALLOWED_EXTENSIONS))
        raise _file_error(_("This type of file cannot be attached. Allowed types: %(types)s.") % {"types": allowed})
    size = upload.size or 0
    if size <= 0:
        raise _file_error(_("The file is empty."))
    max_bytes = attachment_max_bytes()
    if size > max_bytes:
        raise _file_error(_("The file is too large: at most %(size)s MB.") % {"size": f"{max_bytes / (1024 * 1024):g}"})

    content_type = kind.content_type
    if kind.check == "text":
        charset = _text_charset(upload)
        if charset is None:
            raise _file_error(_("A text file must be plain text encoded as UTF-8 or GB18030."))
        content_type = f"{content_type}; charset={charset}"
        return name, content_type, kind

    if kind.check == "image":
        ok = _image_matches(upload, kind.detail)
    elif kind.check == "pdf":
        guess = filetype.guess(_head(upload))
        ok = guess is not None and guess.extension == "pdf"
    elif kind.check == "ooxml":
        names = _zip_names(upload)
        ok = names is not None and "[Content_Types].xml" in names and any(n.startswith(kind.detail) for n in names)
    elif kind.check == "ole":
        ok = bool(_ole_stream_names(upload) & set(kind.detail))
    elif kind.check == "zip":
        ok = _head(upload, 4) == b"PK\x03\x04" and _zip_names(upload) is not None
    else:
        guess = filetype.guess(_head(upload))
        ok = guess is not None and guess.extension in kind.detail
    if not ok:
        raise _file_error(
            _("The file's content does not match its extension .%(ext)s; it may be damaged or renamed.") % {"ext": ext}
        )
    return name, content_type, kind


def _sha256(upload: UploadedFile) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in _read_chunks(upload):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return digest.hexdigest(), size


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
    sha256, size = _sha256(upload)
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
    try:
        with transaction.atomic():
            # The lock serialises concurrent uploads so the limits hold, and re-reads the state in case
            # the ticket was closed since the caller loaded it.
            locked = Ticket.objects.select_for_update().only("pk", "state").get(pk=ticket.pk)
            if locked.state == TicketState.CLOSED:
                raise ValidationError({"state": [_("A closed ticket cannot take new files.")]})
            max_per_ticket = attachment_max_per_ticket()
            if TicketAttachment.objects.filter(ticket=ticket).count() >= max_per_ticket:
                raise _file_error(_("A ticket holds at most %(count)d files.") % {"count": max_per_ticket})
            max_per_message = attachment_max_per_message()
            if message is not None and message.attachments.count() >= max_per_message:
                raise _file_error(_("A message holds at most %(count)d files.") % {"count": max_per_message})
            attachment.save()
    except BaseException:
        attachment.file.delete(save=False)
        raise
    return attachment


__all__ = [
    "ALLOWED_EXTENSIONS",
    "DEFAULT_MAX_BYTES",
    "attachment_add",
    "attachment_max_bytes",
    "attachment_max_per_message",
    "attachment_max_per_ticket",
    "inspect_upload",
    "is_inline_type",
    "sanitize_filename",
]
