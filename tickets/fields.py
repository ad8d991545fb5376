"""Input limits and display rules the portal forms and the API serializers share, so both accept
and show the same things."""

from __future__ import annotations

from .models import FollowUp, Ticket, TicketMessage

TITLE_MAX = Ticket._meta.get_field("title").max_length
DESCRIPTION_MAX = Ticket._meta.get_field("description").max_length
CONTACT_NAME_MAX = Ticket._meta.get_field("contact_name").max_length
CONTACT_INFO_MAX = Ticket._meta.get_field("contact_info").max_length
SOLUTION_MAX = Ticket._meta.get_field("solution").max_length
FEEDBACK_MAX = Ticket._meta.get_field("feedback").max_length
MESSAGE_MAX = TicketMessage._meta.get_field("body").max_length
OUTCOME_MAX = FollowUp._meta.get_field("outcome").max_length
NUMBER_MAX = Ticket._meta.get_field("number").max_length
REASON_MAX = 2000
SEARCH_MAX = 100


def mask_contact(value: str) -> str:
    """138****0000 for a phone number, z***@example.com for an e-mail address."""
    value = value or ""
    if "@" in value:
        local, _at, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) >= 8:
        return f"{value[:3]}****{value[-4:]}"
    if len(value) >= 3:
        return f"{value[:1]}****{value[-1:]}"
    return "****" if value else ""
