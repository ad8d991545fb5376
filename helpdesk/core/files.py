"""Files every app keeps: private storage that no URL maps to, one catalogue of file kinds (how each
extension's content is checked), one upload policy object (which of those kinds, how large, each
checked by its content rather than its name) that each app fills in and passes, and the response that
sends a stored file (or an app's attachment row) back.

Nothing here knows a ticket, a notice or a chat: an app decides which kinds of file it takes
(``UploadPolicy(kinds=..., max_bytes=...)``), checks permissions itself, and stores the file in a
model field whose storage is ``private_storage``.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

# A stored original name's length (the model fields that keep it are this long).
ORIGINAL_NAME_MAX = 200


# --- Private storage -----------------------------------------------------------------------------
class PrivateStorage(FileSystemStorage):
    """A directory outside MEDIA_ROOT and STATIC_ROOT (``PRIVATE_MEDIA_ROOT``) that no URL maps to,
    so a file is reachable only through a view that checked the reader may see it."""

    # Read the setting on each use, not once at import, so tests and deployments can move it.
    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        # No public URL at all: FileField.url raises instead of falling back to MEDIA_URL.
        return None


_private = PrivateStorage()


def private_storage() -> FileSystemStorage:
    return _private


# --- Upload policy -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileKind:
    content_type: str
    # How the content is checked: "image" (magic + Pillow), "text" (encoding), "pdf", "ooxml"
    # (a zip holding the Office part directory), "ole" (a compound file holding the named stream),
    # "zip", or "magic" (filetype's signature alone).
    check: str
    # ooxml: the part directory; ole: the streams of which one must exist; magic: filetype extensions.
    detail: tuple[str, ...] = ()


# Every kind of file some app takes, by lower-case extension: how a .docx is checked is a fact about
# .docx, not about tickets or notices, so it is written once. Nothing executable or scriptable is
# here (no html, svg, js, exe, bat): an app cannot take what the catalogue does not know.
FILE_KINDS: Mapping[str, FileKind] = {
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


def file_kinds(*extensions: str) -> dict[str, FileKind]:
    """The catalogue's kinds for these extensions, in the order given (an app's ``UploadPolicy.kinds``).
    An extension the catalogue does not know is a KeyError at import, not a file type let through."""
    return {ext: FILE_KINDS[ext] for ext in extensions}


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


_CHUNK = 64 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _head(upload: UploadedFile, size: int = 8192) -> bytes:
    upload.seek(0)
    data = upload.read(size)
    upload.seek(0)
    return data


def _read_chunks(upload: UploadedFile) -> Iterator[bytes]:
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


@dataclass(frozen=True)
class UploadPolicy:
    """What one app takes: ``kinds`` by lower-case extension, each checked by its content, and at
    most ``max_bytes`` per file. Build it where the limits are read (they may come from settings)."""

    kinds: Mapping[str, FileKind]
    max_bytes: int

    def inspect(self, upload: UploadedFile) -> tuple[str, str, FileKind]:
        """Check an upload against the policy and return (safe original name, content type, kind), or
        raise a ValidationError on ``file``. The name only picks the rule; the bytes must then prove it."""
        name = sanitize_filename(getattr(upload, "name", ""))
        ext = _extension(name)
        kind = self.kinds.get(ext)
        if kind is None:
            allowed = ", ".join(sorted(self.kinds))
            raise _file_error(_("This type of file cannot be attached. Allowed types: %(types)s.") % {"types": allowed})
        size = upload.size or 0
        if size <= 0:
            raise _file_error(_("The file is empty."))
        if size > self.max_bytes:
            raise _file_error(
                _("The file is too large: at most %(size)s MB.") % {"size": f"{self.max_bytes / (1024 * 1024):g}"}
            )

        content_type = kind.content_type
        if kind.check == "text":
            charset = _text_charset(upload)
            if charset is None:
                raise _file_error(_("A text file must be plain text encoded as UTF-8 or GB18030."))
            return name, f"{content_type}; charset={charset}", kind

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
                _("The file's content does not match its extension .%(ext)s; it may be damaged or renamed.")
                % {"ext": ext}
            )
        return name, content_type, kind


def file_digest(upload: UploadedFile) -> tuple[str, int]:
    """(SHA-256 hex digest, size in bytes) of an upload, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    for chunk in _read_chunks(upload):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return digest.hexdigest(), size


@contextmanager
def removed_unless_saved(file: FieldFile) -> Iterator[None]:
    """For a file written to storage before its row, so that no row lock is held during disk I/O:
    if the block that writes the row fails (a limit reached, a lost race, any error), the file is
    removed again and the error goes on."""
    try:
        yield
    except BaseException:
        file.delete(save=False)
        raise


# --- Download ------------------------------------------------------------------------------------
def private_file_response(file: File, *, filename: str, content_type: str) -> FileResponse:
    """Stream a stored file back under its original name. Only images are shown inline; everything
    else is a download, so an uploaded document is never rendered as a page of this site. The caller
    has already checked that the user may see the file; a file missing from the disk is a 404."""
    try:
        handle = file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=not is_inline_type(content_type),
        filename=filename,
        content_type=content_type,
    )
    # The stored content type is the one the content was checked against; the browser must not guess.
    response["X-Content-Type-Options"] = "nosniff"
    # Even an image opened directly gets no scripts, forms or plugins from this origin.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


class StoredAttachment(Protocol):
    """What every app's attachment row has: the stored file, the uploader's (sanitised) name and the
    content type the bytes were checked against."""

    file: File
    original_name: str
    content_type: str


def attachment_response(attachment: StoredAttachment) -> FileResponse:
    """``private_file_response`` for an app's attachment row, under the name it was uploaded with."""
    return private_file_response(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )
