"""Input limits and display rules the portal forms and the API serializers share, so both accept
and show the same things."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

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


# A phone number as people write it: mobile (13800138000, +86 138 0013 8000) or landline with its area
# code (022-12345678, (010) 8765 4321): digits once spaces, hyphens and brackets are taken out, with
# an optional leading +, 7 to 15 of them (15 is the longest international number, E.164).
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")
_PHONE = re.compile(r"\+?\d{7,15}")
CONTACT_INFO_ERROR = _("Enter a phone number (such as 13800138000 or 022-12345678) or an e-mail address.")


def validate_contact_info(value: str) -> None:
    """Contact info, when given, is a phone number or an e-mail address (seed 004: 电话/邮箱);
    anything else ("abc") is refused with one message naming both."""
    text = (value or "").strip()
    if not text:
        return
    if "@" in text:
        try:
            validate_email(text)
        except ValidationError:
            raise ValidationError(CONTACT_INFO_ERROR, code="invalid") from None
        return
    if not _PHONE.fullmatch(_PHONE_SEPARATORS.sub("", text)):
        raise ValidationError(CONTACT_INFO_ERROR, code="invalid")
