from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from . import services
from .models import DeviceSession, HandlingGroup, RoleAssignment, RoleChange, User


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    autocomplete_fields = ("unit",)
    filter_horizontal = ("handling_groups",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "name", "nickname", "unit", "user_type", "is_active", "is_staff")
    list_filter = ("user_type", "is_active", "is_staff", "is_superuser", "unit__level")
    search_fields = ("username", "name", "nickname", "name_pinyin", "name_initials", "phone", "email")
    ordering = ("id",)
    autocomplete_fields = ("unit",)
    readonly_fields = ("name_pinyin", "name_initials", "last_login", "date_joined")
    inlines = [RoleAssignmentInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Personal info"),
            {"fields": ("name", "nickname", "avatar", "phone", "email", "name_pinyin", "name_initials")},
        ),
        (_("Unit"), {"fields": ("unit", "user_type")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "name", "unit", "user_type", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Keep the directory search in step with edits made here.
        services.user_refresh_search_terms(user=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not RoleAssignment:
            return super().save_formset(request, form, formset, change)
        # Roles edited inline are recorded like the portal's changes (RoleChange).
        stored = {f.instance.pk: services.role_snapshot(f.instance.pk) for f in formset.forms if f.instance.pk}
        super().save_formset(request, form, formset, change)
        for pk, (old, old_state) in stored.items():
            new = RoleAssignment.objects.filter(pk=pk).first()
            services.role_record_back_office(actor=request.user, old=old, old_state=old_state, new=new)
        for new in formset.new_objects:
            services.role_record_back_office(actor=request.user, old=None, old_state=None, new=new)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "unit", "role", "on_duty", "created_at")
    list_filter = ("role", "on_duty", "handling_groups")
    search_fields = ("user__username", "user__name", "unit__name", "unit__code")
    autocomplete_fields = ("user", "unit")
    filter_horizontal = ("handling_groups",)
    list_select_related = ("user", "unit")

    # Django admin writes these rows itself; each change is recorded as the services record theirs.
    def save_model(self, request, obj, form, change):
        request._role_before = services.role_snapshot(obj.pk) if change else (None, None)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # handling groups are set here
        old, old_state = getattr(request, "_role_before", (None, None))
        services.role_record_back_office(actor=request.user, old=old, old_state=old_state, new=form.instance)

    def delete_model(self, request, obj):
        old, old_state = services.role_snapshot(obj.pk)
        services.role_record_back_office(actor=request.user, old=old, old_state=old_state, new=None)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The bulk action is not in a transaction of the admin's own: the records and the deletion
        # stand or fall together.
        with transaction.atomic():
            for obj in queryset:
                old, old_state = services.role_snapshot(obj.pk)
                services.role_record_back_office(actor=request.user, old=old, old_state=old_state, new=None)
            super().delete_queryset(request, queryset)


@admin.register(HandlingGroup)
class HandlingGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(RoleChange)
class RoleChangeAdmin(admin.ModelAdmin):
    """The record of role changes: read only, since a record that can be edited proves nothing."""

    list_display = ("created_at", "user", "action", "role", "unit", "actor")
    list_filter = ("action", "role")
    search_fields = ("user__username", "user__name", "actor__username", "unit__name", "unit__code")
    list_select_related = ("user", "actor", "unit")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "user", "actor", "unit", "role", "action", "before", "after")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeviceSession)
class DeviceSessionAdmin(admin.ModelAdmin):
    """An account's signed-in devices (apps and browsers). Nothing is edited here; deleting a row
    signs that device out as its owner would (accounts.services.devices: its sockets close too)."""

    list_display = ("user", "name", "kind", "created_at", "last_used_at", "expires_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "user__name", "name")
    list_select_related = ("user",)
    readonly_fields = ("user", "kind", "name", "created_at", "last_used_at", "access_expires_at", "expires_at")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.device_revoke(user=obj.user, device_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for device in queryset.select_related("user"):
            services.device_revoke(user=device.user, device_id=device.pk)
