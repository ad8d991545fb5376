"""Portal forms for tickets. They collect and shape input; the rules live in tickets.services, whose
ValidationErrors the views copy onto the form (``helpdesk.core.forms.apply_errors``) so the user reads
them next to the field they concern."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.core.search import NO_SEARCH_WORDS, has_words

from .fields import (
    CONTACT_INFO_MAX,
    CONTACT_NAME_MAX,
    DESCRIPTION_MAX,
    FEEDBACK_MAX,
    MESSAGE_MAX,
    OUTCOME_MAX,
    REASON_MAX,
    SOLUTION_MAX,
    TITLE_MAX,
    validate_contact_info,
)
from .models import Priority, Rating, TicketState, TicketType
from .services.attachments import (
    ALLOWED_EXTENSIONS,
    attachment_max_bytes,
    attachment_max_per_message,
    inspect_upload,
)

ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in sorted(ALLOWED_EXTENSIONS))


def textarea(rows: int = 4, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (images, logs, documents). Each is checked by content here, with
    the same rules attachment_add applies, so a bad file is reported before anything is saved."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = [upload for upload in (data if isinstance(data, list | tuple) else [data]) if upload]
        if self.required and not uploads:
            raise ValidationError(self.error_messages["required"], code="required")
        limit = attachment_max_per_message()
        if len(uploads) > limit:
            raise ValidationError(_("Attach at most %(count)d files at a time.") % {"count": limit})
        errors = []
        for upload in uploads:
            try:
                inspect_upload(upload)
            except ValidationError as exc:
                for message in exc.messages:
                    errors.append(f"{upload.name}: {message}")
        if errors:
            raise ValidationError(errors)
        return uploads


def attachments_help() -> str:
    size = f"{attachment_max_bytes() / (1024 * 1024):g}"
    return _("Images, logs and documents, at most %(size)s MB each.") % {"size": size}


class TicketCreateForm(forms.Form):
    """问题咨询: what the manual's form asks for."""

    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    description = forms.CharField(label=_("Description"), max_length=DESCRIPTION_MAX, widget=textarea(7))
    type = forms.ChoiceField(label=_("Type"), choices=TicketType.choices)
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        initial=Priority.P3,
        help_text=_("Your proposal; the support agent may change it."),
    )
    contact_name = forms.CharField(label=_("Contact"), max_length=CONTACT_NAME_MAX)
    contact_info = forms.CharField(
        label=_("Contact info"),
        max_length=CONTACT_INFO_MAX,
        required=False,
        validators=[validate_contact_info],
        help_text=_("A phone number or an e-mail address; left empty, your account's is used."),
    )
    attachments = MultipleFileField(label=_("Attachments"))


class MessageForm(forms.Form):
    """A reply the asker sees, or an internal note (same shape, different action). The compose box's
    one file control is this form's: files alone (a screenshot) are attached to the ticket without a
    message, so the text is needed only when there is no file."""

    body = forms.CharField(label=_("Message"), max_length=MESSAGE_MAX, widget=textarea(3), required=False)
    attachments = MultipleFileField(label=_("Attachments"))

    def clean(self):
        data = super().clean()
        if not (data.get("body") or "").strip() and not data.get("attachments") and "attachments" not in self.errors:
            self.add_error("body", _("Write a message or attach a file."))
        return data


class AttachForm(forms.Form):
    attachments = MultipleFileField(label=_("Files"), required=True)


class RequestInfoForm(forms.Form):
    question = forms.CharField(label=_("What do you need to know?"), max_length=MESSAGE_MAX, widget=textarea(3))


class AnswerForm(forms.Form):
    solution = forms.CharField(label=_("Answer"), max_length=SOLUTION_MAX, widget=textarea(6))


class ApproveForm(forms.Form):
    """Approve as written, or edit the answer and approve the edited text."""

    solution = forms.CharField(label=_("Answer"), max_length=SOLUTION_MAX, widget=textarea(6))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, widget=textarea(3))


class ConfirmForm(forms.Form):
    pass


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=REASON_MAX, widget=textarea(2))


