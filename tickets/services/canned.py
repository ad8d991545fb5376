"""常用回复: unit administrators keep the canned replies of the units they administer. Staff use them
from the compose box (selectors.canned_replies); only these two writes change them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.scope import scope_of
from orgtree.models import OrgUnit

from ..models import CannedReply

# How many a unit keeps: a picker of hundreds is no quicker than typing.
CANNED_PER_UNIT = 100


def canned_reply_create(*, actor: User, unit: OrgUnit, title: str, body: str) -> CannedReply:
    if not scope_of(actor).manages_unit(unit):
        raise ValidationError({"unit": [_("You do not administer this unit.")]})
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ValidationError({"title": [_("Give the reply a title.")]})
    if not body:
        raise ValidationError({"body": [_("Write the reply's text.")]})
    if CannedReply.objects.filter(unit=unit).count() >= CANNED_PER_UNIT:
        raise ValidationError({"unit": [_("This unit already keeps the most canned replies it may.")]})
    return CannedReply.objects.create(unit=unit, title=title, body=body, created_by=actor)


def canned_reply_delete(*, actor: User, reply: CannedReply) -> None:
    if not scope_of(actor).manages_unit(reply.unit):
        raise ValidationError({"unit": [_("You do not administer this unit.")]})
    reply.delete()
