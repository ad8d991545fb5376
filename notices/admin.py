"""The back office of notices: notices are read here with their timeline and files, and withdrawn or
recounted through the services; writing and review belong to the portal's workflow (the publishing
unit's publisher and reviewer), so nothing here adds or edits a notice's text."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Notice, NoticeAttachment, NoticeEvent


class TimelineInline(admin.TabularInline):
    model = NoticeEvent
    fields = ("created_at", "action", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("id",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AttachmentInline(admin.TabularInline):
    model = NoticeAttachment
    fields = ("original_name", "content_type", "size", "uploaded_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ("title", "state", "importance", "unit", "author", "audience_mode", "published_at")
    list_filter = ("state", "importance", "audience_mode", "receipt_required")
    search_fields = ("title", "unit__name", "author__name")
    list_select_related = ("unit", "author")
    date_hierarchy = "created_at"
    readonly_fields = (
        "title",
        "state",
        "importance",
        "unit",
        "author",
        "audience_mode",
        "audience_levels",
        "audience_kinds",
        "chosen_with_subtrees",
        "receipt_required",
        "valid_from",
        "valid_until",
        "publish_at",
        "published_at",
        "withdrawn_at",
        "withdraw_reason",
        "forwarded_from",
        "origin",
        "cover_note",
        "body",
        "reminded_at",
        "reminder_count",
        "stats_computed_at",
        "created_at",
        "submitted_at",
        "updated_at",
    )
    exclude = ("chosen_units",)
    inlines = (TimelineInline, AttachmentInline)
    actions = ("withdraw", "recount")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Withdraw the selected notices"))
    def withdraw(self, request, queryset):
        done = 0
        for notice in queryset:
            try:
                services.notice_withdraw(
                    user=request.user, notice=notice, reason=gettext("Withdrawn in the back office")
                )
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{notice.title}: {'; '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, gettext("%(count)d notices withdrawn.") % {"count": done})

    @admin.action(description=_("Recount the read statistics of the selected notices"))
    def recount(self, request, queryset):
        counted = sum(services.compute_notice_stats(notice.pk) is not None for notice in queryset)
        self.message_user(request, gettext("%(count)d notices recounted.") % {"count": counted})
