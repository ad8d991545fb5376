"""API shapes of tickets: strict inputs (unknown fields refused, lengths checked) and the outputs
mobile clients build their screens from.

Contact info is masked in lists (seed 004: 联系方式 需脱敏处理) and shown whole only to the asker
and the staff of the ticket. An answer waiting for review is not the asker's to read yet.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from helpdesk.core.api.delta import UpdatedAfterField
from helpdesk.core.api.serializers import StrictSerializer
from helpdesk.core.search import NO_SEARCH_WORDS, has_words
from orgtree.api.serializers import UnitRefSerializer

from .. import selectors
from ..fields import (
    CONTACT_INFO_MAX,
    CONTACT_NAME_MAX,
    DESCRIPTION_MAX,
    FEEDBACK_MAX,
    MESSAGE_MAX,
    NUMBER_MAX,
    OUTCOME_MAX,
    REASON_MAX,
    SEARCH_MAX,
    SOLUTION_MAX,
    TITLE_MAX,
    mask_contact,
    validate_contact_info,
)
from ..models import (
    CloseReason,
    FollowUp,
    Priority,
    Rating,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
    TicketState,
    TicketType,
)
from ..services.routing import GROUP_FOR_TYPE

# The lists a client can ask for (selectors.ticket_list).
VIEW_CHOICES = [
    ("mine", _("Questions I asked")),
    ("assigned", _("My queue: open tickets assigned to me")),
    ("pool", _("Unassigned or new tickets in my support pools")),
    ("due_soon", _("Open tickets whose deadline is near")),
    ("breached", _("Open tickets past their deadline")),
    ("review", _("Answers waiting for my review")),
    ("handled", _("Everything I may see")),
]


# --- Small references -------------------------------------------------------------------------------
class RatingField(serializers.ChoiceField):
    """The asker's satisfaction, or null while there is none. Stored as "" (a blank CharField), which
    is no value of the enum the schema documents, so "" never goes out: null does, and the schema
    says the field is nullable."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("Null until the asker rates the service."))
        super().__init__(choices=Rating.choices, allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value):
        return super().to_representation(value) or None


class TicketUserSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="username", read_only=True)

    class Meta:
        model = User
        fields = ("id", "account", "name")
        read_only_fields = fields


class TicketRefSerializer(serializers.ModelSerializer):
    rating = RatingField()

    class Meta:
        model = Ticket
        fields = ("id", "number", "title", "state", "rating", "feedback")
        read_only_fields = fields


# --- Tickets ----------------------------------------------------------------------------------------
# Choice columns whose rows also carry the label in the reader's language (``<column>_display``).
LABELLED_CHOICES = frozenset({"type", "priority", "state"})


