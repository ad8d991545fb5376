"""Technical support tickets (manual 2.4, seed 004): numbers, states, timeline, SLA calendar.

Workflows live in tickets/services.py; this module holds data and its invariants.
"""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.core.files import private_storage
from orgtree.models import OrgUnit


class TicketType(models.TextChoices):
    HARDWARE = "hardware", _("Equipment fault")  # 设备故障
    SOFTWARE = "software", _("Software error")  # 软件异常
    CONSULTATION = "consultation", _("Usage question")  # 操作咨询
    COMPLAINT = "complaint", _("Complaint or suggestion")  # 投诉建议


class Priority(models.TextChoices):
    P1 = "P1", _("P1 urgent")
    P2 = "P2", _("P2 important")
    P3 = "P3", _("P3 normal")
    P4 = "P4", _("P4 low")


class TicketState(models.TextChoices):
    NEW = "new", _("New")  # 待处理
    IN_PROGRESS = "in_progress", _("In progress")  # 处理中
    WAITING_ASKER = "waiting_asker", _("Waiting for the asker")  # 待补充 (SLA clock paused)
    PENDING_REVIEW = "pending_review", _("Answer pending review")  # 待审核
    ANSWERED = "answered", _("Answered")  # 已答复
    RESOLVED = "resolved", _("Resolved")  # 已解决
    CLOSED = "closed", _("Closed")  # 已关闭


class Rating(models.TextChoices):
    VERY_SATISFIED = "very_satisfied", _("Very satisfied")  # 非常满意
    SATISFIED = "satisfied", _("Satisfied")  # 满意
    NEUTRAL = "neutral", _("Neutral")  # 一般
    DISSATISFIED = "dissatisfied", _("Dissatisfied")  # 不满意


class CloseReason(models.TextChoices):
    """Why a ticket closed without the answer being confirmed and rated (empty: the normal way)."""

    WITHDRAWN = "withdrawn", _("Withdrawn by the asker")  # 提问人撤回
    INVALID = "invalid", _("Closed as invalid")  # 无效关闭
    MERGED = "merged", _("Merged into another ticket")  # 合并


# A rating that opens a follow-up for the unit's supervisor (seed 004).
POOR_RATINGS = frozenset({Rating.NEUTRAL, Rating.DISSATISFIED})
# States in which the ticket is somebody's work and its SLA clocks run (unless paused).
ACTIVE_STATES = frozenset({TicketState.NEW, TicketState.IN_PROGRESS, TicketState.PENDING_REVIEW})
OPEN_STATES = ACTIVE_STATES | {TicketState.WAITING_ASKER}

