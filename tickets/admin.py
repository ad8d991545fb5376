from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import working_time
from .models import CalendarOverride, SLAPolicy, Ticket, TicketEvent, WorkingSchedule


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
        "name", "morning_start", "morning_end", "afternoon_start", "afternoon_end", "hours_per_day", "is_default",
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


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("number", "title", "type", "priority", "state", "unit", "pool_unit", "assignee", "created_at")
    list_filter = ("state", "type", "priority", "unit__level")
    search_fields = ("number", "title")
    list_select_related = ("unit", "pool_unit", "assignee")
    # State, number and timeline change only through the services, which enforce the transition table.
    readonly_fields = ("number", "state", "asker", "unit", "pool_unit", "created_at", "updated_at", "closed_at")
    raw_id_fields = ("assignee",)
    inlines = [TicketEventInline]
    show_full_result_count = False
