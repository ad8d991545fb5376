"""Images and files sent in a chat: checked by content against the chat's upload policy
(``helpdesk.core.files``), kept in private storage, served only to members. An image gets a
thumbnail (at most 320 px on its longer side) for the conversation; the full image is a second
request."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile

from helpdesk.core.files import FileKind, UploadPolicy, file_digest, file_kinds

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
THUMBNAIL_SIDE = 320

# What colleagues send each other: pictures and screenshots, documents, archives. Nothing
# executable or scriptable (no SVG: it can carry script).
ALLOWED_EXTENSIONS: dict[str, FileKind] = file_kinds(
    "jpg",
    "jpeg",
    "png",
    "gif",
    "webp",
    "bmp",
    "txt",
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


def upload_policy() -> UploadPolicy:
    return UploadPolicy(
        kinds=ALLOWED_EXTENSIONS, max_bytes=getattr(settings, "CHAT_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
    )


@dataclass
class CheckedUpload:
    upload: UploadedFile
    name: str
    content_type: str
    is_image: bool
    size: int
    width: int | None = None
    height: int | None = None
    thumbnail: ContentFile | None = None


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """The upload checked (a ValidationError on ``file`` otherwise), with a thumbnail for an image."""
    name, content_type, kind = upload_policy().inspect(upload)
    _sha256, size = file_digest(upload)
    checked = CheckedUpload(upload, name, content_type, kind.check == "image", size)
    if checked.is_image:
        _thumbnail(checked)
    return checked


def _thumbnail(checked: CheckedUpload) -> None:
    from PIL import Image, ImageOps

    upload = checked.upload
    upload.seek(0)
    with Image.open(upload) as image:
        checked.width, checked.height = image.size
        image.seek(0)  # an animated GIF: its first frame
        frame = ImageOps.exif_transpose(image) or image
        frame = frame.convert("RGBA") if frame.mode in ("RGBA", "LA", "P") else frame.convert("RGB")
        frame.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        out = io.BytesIO()
        # PNG keeps a screenshot's transparency; a photo is smaller as JPEG.
        if frame.mode == "RGBA":
            frame.save(out, "PNG", optimize=True)
            suffix = "png"
        else:
            frame.save(out, "JPEG", quality=80)
            suffix = "jpg"
    upload.seek(0)
    checked.thumbnail = ContentFile(out.getvalue(), name=f"thumb.{suffix}")


def thumbnail_content_type(name: str) -> str:
    return "image/png" if name.endswith(".png") else "image/jpeg"