class TicketListSerializer(serializers.ModelSerializer):
    """A row of a list: what a queue shows, contact info masked."""

    type_display = serializers.CharField(source="get_type_display", read_only=True)
    priority_display = serializers.CharField(source="get_priority_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    unit = UnitRefSerializer(read_only=True)
    asker = TicketUserSerializer(read_only=True)
    assignee = TicketUserSerializer(read_only=True, allow_null=True)
    pool_unit = UnitRefSerializer(read_only=True, allow_null=True)
    contact_info = serializers.SerializerMethodField(help_text=_("Masked, e.g. 138****0000."))
    rating = RatingField()
    due_at = serializers.SerializerMethodField(
        help_text=_(
            "The nearest deadline: confirming receipt while an assignment is unconfirmed, otherwise the "
            "current SLA deadline (`next_due_at`). Null when no clock runs."
        )
    )
    due_status = serializers.SerializerMethodField(
        help_text=_("`overdue`, `due_soon` (within two hours) or an empty string.")
    )

    class Meta:
        model = Ticket
        # The columns the selector reads for a row (selectors.LIST_COLUMNS), each choice followed by
        # its label, then the nearest deadline and its colour.
        fields = (
            *(
                name
                for column in selectors.LIST_COLUMNS
                for name in ((column, f"{column}_display") if column in LABELLED_CHOICES else (column,))
            ),
            "due_at",
            "due_status",
        )
        read_only_fields = fields

    def get_contact_info(self, ticket: Ticket) -> str:
        return mask_contact(ticket.contact_info)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_due_at(self, ticket: Ticket):
        return _DATETIME.to_representation(selectors.nearest_due(ticket))

    @extend_schema_field(serializers.ChoiceField(choices=["overdue", "due_soon", ""]))
    def get_due_status(self, ticket: Ticket) -> str:
        return selectors.due_status(selectors.nearest_due(ticket), timezone.now())

    def to_representation(self, ticket: Ticket) -> dict:
        # A row of selectors.ticket_list_rows carries its references' names; it is built here directly.
        # DRF's generic path cost ~0.4 ms a row (each attribute looked up through inspect.signature, a
        # nested serializer per reference), 8-15 ms of CPU for a page. Anything else (the detail and its
        # extra fields, a ticket with its related rows) takes the generic path; tests check both give
        # the same JSON.
        if type(self) is not TicketListSerializer or "unit_name" not in ticket.__dict__:
            return super().to_representation(ticket)
        due = selectors.nearest_due(ticket)
        moment = _Moments()
        return {
            "id": ticket.id,
            "number": ticket.number,
            "title": ticket.title,
            "type": ticket.type,
            "type_display": str(_TYPE_LABELS.get(ticket.type, ticket.type)),
            "priority": ticket.priority,
            "priority_display": str(_PRIORITY_LABELS.get(ticket.priority, ticket.priority)),
            "state": ticket.state,
            "state_display": str(_STATE_LABELS.get(ticket.state, ticket.state)),
            "unit": {"id": ticket.unit_id, "name": ticket.unit_name},
            "asker": {"id": ticket.asker_id, "account": ticket.asker_account, "name": ticket.asker_name},
            "assignee": (
                None
                if ticket.assignee_id is None
                else {"id": ticket.assignee_id, "account": ticket.assignee_account, "name": ticket.assignee_name}
            ),
            "pool_unit": None
            if ticket.pool_unit_id is None
            else {"id": ticket.pool_unit_id, "name": ticket.pool_unit_name},
            "contact_name": ticket.contact_name,
            "contact_info": mask_contact(ticket.contact_info),
            "rating": ticket.rating or None,
            "created_at": moment(ticket.created_at),
            "updated_at": moment(ticket.updated_at),
            "next_due_at": moment(ticket.next_due_at),
            "escalation_level": ticket.escalation_level,
            "due_at": moment(due),
            "due_status": selectors.due_status(due, timezone.now()),
        }


# Formats a datetime as every DateTimeField of the API does (settings, current time zone).
_DATETIME = serializers.DateTimeField(read_only=True)


class _Moments:
    """Formats datetimes as ``_DATETIME`` does (ISO 8601 in the current time zone, ``Z`` for UTC), the
    time zone looked up once: DRF looks it up for every value through asgiref's context-local and
    Django's lazy settings, and a detail has a dozen values. Naive values take DRF's own path."""

    __slots__ = ("zone",)

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()

    def __call__(self, value: datetime | None) -> str | None:
        if not value:
            return None
        if value.tzinfo is None:
            return _DATETIME.to_representation(value)
        text = value.astimezone(self.zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


# The labels get_FOO_display gives, looked up once: Django's rebuilds a hashable dict of the choices on
# every call, translating each label to hash it (a fifth of the list request's CPU).
_TYPE_LABELS = dict(TicketType.choices)
_PRIORITY_LABELS = dict(Priority.choices)
_STATE_LABELS = dict(TicketState.choices)
_RATING_LABELS = dict(Rating.choices)


class SlaTargetSerializer(serializers.Serializer):
    target = serializers.ChoiceField(
        choices=[
            ("acknowledge", _("Confirm receipt")),
            ("first_response", _("First response")),
            ("resolution", _("Resolution")),
        ],
        read_only=True,
    )
    due_at = serializers.DateTimeField(read_only=True)
    met_at = serializers.DateTimeField(read_only=True, allow_null=True)
    met = serializers.BooleanField(read_only=True)
    seconds_left = serializers.IntegerField(read_only=True, help_text=_("Negative when overdue."))
    overdue = serializers.BooleanField(read_only=True)
    paused = serializers.BooleanField(read_only=True, help_text=_("The clock stops while waiting on the asker."))
    paused_minutes = serializers.IntegerField(read_only=True)


class TicketNumberSerializer(serializers.ModelSerializer):
    """A ticket by id and number only: what the asker of a merged duplicate may learn of the target,
    which they may not be allowed to open."""

    class Meta:
        model = Ticket
        fields = ("id", "number")
        read_only_fields = fields


class TicketDetailSerializer(TicketListSerializer):
    """One ticket as its reader may see it. The view puts ``capabilities``, ``allowed_actions`` and
    ``sla`` in the context, computed once for the request."""

    rating_display = serializers.CharField(source="get_rating_display", read_only=True)
    contact_info = serializers.SerializerMethodField(
        help_text=_("Whole for the asker and the ticket's staff, masked for anyone else.")
    )
    solution = serializers.SerializerMethodField(
        help_text=_("The answer. Empty for the asker until it is approved (or given where review is off).")
    )
    capabilities = serializers.SerializerMethodField(help_text=_("What the reader is to this ticket."))
    close_reason = serializers.ChoiceField(
        choices=[("", ""), *CloseReason.choices],
        read_only=True,
        help_text=_("Why it closed early: withdrawn, invalid or merged; empty otherwise."),
    )
    merged_into = TicketNumberSerializer(
        read_only=True, allow_null=True, help_text=_("The ticket a merged duplicate carries on in.")
    )
    allowed_actions = serializers.SerializerMethodField(
        help_text=_(
            "Actions the reader may take now, e.g. accept, request_info, reply, note, answer, approve, reject, "
            "confirm, reopen, rate, priority, withdraw, close_invalid, transfer, forward, merge; each is "
            "POST /api/v1/tickets/{id}/<action>/ with '_' written '-'."
        )
    )
    sla = serializers.SerializerMethodField()

    class Meta(TicketListSerializer.Meta):
        fields = (
            *TicketListSerializer.Meta.fields,
            "description",
            "solution",
            "rating_display",
            "feedback",
            "rated_at",
            "accepted_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "close_reason",
            "merged_into",
            "capabilities",
            "allowed_actions",
            "sla",
        )
        read_only_fields = fields

    def _is_staff_or_asker(self, ticket: Ticket) -> bool:
        capabilities = self.context.get("capabilities", set())
        return bool(capabilities & (selectors.STAFF_CAPABILITIES | {"asker"}))

    def get_contact_info(self, ticket: Ticket) -> str:
        return ticket.contact_info if self._is_staff_or_asker(ticket) else mask_contact(ticket.contact_info)

    def get_solution(self, ticket: Ticket) -> str:
        if selectors.solution_visible(capabilities=self.context.get("capabilities", set()), ticket=ticket):
            return ticket.solution
        return ""

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=["asker", "agent", "reviewer", "supervisor"]))
    )
    def get_capabilities(self, ticket: Ticket) -> list[str]:
        return sorted(self.context.get("capabilities", set()))

    def get_allowed_actions(self, ticket: Ticket) -> list[str]:
        return list(self.context.get("allowed_actions", []))

    @extend_schema_field(SlaTargetSerializer(many=True))
    def get_sla(self, ticket: Ticket) -> list[dict]:
        return SlaTargetSerializer(self.context.get("sla", []), many=True).data

    def to_representation(self, ticket: Ticket) -> dict:
        # Built here directly, as a list row is: DRF's generic path builds a model serializer's fields
        # afresh for every instance (and those of the four nested ones), about 5 ms of CPU per detail.
        # Every action and, since issue 12, every create answers with the detail; the generic path cost
        # the creates/s a half. The fields above document the shape; a test checks both give the same JSON.
        if type(self) is not TicketDetailSerializer:
            return super().to_representation(ticket)
        capabilities = self.context.get("capabilities", set())
        due = selectors.nearest_due(ticket)
        merged = ticket.merged_into if ticket.merged_into_id else None
        moment = _Moments()
        return {
            "id": ticket.id,
            "number": ticket.number,
            "title": ticket.title,
            "type": ticket.type,
            "type_display": str(_TYPE_LABELS.get(ticket.type, ticket.type)),
            "priority": ticket.priority,
            "priority_display": str(_PRIORITY_LABELS.get(ticket.priority, ticket.priority)),
            "state": ticket.state,
            "state_display": str(_STATE_LABELS.get(ticket.state, ticket.state)),
            "unit": _unit_ref(ticket.unit),
            "asker": _user_ref(ticket.asker),
            "assignee": _user_ref(ticket.assignee),
            "pool_unit": _unit_ref(ticket.pool_unit),
            "contact_name": ticket.contact_name,
            "contact_info": self.get_contact_info(ticket),
            "rating": ticket.rating or None,
            "created_at": moment(ticket.created_at),
            "updated_at": moment(ticket.updated_at),
            "next_due_at": moment(ticket.next_due_at),
            "escalation_level": ticket.escalation_level,
            "due_at": moment(due),
            "due_status": selectors.due_status(due, timezone.now()),
            "description": ticket.description,
            "solution": self.get_solution(ticket),
            "rating_display": str(_RATING_LABELS.get(ticket.rating, ticket.rating)),
            "feedback": ticket.feedback,
            "rated_at": moment(ticket.rated_at),
            "accepted_at": moment(ticket.accepted_at),
            "first_response_at": moment(ticket.first_response_at),
            "resolved_at": moment(ticket.resolved_at),
            "closed_at": moment(ticket.closed_at),
            "close_reason": ticket.close_reason,
            "merged_into": None if merged is None else {"id": merged.pk, "number": merged.number},
            "capabilities": sorted(capabilities),
            "allowed_actions": list(self.context.get("allowed_actions", [])),
            "sla": [
                {
                    "target": row["target"],
                    "due_at": moment(row["due_at"]),
                    "met_at": moment(row["met_at"]),
                    "met": bool(row["met"]),
                    "seconds_left": int(row["seconds_left"]),
                    "overdue": bool(row["overdue"]),
                    "paused": bool(row["paused"]),
                    "paused_minutes": int(row["paused_minutes"]),
                }
                for row in self.context.get("sla", [])
            ],
        }