_S = TicketState
# The one transition table: action → (states it may start from, state it leads to). Every state
# change goes through ``services.ticket_transition``, which refuses what this table does not allow;
# the actions a page offers (``selectors.ticket_allowed_actions``) are read off the same table.
# It lives here, with the states, so that the services and the selectors both import it from below.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({_S.NEW}), _S.IN_PROGRESS),
    "request_info": (frozenset({_S.IN_PROGRESS}), _S.WAITING_ASKER),
    "provide_info": (frozenset({_S.WAITING_ASKER}), _S.IN_PROGRESS),
    "submit_answer": (frozenset({_S.IN_PROGRESS}), _S.PENDING_REVIEW),
    # The answering unit has turned review off: the answer goes straight to the asker.
    "answer_direct": (frozenset({_S.IN_PROGRESS}), _S.ANSWERED),
    "approve": (frozenset({_S.PENDING_REVIEW}), _S.ANSWERED),
    "reject": (frozenset({_S.PENDING_REVIEW}), _S.IN_PROGRESS),
    "confirm": (frozenset({_S.ANSWERED}), _S.RESOLVED),
    "reopen": (frozenset({_S.ANSWERED, _S.RESOLVED}), _S.IN_PROGRESS),
    "rate": (frozenset({_S.RESOLVED}), _S.CLOSED),
    "close": (frozenset({_S.RESOLVED}), _S.CLOSED),
    # A breach moves the ticket to the pool above, where the next agent must accept it again.
    "escalate": (frozenset({_S.NEW, _S.IN_PROGRESS}), _S.NEW),
    # 上报 by hand: the same move as a breach's escalation (services.sweep.escalate_one), with a reason.
    "forward": (frozenset({_S.NEW, _S.IN_PROGRESS}), _S.NEW),
    # 转派 to another agent of the same pool, or to another handling group (pool) of the same unit, whose
    # agent must confirm receipt again (so back to 待处理). Not
    # while waiting on the asker: the question asked is the current handler's, and the clock is paused.
    "transfer": (frozenset({_S.NEW, _S.IN_PROGRESS}), _S.NEW),
    # The asker withdraws the question while no approved answer exists (a draft under review is not
    # one); closing ends the ticket, so it can never be rated (rate starts from 已解决 only).
    "withdraw": (frozenset({_S.NEW, _S.IN_PROGRESS, _S.WAITING_ASKER, _S.PENDING_REVIEW}), _S.CLOSED),
    # Staff close a question that is not one (spam, a test, out of scope) with a reason: no rating,
    # no follow-up.
    "close_invalid": (frozenset({_S.NEW, _S.IN_PROGRESS, _S.WAITING_ASKER, _S.PENDING_REVIEW}), _S.CLOSED),
    # A duplicate closes with a link to the ticket that carries on; its thread stays readable.
    "merge": (frozenset({_S.NEW, _S.IN_PROGRESS, _S.WAITING_ASKER, _S.PENDING_REVIEW}), _S.CLOSED),
}
# States no action leaves (closed): the ticket is archived, nothing more is written to it.
FINAL_STATES = frozenset(TicketState.values) - frozenset().union(*(starts for starts, _to in TRANSITIONS.values()))


def transition_allowed(action: str, state: str) -> bool:
    """Whether the table lets ``action`` start from ``state``."""
    return state in TRANSITIONS[action][0]


class TicketDayCounter(models.Model):
    """The last serial issued on one day. Row-locked while a ticket is numbered, in the same
    transaction as the ticket's insert, so numbers are unique and a rolled-back create leaves no gap."""

    day = models.DateField(primary_key=True)
    last_serial = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last_serial}"


# The escalation clock's columns: the sweep reads and writes them together, the admin shows them.
ESCALATION_CLOCK_FIELDS = (
    "escalation_level",
    "escalation_due_at",
    "escalated_at",
    "escalation_exhausted",
    "warn_at",
    "warned_at",
)


