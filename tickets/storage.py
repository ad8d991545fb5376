"""Where ticket attachments are stored: the shared private storage (``helpdesk.core.files``). This
module stays because migration 0005 names ``tickets.storage.private_storage``."""

from helpdesk.core.files import private_storage

__all__ = ["private_storage"]
