"""Private storage for ticket attachments: a directory outside MEDIA_ROOT and STATIC_ROOT that no
URL maps to, so a file is reachable only through the permission-checked download view."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
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