class Ticket(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10000)
    type = models.CharField(_("type"), max_length=16, choices=TicketType.choices)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, default=Priority.P3)
    state = models.CharField(_("state"), max_length=16, choices=TicketState.choices, default=TicketState.NEW)
    # No single-column indexes on asker, assignee and pool_unit: the composite list indexes below
    # lead with them, and every index is paid for again on each update the SLA sweep makes.
    asker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asker"),
        on_delete=models.PROTECT,
        related_name="asked_tickets",
        db_index=False,
    )
    # No index of its own: every read by unit goes through unit_path's indexes, and each index is one
    # more write per create and per SLA change. (Deleting a unit that has tickets is refused anyway.)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    # The asker's unit path, copied so that subtree scoping, search and reports use one index on the
    # ticket table instead of joining 500,000 units. Units are not moved by any service.
    unit_path = models.CharField(max_length=255, editable=False)
    contact_name = models.CharField(_("contact"), max_length=50)
    # Optional (an account may have neither phone nor e-mail); when given, a phone number or an e-mail
    # address (fields.validate_contact_info, checked by the service).
    contact_info = models.CharField(_("contact info"), max_length=100, blank=True)
    # The unit whose support pool holds the ticket (分级轮巡) and the agent handling it.
    pool_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("support pool"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pool_tickets",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,
    )
    solution = models.TextField(_("solution"), blank=True, max_length=20000)
    # Set by the creating service (not auto_now_add) so deadlines computed before the insert agree.
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # SLA clocks, persisted so the beat sweep and the SLA view read them instead of recomputing.
    ack_due_at = models.DateTimeField(_("confirm receipt by"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # Time waiting on the asker does not count: the clock stops at paused_at and the pauses so far
    # push the deadlines out, measured both ways because targets are in clock or working time.
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_wall_minutes = models.PositiveIntegerField(_("paused minutes"), default=0)
    paused_working_minutes = models.PositiveIntegerField(_("paused working minutes"), default=0)
    # The deadline that matters now (first response, then resolution); null while paused or done.
    # Drives the due-soon and breached lists.
    next_due_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    # Escalation: each breach moves the ticket one pool up, and the new pool gets a fresh window.
    escalation_level = models.PositiveSmallIntegerField(_("escalations"), default=0)
    escalation_due_at = models.DateTimeField(_("escalates at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("last escalated at"), null=True, blank=True)
    # Set when a breach found no pool above: the ticket is at the top and escalation stops.
    escalation_exhausted = models.BooleanField(default=False)
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    # The earliest moment the SLA sweep has something to do for this ticket (an unconfirmed
    # assignment, a warning or a breach); null when nothing is pending. The sweep reads a partial
    # index on it, so its cost follows the due tickets, not all open ones.
    sla_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    rating = models.CharField(_("satisfaction"), max_length=16, choices=Rating.choices, blank=True)
    feedback = models.TextField(_("feedback"), blank=True, max_length=2000)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    # How a ticket closed when not by rating or archiving (withdrawn, invalid, merged); see CloseReason.
    close_reason = models.CharField(_("closed because"), max_length=16, choices=CloseReason.choices, blank=True)
    # The ticket a duplicate was merged into. Only a partial index (Meta): deleting or archiving a
    # ticket looks for duplicates pointing at it (PROTECT, and PostgreSQL's deferred foreign-key
    # check at commit), which without one is a scan of the whole table per deleted ticket.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["asker", "-id"], name="ticket_asker_recent"),
            models.Index(fields=["assignee", "state", "-id"], name="ticket_assignee_queue"),
            models.Index(fields=["pool_unit", "state", "-id"], name="ticket_pool_queue"),
            models.Index(fields=["unit_path", "-id"], name="ticket_unit_subtree"),
            # A prefecture's and a county's tickets newest first, one key each (selectors._handled).
            # The one subtree test written as Left() rather than scope's path range: a range cannot
            # serve the handled list in id order (see selectors.INDEXED_SUBTREE_LENGTHS for the plans).
            models.Index(Left("unit_path", 12), F("id").desc(), name="ticket_subtree12_recent"),
            models.Index(Left("unit_path", 16), F("id").desc(), name="ticket_subtree16_recent"),
            models.Index(fields=["created_at"], name="ticket_created"),
            models.Index(
                fields=["sla_check_at"], name="ticket_sla_check", condition=models.Q(sla_check_at__isnull=False)
            ),
            models.Index(
                fields=["assignee", "next_due_at"],
                name="ticket_assignee_due",
                condition=models.Q(next_due_at__isnull=False),
            ),
            models.Index(
                fields=["pool_unit", "next_due_at"],
                name="ticket_pool_due",
                condition=models.Q(next_due_at__isnull=False),
            ),
            # Delta sync (selectors.ticket_delta_source): a list's changes since the client's last sync,
            # oldest first, as one index range from the keyset cursor: the handled list of a county
            # or a prefecture (the subtree indexes' keys), a handler's and a pool's lists, and
            # everything (superusers, provinces). An asker's own tickets are few: their index serves.
            models.Index(fields=["updated_at", "id"], name="ticket_updated"),
            models.Index(Left("unit_path", 16), F("updated_at"), F("id"), name="ticket_subtree16_updated"),
            models.Index(Left("unit_path", 12), F("updated_at"), F("id"), name="ticket_subtree12_updated"),
            models.Index(fields=["assignee", "updated_at", "id"], name="ticket_assignee_updated"),
            models.Index(fields=["pool_unit", "updated_at", "id"], name="ticket_pool_updated"),
            # Merged duplicates only: nothing to write for the tickets that are not (nearly all).
            models.Index(
                fields=["merged_into"], name="ticket_merged_into", condition=models.Q(merged_into__isnull=False)
            ),
        ]
        constraints = [
            # Only a closed ticket says why it closed early, and only a merged one names its target.
            models.CheckConstraint(
                condition=models.Q(close_reason="") | models.Q(state=TicketState.CLOSED),
                name="ticket_close_reason_when_closed",
            ),
            models.CheckConstraint(
                condition=models.Q(close_reason=CloseReason.MERGED, merged_into__isnull=False)
                | (~models.Q(close_reason=CloseReason.MERGED) & models.Q(merged_into__isnull=True)),
                name="ticket_merged_into_when_merged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class TicketSearch(models.Model):
    """The searchable text of a ticket (title, description, answer), cut into the pieces described in
    helpdesk/core/search.py, with a GIN full-text index on PostgreSQL. Kept beside the ticket rather than on
    it so the frequent updates of a ticket's clocks and state do not recompute the text's index."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, primary_key=True, related_name="search")
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.ticket_id}"


class PoolTurn(models.Model):
    """Whose turn is next in one support pool (a unit and a handling group): persisted, so round
    robin carries on where it was after a restart. Row-locked while a ticket is assigned."""

    # Every routed ticket updates its pool's row (last_agent). With no index on last_agent the update
    # is a heap-only one (HOT): the row changes in place, with no new entry in every index of the
    # table for each ticket; an index on last_agent made each of them a new row version and five
    # index entries, and left the table and its indexes bloated with dead ones the routing then walks.
    # Unit is covered by the unique (unit, group) index; a deleted user's turns (SET_NULL) are found
    # by scanning this small table.
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("accounts.HandlingGroup", on_delete=models.CASCADE, related_name="+")
    last_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "group"], name="pool_turn_unique")]

    def __str__(self) -> str:
        return f"{self.unit_id}/{self.group_id} → {self.last_agent_id}"


class TicketEvent(models.Model):
    """One line of a ticket's timeline: who did what, when, and what changed."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        ROUTED = "routed", _("Routed")
        ASSIGNED = "assigned", _("Assigned")
        ACCEPTED = "accepted", _("Accepted")
        INFO_REQUESTED = "info_requested", _("More information requested")
        INFO_PROVIDED = "info_provided", _("Information provided")
        PRIORITY_CHANGED = "priority_changed", _("Priority changed")
        # The answer reached the asker: given where review is off (an approval is "reviewed", which
        # the asker reads as this; see selectors.ticket_timeline).
        ANSWERED = "answered", _("Answered")
        # The handler's answer went to the reviewers: a draft, a line for staff only.
        ANSWER_SUBMITTED = "answer_submitted", _("Answer submitted for review")
        REVIEWED = "reviewed", _("Answer approved")
        REJECTED = "rejected", _("Answer rejected")
        ESCALATED = "escalated", _("Escalated")
        # A deadline missed where no pool above can take the ticket: nothing moved, people were told.
        SLA_BREACHED = "sla_breached", _("Deadline missed")
        CONFIRMED = "confirmed", _("Confirmed solved")
        REOPENED = "reopened", _("Reopened")
        RATED = "rated", _("Rated")
        CLOSED = "closed", _("Closed")
        REASSIGNED = "reassigned", _("Passed to the next agent")
        SLA_WARNING = "sla_warning", _("SLA warning")
        FOLLOW_UP = "follow_up", _("Follow-up opened")
        FOLLOW_UP_DONE = "follow_up_done", _("Follow-up done")
        WITHDRAWN = "withdrawn", _("Withdrawn by the asker")
        CLOSED_INVALID = "closed_invalid", _("Closed as invalid")
        TRANSFERRED = "transferred", _("Transferred")
        FORWARDED = "forwarded", _("Forwarded up")
        MERGED = "merged", _("Merged into another ticket")
        MERGE_RECEIVED = "merge_received", _("A duplicate was merged in")

    # Indexed by ticket_event_timeline (ticket, id), which serves every lookup by ticket.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_state = models.CharField(max_length=16, choices=TicketState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=TicketState.choices, blank=True)
    comment = models.TextField(blank=True, max_length=10000)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_event_timeline")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class TicketMessage(models.Model):
    """A reply on the ticket (seen by the asker) or an internal note (agents and reviewers only)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("message"), max_length=10000)
    internal = models.BooleanField(_("internal note"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_message_thread")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {'note' if self.internal else 'reply'} {self.pk}"


def attachment_path(instance: "TicketAttachment", filename: str) -> str:
    # The stored name is ours, never the uploader's: a random name keeps paths unguessable and safe.
    import uuid

    return f"tickets/{instance.ticket_id}/{uuid.uuid4().hex}"


class TicketAttachment(models.Model):
    """A file on a ticket, kept in private storage outside the web root and served only through a
    view that checks the user may see the ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        TicketMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    # Internal attachments belong to internal notes and are hidden from the asker like the note.
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_attachment_list")]

    def __str__(self) -> str:
        return self.original_name


class FollowUp(models.Model):
    """A poor rating (一般 / 不满意) opens this task for the supervisors of the unit that answered."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="follow_up")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="follow_ups")
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.TextField(_("outcome"), blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    # Delta sync of the follow-up list (selectors.follow_up_delta_source): completing one changes it.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["unit", "done_at", "due_at"], name="follow_up_queue"),
            models.Index(fields=["updated_at", "id"], name="follow_up_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} due {self.due_at:%Y-%m-%d %H:%M}"


class SupportSettings(models.Model):
    """A unit's choices for the answers its agents give. Without a row, review is on."""

    unit = models.OneToOneField(OrgUnit, on_delete=models.CASCADE, primary_key=True, related_name="support_settings")
    review_required = models.BooleanField(_("answers are reviewed before the asker sees them"), default=True)

    class Meta:
        verbose_name = _("unit support settings")
        verbose_name_plural = _("unit support settings")

    def __str__(self) -> str:
        return f"{self.unit_id} review={'on' if self.review_required else 'off'}"


class WorkingSchedule(models.Model):
    """The working day used for targets counted in working hours (P3: 8 working hours)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    morning_start = models.TimeField(_("morning starts"), default="08:30")
    morning_end = models.TimeField(_("morning ends"), default="12:00")
    afternoon_start = models.TimeField(_("afternoon starts"), default="13:30")
    afternoon_end = models.TimeField(_("afternoon ends"), default="18:00")
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("working-hour schedule")
        verbose_name_plural = _("working-hour schedules")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_schedule"
            ),
            models.CheckConstraint(
                condition=models.Q(morning_start__lt=models.F("morning_end"))
                & models.Q(morning_end__lte=models.F("afternoon_start"))
                & models.Q(afternoon_start__lt=models.F("afternoon_end")),
                name="schedule_periods_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarOverride(models.Model):
    """An administrator's word on one day, over the official calendar (a local holiday, a makeup day)."""

    day = models.DateField(_("day"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'workday' if self.is_workday else 'holiday'}"


class SLAPolicy(models.Model):
    """Targets for one priority (seed 004). Response: P1 2 h, P2 4 h, P3 8 working hours, P4 24 h."""

    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, unique=True)
    response_minutes = models.PositiveIntegerField(_("first response target (minutes)"))
    response_in_working_hours = models.BooleanField(_("response counted in working hours"), default=False)
    resolution_minutes = models.PositiveIntegerField(_("resolution target (minutes)"))
    resolution_in_working_hours = models.BooleanField(_("resolution counted in working hours"), default=False)
    acknowledge_minutes = models.PositiveIntegerField(_("confirm receipt within (minutes)"), default=60)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["priority"]

    def __str__(self) -> str:
        return self.priority


class CannedReply(models.Model):
    """常用回复: a reply text a unit's support staff insert into a reply instead of typing it again.
    Kept per unit; staff see those of the units they serve and of every unit above them, so a
    province can share its texts with its counties. Unit administrators maintain their subtree's."""

    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="canned_replies")
    title = models.CharField(_("title"), max_length=60)
    body = models.TextField(_("text"), max_length=5000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        # The unit's replies by title: the one read a compose box and the settings page make.
        indexes = [models.Index(fields=["unit", "title"], name="canned_reply_unit")]

    def __str__(self) -> str:
        return self.title
