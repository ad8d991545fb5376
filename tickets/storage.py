"""Private storage for ticket attachments: a directory outside MEDIA_ROOT and STATIC_ROOT that no
URL maps to, so a file is reachable only through the permission-checked download view."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage


def private_storage() -> FileSystemStorage:
    # Read the setting each time so tests (and deployments) can point it elsewhere; base_url is
    # None so the storage has no public URL to leak.
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)