def _unit_ref(unit) -> dict | None:
    return None if unit is None else {"id": unit.pk, "name": unit.name}


def _user_ref(user) -> dict | None:
    return None if user is None else {"id": user.pk, "account": user.username, "name": user.name}


class TicketCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=TITLE_MAX)
    description = serializers.CharField(max_length=DESCRIPTION_MAX)
    type = serializers.ChoiceField(
        choices=TicketType.choices, help_text=_("设备故障 / 软件异常 / 操作咨询 / 投诉建议.")
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, default=Priority.P3, help_text=_("Proposed by the asker; an agent may change it.")
    )
    contact_name = serializers.CharField(
        max_length=CONTACT_NAME_MAX, required=False, allow_blank=True, help_text=_("Defaults to the asker's name.")
    )
    contact_info = serializers.CharField(
        max_length=CONTACT_INFO_MAX,
        required=False,
        allow_blank=True,
        validators=[validate_contact_info],
        help_text=_(
            "Optional. When given, a phone number (e.g. 13800138000, 022-12345678) or an e-mail address, "
            "else 400. Left out or empty: the asker's account phone, else e-mail, else none."
        ),
    )


class TicketCreateWithFilesSerializer(TicketCreateSerializer):
    """The create as multipart/form-data: the same fields, and the files to attach in one go."""

    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text=_(
            "Files to attach (the field repeated once per file), checked like any attachment: images, logs, "
            "office documents, PDF or archives, size-limited. One refused file is a 400 naming it, and no "
            "ticket is filed."
        ),
    )


