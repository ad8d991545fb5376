from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import working_time
from .models import (
    ESCALATION_CLOCK_FIELDS,
    CalendarOverride,
    FollowUp,
    PoolTurn,
    SLAPolicy,
    SupportSettings,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
    WorkingSchedule,
)


class CalendarCoverageWarningMixin:
    """Warns on the changelist when the official calendar does not cover this year or the next.

    Deadlines then fall back to Monday–Friday, so the administrator has to enter that year's
    holidays and adjusted working days as overrides; the warning says so where they are edited.
    """

    def changelist_view(self, request, extra_context=None):
        # Only on GET: an action's POST redirects back here, and the message would show twice.
        if request.method == "GET":
            today = timezone.localdate()
            for year in working_time.calendar_years_unknown([today.year, today.year + 1]):
                messages.warning(
                    request,
                    gettext(
                        "The official calendar (chinese-calendar) has no holiday data for %(year)s: working days "
                        "are counted Monday to Friday. Add that year's holidays and adjusted working days here."
                    )
                    % {"year": year},
                )
        return super().changelist_view(request, extra_context)


@admin.register(WorkingSchedule)
class WorkingScheduleAdmin(CalendarCoverageWarningMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "morning_start",
        "morning_end",
        "afternoon_start",
        "afternoon_end",
        "hours_per_day",
        "is_default",
    )
    list_filter = ("is_default",)
    search_fields = ("name",)

    @admin.display(description=_("working hours per day"))
    def hours_per_day(self, obj: WorkingSchedule) -> str:
        try:
            minutes = working_time.working_time_per_day(obj) // timedelta(minutes=1)
        except ValueError:
            return "—"
        return f"{minutes // 60}:{minutes % 60:02d}"


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(CalendarCoverageWarningMixin, admin.ModelAdmin):
    list_display = ("day", "weekday", "is_workday", "official_calendar", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "day"

    @admin.display(description=_("weekday"), ordering="day")
    def weekday(self, obj: CalendarOverride) -> str:
        return date_format(obj.day, "l")

    @admin.display(description=_("official calendar"))
    def official_calendar(self, obj: CalendarOverride) -> str:
        # What the day would be without this override, so a redundant or surprising one stands out.
        if working_time.calendar_years_unknown([obj.day.year]):
            return gettext("no data (Monday to Friday)")
        return gettext("working day") if working_time.is_working_day(obj.day) else gettext("day off")


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "priority",
        "acknowledge_minutes",
        "response_minutes",
        "response_in_working_hours",
        "resolution_minutes",
        "resolution_in_working_hours",
    )
    list_filter = ("response_in_working_hours", "resolution_in_working_hours")
    search_fields = ("priority",)

    def has_delete_permission(self, request, obj=None):
        # Every priority needs its targets: a policy is changed, never removed.
        return False


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "from_state", "to_state", "comment", "data")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        # The timeline is written by the services only.
        return False


class TicketMessageInline(admin.TabularInline):
    model = TicketMessage
    extra = 0
    can_delete = False
    fields = ("created_at", "author", "internal", "body")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TicketAttachmentInline(admin.TabularInline):
    model = TicketAttachment
    extra = 0
    can_delete = False
    fields = ("created_at", "uploaded_by", "original_name", "content_type", "size", "internal")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("number", "title", "type", "priority", "state", "unit", "pool_unit", "assignee", "created_at")
    list_filter = ("state", "type", "priority", "unit__level")
    search_fields = ("number", "title")
    list_select_related = ("unit", "pool_unit", "assignee")
    # State, number and timeline change only through the services, which enforce the transition table.
    # Clocks, rating and escalation are the services' and the sweep's to set.
    readonly_fields = (
        "number",
        "state",
        "asker",
        "unit",
        "pool_unit",
        "assignee",
        "created_at",
        "updated_at",
        "closed_at",
        "ack_due_at",
        "response_due_at",
        "resolution_due_at",
        "accepted_at",
        "first_response_at",
        "resolved_at",
        "paused_at",
        "paused_wall_minutes",
        "paused_working_minutes",
        "next_due_at",
        *ESCALATION_CLOCK_FIELDS,
        "rating",
        "feedback",
        "rated_at",
        "priority",
        "solution",
        # Set by withdraw, close as invalid and merge (services.actions), with their timeline lines.
        "close_reason",
        "merged_into",
    )
    inlines = [TicketEventInline, TicketMessageInline, TicketAttachmentInline]
    show_full_result_count = False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("ticket", "unit", "due_at", "done_at", "done_by")
    list_filter = ("done_at",)
    search_fields = ("ticket__number", "unit__name")
    list_select_related = ("ticket", "unit", "done_by")
    readonly_fields = ("ticket", "unit", "due_at", "done_at", "done_by", "outcome", "created_at")


@admin.register(SupportSettings)
class SupportSettingsAdmin(admin.ModelAdmin):
    list_display = ("unit", "review_required")
    list_filter = ("review_required",)
    search_fields = ("unit__name", "unit__code")
    raw_id_fields = ("unit",)


@admin.register(PoolTurn)
class PoolTurnAdmin(admin.ModelAdmin):
    """The support pools that have taken tickets, and whose turn was last. Duty status and handling
    groups are edited on the agents' role assignments."""

    list_display = ("unit", "group", "last_agent")
    list_filter = ("group",)
    search_fields = ("unit__name", "unit__code")
    list_select_related = ("unit", "group", "last_agent")
    readonly_fields = ("unit", "group", "last_agent")

    def has_add_permission(self, request) -> bool:
        return False
