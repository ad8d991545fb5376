from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import HandlingGroup, RoleAssignment, RoleChange, User, UserSearchTerm


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


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "unit", "role", "on_duty", "created_at")
    list_filter = ("role", "on_duty", "handling_groups")
    search_fields = ("user__username", "user__name", "unit__name", "unit__code")
    autocomplete_fields = ("user", "unit")
    filter_horizontal = ("handling_groups",)
    list_select_related = ("user", "unit")


@admin.register(HandlingGroup)
class HandlingGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(UserSearchTerm)
class UserSearchTermAdmin(admin.ModelAdmin):
    list_display = ("term", "user")
    search_fields = ("term",)
    raw_id_fields = ("user",)
    list_select_related = ("user",)


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