class TicketQuerySerializer(serializers.Serializer):
    view = serializers.ChoiceField(
        choices=VIEW_CHOICES,
        required=False,
        help_text=_("Which list; without search filters the default is `handled` (everything you may see)."),
    )
    q = serializers.CharField(
        max_length=SEARCH_MAX, required=False, help_text=_("Words of the title, description or answer (Chinese too).")
    )
    number = serializers.CharField(
        max_length=NUMBER_MAX, required=False, help_text=_("Ticket number, e.g. TS20231027001.")
    )
    state = serializers.ChoiceField(choices=TicketState.choices, required=False)
    type = serializers.ChoiceField(choices=TicketType.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    unit = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text=_("A unit and its subtree.")
    )
    created_from = serializers.DateField(required=False, help_text=_("Created on or after this day."))
    created_to = serializers.DateField(required=False, help_text=_("Created on or before this day."))
    handler = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text=_("The handling agent's id.")
    )
    sort = serializers.ChoiceField(
        choices=[("due", _("Nearest deadline first")), ("new", _("Newest first"))],
        required=False,
        help_text=_(
            "Order of the work lists (assigned, pool, due_soon, breached, review): nearest deadline first by "
            "default. The other lists are always newest first."
        ),
    )

    updated_after = UpdatedAfterField()

    SEARCH_FIELDS = ("q", "number", "state", "type", "priority", "unit", "created_from", "created_to", "handler")

    def validate_q(self, value: str) -> str:
        if not has_words(value):
            raise serializers.ValidationError(NO_SEARCH_WORDS)
        return value

    def validate(self, attrs):
        start, end = attrs.get("created_from"), attrs.get("created_to")
        if start and end and start > end:
            raise serializers.ValidationError({"created_to": [_("The period ends before it starts.")]})
        return attrs


