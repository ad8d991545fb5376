"""The chat's back office: conversations, messages and blocks, read-only (every change goes through
the services, which number messages and tell the members). A recalled message has no content here
either."""

from django.contrib import admin

from .models import Block, Conversation, FriendRequest, GroupFile, GroupProfile, Membership, Message


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "muted", "joined_at", "read_seq")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "last_seq", "last_message_at", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "user_low__username", "user_low__name", "user_high__username", "user_high__name")
    list_select_related = ("user_low", "user_high")
    inlines = [MembershipInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "conversation", "sender", "kind", "created_at", "recalled_at")
    list_filter = ("kind",)
    search_fields = ("sender__username", "sender__name", "file_name")
    list_select_related = ("sender", "conversation")
    exclude = ("file", "thumbnail", "client_id")
    raw_id_fields = ("conversation", "sender")


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocker__name", "blocked__username", "blocked__name")
    list_select_related = ("blocker", "blocked")


# --- Contacts and groups (issue 16): read-only too; changes go through chat.services ----------------
@admin.register(GroupProfile)
class GroupProfileAdmin(ReadOnlyAdmin):
    list_display = ("number", "conversation", "join_policy", "member_limit", "all_muted", "disbanded_at")
    list_filter = ("join_policy", "all_muted")
    search_fields = ("number", "conversation__name")
    list_select_related = ("conversation",)
    exclude = ("avatar",)


@admin.register(FriendRequest)
class FriendRequestAdmin(ReadOnlyAdmin):
    list_display = ("from_user", "to_user", "status", "created_at", "decided_at")
    list_filter = ("status",)
    search_fields = ("from_user__username", "from_user__name", "to_user__username", "to_user__name")
    list_select_related = ("from_user", "to_user")


@admin.register(GroupFile)
class GroupFileAdmin(ReadOnlyAdmin):
    list_display = ("name", "conversation", "uploader", "size", "created_at")
    search_fields = ("name", "conversation__name")
    list_select_related = ("conversation", "uploader")
    exclude = ("file",)