class TransferForm(forms.Form):
    """转派: the choices (the pool's other on-duty agents, the unit's other staffed handling groups)
    are set by the view for the ticket."""

    agent = forms.TypedChoiceField(label=_("Transfer to"), coerce=int, choices=(), required=False, empty_value=None)
    group = forms.ChoiceField(
        label=_("Or to another handling group of this unit"),
        choices=(),
        required=False,
        help_text=_("Its next agent in turn takes the ticket, which takes the type that group handles."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, widget=textarea(2))

    def __init__(self, *args, agents=(), groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [
            ("", _("The pool's next agent in turn")),
            *[(user.pk, user.name or user.username) for user in agents],
        ]
        self.fields["group"].choices = [("", _("This group")), *[(group.code, group.name) for group in groups]]
        if not groups:
            # No other group of the unit has an agent on duty: nothing to choose.
            del self.fields["group"]

    def clean(self):
        data = super().clean()
        if data.get("group") and data.get("agent") is not None:
            # The agents listed are this group's: a choice of agent and another group contradict.
            self.add_error("group", _("Choose an agent of this group or another group, not both."))
        data.setdefault("group", "")
        return data


class MergeForm(forms.Form):
    into = forms.CharField(
        label=_("Merge into ticket number"),
        max_length=20,
        help_text=_("A ticket of the same asker or the same unit, e.g. TS20261205001."),
    )
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=REASON_MAX, widget=textarea(2))


AcceptForm = ConfirmForm


class RateForm(forms.Form):
    rating = forms.ChoiceField(label=_("How satisfied are you?"), choices=Rating.choices, widget=forms.RadioSelect)
    feedback = forms.CharField(label=_("Comment"), required=False, max_length=FEEDBACK_MAX, widget=textarea(3))


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)


class FollowUpForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=OUTCOME_MAX, widget=textarea(3))


class SupportSettingsForm(forms.Form):
    unit = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    review_required = forms.BooleanField(
        label=_("Answers of this unit are reviewed before the asker sees them"), required=False
    )

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(unit.pk, unit.name) for unit in units]


class PeriodFilterForm(forms.Form):
    """The asking period both ticket filters share (答案查询 and the workbench): from and until, the
    last day included, an impossible or reversed period a form error."""

    created_from = forms.DateField(
        label=_("Asked from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(label=_("Asked until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The period ends before it starts."))
        return cleaned

    def period(self) -> tuple[datetime | None, datetime | None]:
        """The period as aware datetimes in the platform's time zone; the last day is included."""
        start, end = self.cleaned_data.get("created_from"), self.cleaned_data.get("created_to")
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(start, time.min, tzinfo=zone) if start else None,
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone) if end else None,
        )


class SearchForm(PeriodFilterForm):
    """答案查询: number, words, state, type, priority, unit and period."""

    field_order = ("q", "number", "state", "type", "priority", "unit", "created_from", "created_to", "scope")

    q = forms.CharField(
        label=_("Words"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"})
    )
    number = forms.CharField(
        label=_("Number"), required=False, max_length=20, widget=forms.TextInput(attrs={"placeholder": "TS20231027001"})
    )
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("All states")), *TicketState.choices])
    type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("All types")), *TicketType.choices])
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("All priorities")), *Priority.choices]
    )
    unit = forms.CharField(
        label=_("Unit code"), required=False, max_length=32, help_text=_("The unit and every unit below it.")
    )
    scope = forms.ChoiceField(
        label=_("Search in"),
        required=False,
        choices=[("mine", _("My questions")), ("handled", _("Tickets of my units"))],
    )

    def __init__(self, *args, staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not staff:
            # Askers search their own questions only.
            del self.fields["scope"]
            del self.fields["unit"]

    def clean_q(self) -> str:
        words = self.cleaned_data["q"]
        if words and not has_words(words):
            raise ValidationError(NO_SEARCH_WORDS)
        return words


class ListFilterForm(PeriodFilterForm):
    """The workbench's filters (GET): type, priority, state, unit, handler, period and order. A value
    that is not one of the choices, an unknown unit code or an impossible date is a form error shown
    above the list, never a 500."""

    type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("All types")), *TicketType.choices])
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("All priorities")), *Priority.choices]
    )
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("All states")), *TicketState.choices])
    unit = forms.CharField(
        label=_("Unit code"), required=False, max_length=32, help_text=_("The unit and every unit below it.")
    )
    handler = forms.CharField(label=_("Handler account"), required=False, max_length=150)
    sort = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[("due", _("Nearest deadline first")), ("new", _("Newest first"))],
    )

    FILTERS = ("type", "priority", "state", "unit", "handler", "created_from", "created_to")
    field_order = (*FILTERS, "sort")

    def __init__(self, *args, sortable: bool = True, staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not sortable:
            # The history lists are newest first only (selectors.DEADLINE_SORTABLE says why).
            del self.fields["sort"]
        if not staff:
            # An asker's own questions: their unit and nobody else's handler to filter by.
            del self.fields["unit"]

    def active(self) -> bool:
        """Whether any filter narrows the list (the order alone does not)."""
        return self.is_bound and any(self.data.get(name) for name in self.FILTERS)


class CannedReplyForm(forms.Form):
    """常用回复: a new canned reply for one of the units the administrator administers."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, empty_label=None)
    title = forms.CharField(label=_("Title"), max_length=60)
    body = forms.CharField(label=_("Text"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class BulkTransferForm(forms.Form):
    """转派 of the workbench's checked rows: one reason for all, and the agent's account (blank: each
    ticket's next agent in turn)."""

    agent = forms.CharField(label=_("To agent (account)"), required=False, max_length=150)
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}))