# --- Actions ----------------------------------------------------------------------------------------
class RequestInfoSerializer(StrictSerializer):
    question = serializers.CharField(max_length=MESSAGE_MAX, help_text=_("Posted to the asker as a reply."))


class MessageBodySerializer(StrictSerializer):
    body = serializers.CharField(max_length=MESSAGE_MAX)


class AnswerSerializer(StrictSerializer):
    solution = serializers.CharField(max_length=SOLUTION_MAX)


class ApproveSerializer(StrictSerializer):
    solution = serializers.CharField(
        max_length=SOLUTION_MAX, required=False, help_text=_("Give it to edit the answer as it is approved.")
    )


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=REASON_MAX)


class EmptySerializer(StrictSerializer):
    """No fields; anything sent is refused."""


class CannedReplySerializer(serializers.Serializer):
    """常用回复: a text staff insert into a reply."""

    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    unit = UnitRefSerializer(read_only=True)


class BulkAcceptSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=50,
        help_text=_("Ids of the tickets to accept (at most 50)."),
    )


class BulkTransferSerializer(BulkAcceptSerializer):
    reason = serializers.CharField(max_length=REASON_MAX, help_text=_("Why the tickets are transferred."))
    agent = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        help_text=_("The agent's user id; omit it (or null) for each ticket's next agent in turn."),
    )


class BulkRefusalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    detail = serializers.CharField()


class BulkAcceptResultSerializer(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.IntegerField(), help_text=_("Accepted, now yours."))
    refused = BulkRefusalSerializer(
        many=True, help_text=_("Refused, each with the reason (e.g. taken by another agent).")
    )
    not_found = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("No such ticket, or not one you may see.")
    )


class BulkTransferResultSerializer(serializers.Serializer):
    transferred = serializers.ListField(child=serializers.IntegerField(), help_text=_("Transferred."))
    refused = BulkRefusalSerializer(many=True, help_text=_("Refused, each with the reason."))
    not_found = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("No such ticket, or not one you may see.")
    )


class WithdrawSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=REASON_MAX, required=False, allow_blank=True, default="", help_text=_("Optional.")
    )


class TransferSerializer(StrictSerializer):
    agent = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "The user id of another on-duty agent of the ticket's pool who handles its type (with `group`: "
            "of that group at the same unit); omit it (or null) for the pool's next agent in turn."
        ),
    )
    group = serializers.ChoiceField(
        choices=sorted(set(GROUP_FOR_TYPE.values())),
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "Another handling group (pool) of the same unit to transfer to, by code: hardware, software, "
            "training or complaints. Each group serves one type, so the ticket takes that group's type "
            "(software: 软件异常, training: 操作咨询, complaints: 投诉建议, hardware: 设备故障)."
        ),
    )
    reason = serializers.CharField(max_length=REASON_MAX)


class MergeSerializer(StrictSerializer):
    into = serializers.IntegerField(
        min_value=1,
        help_text=_("The id of the ticket that carries on: open, of the same asker or the same unit, one you support."),
    )
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True, default="")


