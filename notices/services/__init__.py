"""Every write to notices. ``from notices import services`` gives the whole surface."""

from .attachments import attachment_add, attachment_delete
from .reading import notice_mark_read, notice_remind
from .stats import compute_notice_stats
from .workflow import notice_approve, notice_reject, notice_withdraw, publish_due, publish_scheduled
from .writing import NoticeInput, notice_create, notice_forward, notice_submit, notice_update

__all__ = [
    "NoticeInput",
    "attachment_add",
    "attachment_delete",
    "compute_notice_stats",
    "notice_approve",
    "notice_create",
    "notice_forward",
    "notice_mark_read",
    "notice_reject",
    "notice_remind",
    "notice_submit",
    "notice_update",
    "notice_withdraw",
    "publish_due",
    "publish_scheduled",
]
