"""Portal forms of notices: the editor (with its audience picker), forwarding, review decisions,
withdrawal and 公告查询. Forms only collect input; the rules (the subtree bound above all) are the
services', whose errors the views put back on these fields (``helpdesk.core.forms.apply_errors``)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from orgtree.models import OrgLevel, OrgUnit

from .models import BODY_MAX, NOTE_MAX, TITLE_MAX, AudienceKind, AudienceMode, Importance, NoticeState
from .services import NoticeInput

# Services name the chosen units ``audience_units``; the form splits them over two fields.
ALIASES = {"audience_units": "units", "unit": "unit"}
MAX_CHILD_CHOICES = 300


def _local(attrs=None):
    return forms.DateTimeInput(attrs={"type": "datetime-local", **(attrs or {})}, format="%Y-%m-%dT%H:%M")


class NoticeForm(forms.Form):
    unit = forms.TypedChoiceField(label=_("Publishing unit"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    body = forms.CharField(
        label=_("Text"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 10}), help_text=_("Markdown.")
    )
    cover_note = forms.CharField(
        label=_("Cover note"), max_length=BODY_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    importance = forms.ChoiceField(label=_("Importance"), choices=Importance.choices, initial=Importance.NORMAL)
    audience_mode = forms.ChoiceField(
        label=_("Who receives it"), choices=AudienceMode.choices, initial=AudienceMode.SUBTREE, widget=forms.RadioSelect
    )
    units = forms.TypedMultipleChoiceField(
        label=_("Units one level down"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    unit_codes = forms.CharField(
        label=_("Other units by code"),
        required=False,
        max_length=20000,
        help_text=_("Unit codes of units further down, separated by commas, spaces or new lines."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    chosen_with_subtrees = forms.BooleanField(label=_("Include the units below the chosen units"), required=False)
    audience_levels = forms.TypedMultipleChoiceField(
        label=_("Levels"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    audience_kinds = forms.MultipleChoiceField(
        label=_("Only these roles"),
        choices=AudienceKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty for everyone in the audience."),
    )
    receipt_required = forms.BooleanField(label=_("Ask for a read receipt (回执)"), required=False)
    valid_from = forms.DateTimeField(label=_("Valid from"), required=False, widget=_local())
    valid_until = forms.DateTimeField(label=_("Valid until"), required=False, widget=_local())
    publish_at = forms.DateTimeField(
        label=_("Publish at"),
        required=False,
        widget=_local(),
        help_text=_("Leave empty to publish as soon as the reviewer approves."),
    )
    attachment = forms.FileField(label=_("Attachment"), required=False)

    def __init__(self, *args, units: list[OrgUnit], notice=None, forwarding=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.notice = notice
        self.forwarding = forwarding or (notice.content_notice if notice is not None and notice.origin_id else None)
        self.fields["unit"].choices = [(unit.pk, unit.name) for unit in units]
        if notice is not None:
            self.fields["unit"].disabled = True
        if self.forwarding is not None:
            # A forward carries the original's text: only the cover note, audience and options are its own.
            for name in ("title", "body"):
                del self.fields[name]
            self.fields["cover_note"].required = True
        else:
            del self.fields["cover_note"]
        own = self.publishing_unit() or (units[0] if units else None)
        children = list(OrgUnit.objects.get_children(own)[:MAX_CHILD_CHOICES]) if own is not None else []
        self.fields["units"].choices = [(child.pk, child.name) for child in children]
        lowest = own.level if own is not None and own.level is not None else 0
        self.fields["audience_levels"].choices = [(v, label) for v, label in OrgLevel.choices if v >= lowest]

    def publishing_unit(self) -> OrgUnit | None:
        if self.notice is not None:
            return self.notice.unit
        raw = self.data.get("unit") if self.is_bound else None
        choices = {str(pk) for pk, _label in self.fields["unit"].choices}
        if raw in choices:
            return OrgUnit.objects.filter(pk=int(raw)).first()
        return None

    def clean_unit_codes(self) -> list[OrgUnit]:
        codes = [code for code in re.split(r"[\s,，;；]+", self.cleaned_data.get("unit_codes") or "") if code]
        found = {unit.code: unit for unit in OrgUnit.objects.filter(code__in=codes[:1000])}
        missing = [code for code in codes if code not in found]
        if missing:
            raise forms.ValidationError(
                _("No unit has the code %(codes)s.") % {"codes": "、".join(missing[:10])}, code="unknown"
            )
        return [found[code] for code in codes]

    def notice_input(self) -> NoticeInput:
        data = self.cleaned_data
        chosen = list(OrgUnit.objects.filter(pk__in=data.get("units") or []))
        chosen += [unit for unit in data.get("unit_codes") or [] if unit.pk not in {u.pk for u in chosen}]
        return NoticeInput(
            title=data.get("title", ""),
            body=data.get("body", ""),
            importance=data["importance"],
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
            receipt_required=data.get("receipt_required", False),
            audience_mode=data["audience_mode"],
            audience_units=chosen if data["audience_mode"] == AudienceMode.UNITS else [],
            chosen_with_subtrees=data.get("chosen_with_subtrees", False),
            audience_levels=data.get("audience_levels") or [] if data["audience_mode"] == AudienceMode.LEVELS else [],
            audience_kinds=data.get("audience_kinds") or [],
            publish_at=data.get("publish_at"),
            cover_note=data.get("cover_note", ""),
        )

    @classmethod
    def initial_for(cls, notice) -> dict:
        chosen = list(notice.chosen_units.order_by("path"))
        return {
            "unit": notice.unit_id,
            "title": notice.title,
            "body": notice.body,
            "cover_note": notice.cover_note,
            "importance": notice.importance,
            "audience_mode": notice.audience_mode,
            "units": [unit.pk for unit in chosen if unit.depth == notice.unit.depth + 1],
            "unit_codes": ", ".join(unit.code for unit in chosen if unit.depth != notice.unit.depth + 1),
            "chosen_with_subtrees": notice.chosen_with_subtrees,
            "audience_levels": notice.audience_levels,
            "audience_kinds": notice.audience_kinds,
            "receipt_required": notice.receipt_required,
            "valid_from": notice.valid_from,
            "valid_until": notice.valid_until,
            "publish_at": notice.publish_at,
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=NOTE_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Attachment"))


BOOL_CHOICES = [("", _("All")), ("unread", _("Unread")), ("read", _("Read"))]


class SearchForm(forms.Form):
    """公告查询: the filters of the inbox and the sent list."""

    q = forms.CharField(label=_("Words"), required=False, max_length=100)
    unit = forms.CharField(label=_("Sender unit code"), required=False, max_length=32)
    after = forms.DateField(label=_("Published from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.DateField(label=_("Published until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    state = forms.ChoiceField(label=_("State"), required=False)
    importance = forms.ChoiceField(
        label=_("Importance"), required=False, choices=[("", _("All")), *list(Importance.choices)]
    )
    read = forms.ChoiceField(label=_("Read"), required=False, choices=BOOL_CHOICES)

    def __init__(self, *args, received: bool, **kwargs):
        super().__init__(*args, **kwargs)
        states = (
            NoticeState.choices
            if not received
            else [(s.value, s.label) for s in (NoticeState.PUBLISHED, NoticeState.WITHDRAWN)]
        )
        self.fields["state"].choices = [("", _("All")), *list(states)]
        if not received:
            del self.fields["read"]

    def clean_unit(self) -> OrgUnit | None:
        code = (self.cleaned_data.get("unit") or "").strip()
        if not code:
            return None
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            raise forms.ValidationError(_("No unit has this code."))
        return unit

    def clean(self):
        data = super().clean()
        if data.get("after") and data.get("before") and data["before"] < data["after"]:
            self.add_error("before", _("The end of the period must not come before its start."))
        return data
