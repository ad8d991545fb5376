"""Every write to tickets. ``from tickets import services`` gives the whole surface."""

from .actions import ticket_close_invalid, ticket_forward, ticket_merge, ticket_transfer, ticket_withdraw
from .attachments import (
    ALLOWED_EXTENSIONS,
    attachment_add,
    attachment_max_bytes,
    attachment_max_per_message,
    attachment_max_per_ticket,
    inspect_upload,
    is_inline_type,
    sanitize_filename,
)
from .canned import canned_reply_create, canned_reply_delete
from .core import (
    TRANSITIONS,
    notify_ticket,
    ticket_accept,
    ticket_change_priority,
    ticket_number_for,
    ticket_transition,
)
from .intake import ticket_create, tickets_notify_new
from .routing import GROUP_FOR_TYPE, ticket_route, tickets_follow_unit_move
from .sla import DEFAULT_SLA, refresh_sla_schedule, sla_policy_for, ticket_compute_deadlines, ticket_sla
from .sweep import sla_sweep
from .workflow import (
    FOLLOW_UP_WITHIN,
    follow_up_complete,
    support_settings_set,
    ticket_add_note,
    ticket_approve,
    ticket_confirm,
    ticket_rate,
    ticket_reject,
    ticket_reopen,
    ticket_reply,
    ticket_request_info,
    ticket_submit_answer,
    tickets_archive_resolved,
)

__all__ = [
    "ALLOWED_EXTENSIONS",
    "DEFAULT_SLA",
    "FOLLOW_UP_WITHIN",
    "GROUP_FOR_TYPE",
    "TRANSITIONS",
    "attachment_add",
    "attachment_max_bytes",
    "attachment_max_per_message",
    "attachment_max_per_ticket",
    "canned_reply_create",
    "canned_reply_delete",
    "follow_up_complete",
    "inspect_upload",
    "is_inline_type",
    "notify_ticket",
    "refresh_sla_schedule",
    "sanitize_filename",
    "sla_policy_for",
    "sla_sweep",
    "support_settings_set",
    "ticket_accept",
    "ticket_add_note",
    "ticket_approve",
    "ticket_change_priority",
    "ticket_close_invalid",
    "ticket_compute_deadlines",
    "ticket_confirm",
    "ticket_create",
    "ticket_forward",
    "ticket_merge",
    "ticket_number_for",
    "ticket_rate",
    "ticket_reject",
    "ticket_reopen",
    "ticket_reply",
    "ticket_request_info",
    "ticket_route",
    "ticket_sla",
    "ticket_submit_answer",
    "ticket_transfer",
    "ticket_transition",
    "ticket_withdraw",
    "tickets_archive_resolved",
    "tickets_follow_unit_move",
    "tickets_notify_new",
]