class RateSerializer(StrictSerializer):
    rating = serializers.ChoiceField(
        choices=Rating.choices, help_text=_("非常满意 / 满意 / 一般 / 不满意; 一般 and 不满意 open a follow-up.")
    )
    feedback = serializers.CharField(max_length=FEEDBACK_MAX, required=False, allow_blank=True, default="")


class PrioritySerializer(StrictSerializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    reason = serializers.CharField(max_length=REASON_MAX)


# --- Thread: timeline, messages, attachments -----------------------------------------------------------
# Plain strings, not enums, in the schema: the timeline gains kinds as the service grows, and a
# generated client refuses an enum value it does not know. (An enum named "kind" would also clash
# with the org tree's unit kind.)
_EVENT_KIND_SCHEMA = {
    "type": "string",
    "description": "What happened; one of " + ", ".join(TicketEvent.Kind.values) + " (more may come).",
}
_EVENT_STATE_SCHEMA = {"type": "string", "description": "A ticket state (see `state`); empty when none changed."}


class TicketEventSerializer(serializers.ModelSerializer):
    actor = TicketUserSerializer(read_only=True, allow_null=True)
    kind = serializers.SerializerMethodField()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    from_state = serializers.SerializerMethodField()
    to_state = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ("id", "kind", "kind_display", "actor", "from_state", "to_state", "comment", "data", "created_at")
        read_only_fields = fields

    @extend_schema_field(_EVENT_KIND_SCHEMA)
    def get_kind(self, event: TicketEvent) -> str:
        return event.kind

    @extend_schema_field(_EVENT_STATE_SCHEMA)
    def get_from_state(self, event: TicketEvent) -> str:
        return event.from_state

    @extend_schema_field(_EVENT_STATE_SCHEMA)
    def get_to_state(self, event: TicketEvent) -> str:
        return event.to_state


class TicketMessageSerializer(serializers.ModelSerializer):
    author = TicketUserSerializer(read_only=True)

    class Meta:
        model = TicketMessage
        fields = ("id", "author", "body", "internal", "created_at")
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = TicketUserSerializer(read_only=True)
    download_url = serializers.SerializerMethodField(help_text=_("Where the file is fetched, with the same auth."))

    class Meta:
        model = TicketAttachment
        fields = (
            "id",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "internal",
            "message",
            "uploaded_by",
            "created_at",
            "download_url",
        )
        read_only_fields = fields

    def get_download_url(self, attachment: TicketAttachment) -> str:
        url = reverse(
            "api-tickets-attachment-download",
            kwargs={"pk": attachment.ticket_id, "attachment_id": attachment.pk},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class AttachmentUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text=_("Images, logs, office documents, PDF or archives; size-limited."))
    internal = serializers.BooleanField(
        required=False, default=False, help_text=_("Staff only: a file the asker does not see.")
    )


# --- Follow-ups and unit settings --------------------------------------------------------------------
class FollowUpSerializer(serializers.ModelSerializer):
    ticket = TicketRefSerializer(read_only=True)
    unit = UnitRefSerializer(read_only=True, help_text=_("The answering unit, whose supervisors follow up."))
    asker_unit = UnitRefSerializer(source="ticket.unit", read_only=True, help_text=_("The asker's unit (the school)."))
    done_by = TicketUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = FollowUp
        fields = ("id", "ticket", "unit", "asker_unit", "due_at", "done_at", "done_by", "outcome", "created_at")
        read_only_fields = fields


class FollowUpQuerySerializer(serializers.Serializer):
    open = serializers.BooleanField(required=False, default=False, help_text=_("Only the follow-ups not yet done."))
    updated_after = UpdatedAfterField()


class FollowUpCompleteSerializer(StrictSerializer):
    outcome = serializers.CharField(
        max_length=OUTCOME_MAX, help_text=_("What the asker said and what will change (seed 004).")
    )


class SupportSettingsSerializer(serializers.Serializer):
    unit = serializers.IntegerField(read_only=True)
    review_required = serializers.BooleanField(
        read_only=True, help_text=_("Answers go to a reviewer before the asker sees them.")
    )


class SupportSettingsUpdateSerializer(StrictSerializer):
    review_required = serializers.BooleanField()
