"""Shapes of the contacts (好友) and groups (群组) API: strict inputs, read-only outputs."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.api.directory import DirectoryUserSerializer
from helpdesk.core.api.serializers import StrictSerializer

from ..models import GROUP_MEMBER_LIMIT_MAX, JoinPolicy
from ..services.contacts import GROUP_NAME_MAX, MESSAGE_MAX, REMARK_MAX
from ..services.group_content import JOIN_MESSAGE_MAX, file_quota, files_used
from ..services.groups import ANNOUNCEMENT_MAX, DESCRIPTION_MAX, NAME_MAX
from .serializers import ID_MAX, SEARCH_MAX, ChatPersonSerializer

API = "/api/v1/chat"
_ID = {"min_value": 1, "max_value": ID_MAX}


# --- Contacts: outputs -----------------------------------------------------------------------------
class ChatContactCardSerializer(DirectoryUserSerializer):
    """用户资料: the directory's card (contact details by the directory rule) and the relation to you."""

    is_friend = serializers.BooleanField(read_only=True, help_text=_("You are friends."))
    remark = serializers.CharField(read_only=True, help_text=_("Your remark name for them (friends only)."))
    request_pending = serializers.BooleanField(
        read_only=True, help_text=_("You asked them to be friends and they have not answered yet.")
    )

    class Meta(DirectoryUserSerializer.Meta):
        fields = (*DirectoryUserSerializer.Meta.fields, "is_friend", "remark", "request_pending")
        read_only_fields = fields


class ChatFriendRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    from_user = ChatPersonSerializer(read_only=True)
    to_user = ChatPersonSerializer(read_only=True)
    message = serializers.CharField(read_only=True, help_text=_("The verification message (验证信息)."))
    status = serializers.CharField(read_only=True, help_text="pending, accepted or declined.")
    created_at = serializers.DateTimeField(read_only=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    seen = serializers.SerializerMethodField(help_text=_("The recipient has seen it (not counted as new)."))

    def get_seen(self, request) -> bool:
        return request.seen_at is not None


class ChatFriendRequestListSerializer(serializers.Serializer):
    results = ChatFriendRequestSerializer(many=True, read_only=True)
    new_requests = serializers.IntegerField(
        read_only=True, help_text=_("Pending requests you received and have not seen (the badge).")
    )


class ChatNewRequestsSerializer(serializers.Serializer):
    new_requests = serializers.IntegerField(read_only=True)


class ChatFriendGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    friend_count = serializers.IntegerField(read_only=True, default=0)


class ChatFriendSerializer(serializers.Serializer):
    user = ChatPersonSerializer(source="friend", read_only=True)
    remark = serializers.CharField(read_only=True, help_text=_("Your remark name for them; empty: none."))
    group = serializers.IntegerField(
        source="group_id", read_only=True, allow_null=True, help_text=_("Your friend group; null: 我的好友.")
    )
    created_at = serializers.DateTimeField(read_only=True)


class ChatFriendListSerializer(serializers.Serializer):
    groups = ChatFriendGroupSerializer(many=True, read_only=True)
    friends = ChatFriendSerializer(many=True, read_only=True)


# --- Contacts: inputs ------------------------------------------------------------------------------
class ChatPeopleQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=SEARCH_MAX,
        help_text=_("Start of an account, name, nickname, pinyin or pinyin initials (张伟: zw, zhangwei)."),
    )


class ChatFriendRequestInputSerializer(StrictSerializer):
    user = serializers.IntegerField(**_ID, help_text=_("Whom to ask."))
    message = serializers.CharField(
        max_length=MESSAGE_MAX, required=False, allow_blank=True, help_text=_("验证信息, e.g. who you are.")
    )


class ChatFriendRequestQuerySerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["received", "sent"], default="received")


class ChatDecisionSerializer(StrictSerializer):
    accept = serializers.BooleanField(help_text=_("true: accept (approve); false: decline."))


class ChatFriendUpdateSerializer(StrictSerializer):
    remark = serializers.CharField(max_length=REMARK_MAX, required=False, allow_blank=True)
    group = serializers.IntegerField(
        **_ID, required=False, allow_null=True, help_text=_("Move to this friend group of yours; null: 我的好友.")
    )


class ChatFriendGroupInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=GROUP_NAME_MAX)


class ChatFriendGroupOrderSerializer(StrictSerializer):
    groups = serializers.ListField(
        child=serializers.IntegerField(**_ID), max_length=100, help_text=_("Every one of your groups' ids, in order.")
    )


# --- Groups: outputs -------------------------------------------------------------------------------
class ChatAnnouncementSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    text = serializers.CharField(read_only=True)
    author = ChatPersonSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ChatGroupCardSerializer(serializers.Serializer):
    """What 查找群组 shows of a group you may not be in."""

    id = serializers.IntegerField(read_only=True, help_text=_("The group's conversation id."))
    number = serializers.CharField(source="group.number", read_only=True, help_text=_("群号."))
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(source="group.description", read_only=True)
    join_policy = serializers.CharField(
        source="group.join_policy", read_only=True, help_text="approval, open or closed (invitation only)."
    )
    member_count = serializers.IntegerField(read_only=True)
    member_limit = serializers.IntegerField(source="group.member_limit", read_only=True)


class ChatGroupSerializer(ChatGroupCardSerializer):
    """A group as its members see it."""

    avatar_url = serializers.SerializerMethodField(help_text=_("GET: the group's avatar; null: none."))
    members_can_invite = serializers.BooleanField(source="group.members_can_invite", read_only=True)
    all_muted = serializers.BooleanField(source="group.all_muted", read_only=True, help_text=_("全员禁言."))
    disbanded = serializers.SerializerMethodField()
    announcement = ChatAnnouncementSerializer(
        source="pinned_announcement", read_only=True, allow_null=True, help_text=_("The newest (pinned) one.")
    )
    my_role = serializers.SerializerMethodField(help_text="owner, admin or member.")
    my_muted = serializers.SerializerMethodField()
    files_used = serializers.SerializerMethodField(help_text=_("Bytes used in 群共享."))
    file_quota = serializers.SerializerMethodField(help_text=_("Bytes allowed in 群共享."))
    created_at = serializers.DateTimeField(read_only=True)

    def _membership(self):
        return self.context.get("membership")

    def get_avatar_url(self, conversation) -> str | None:
        return f"{API}/groups/{conversation.pk}/avatar/" if conversation.group.avatar else None

    def get_disbanded(self, conversation) -> bool:
        return conversation.group.disbanded_at is not None

    def get_my_role(self, conversation) -> str:
        return self._membership().role

    def get_my_muted(self, conversation) -> bool:
        return self._membership().muted

    def get_files_used(self, conversation) -> int:
        return files_used(conversation)

    def get_file_quota(self, conversation) -> int:
        return file_quota(conversation)


class ChatGroupRowSerializer(ChatGroupCardSerializer):
    """A row of your groups."""

    my_role = serializers.CharField(read_only=True)


class ChatMemberSerializer(serializers.Serializer):
    user = ChatPersonSerializer(read_only=True)
    role = serializers.CharField(read_only=True, help_text="owner, admin or member.")
    muted = serializers.BooleanField(read_only=True)
    joined_at = serializers.DateTimeField(read_only=True)


class ChatJoinRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    user = ChatPersonSerializer(read_only=True)
    message = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="pending, approved or declined.")
    created_at = serializers.DateTimeField(read_only=True)


class ChatJoinResultSerializer(serializers.Serializer):
    joined = serializers.BooleanField(read_only=True, help_text=_("true: an open group took you at once."))
    request = ChatJoinRequestSerializer(read_only=True, allow_null=True)


class ChatGroupFileSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    uploader = ChatPersonSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    url = serializers.SerializerMethodField(help_text=_("GET: download (members only)."))

    def get_url(self, shared) -> str:
        return f"{API}/groups/{shared.conversation_id}/files/{shared.pk}/download/"


# --- Groups: inputs --------------------------------------------------------------------------------
class _FormBoolean(serializers.BooleanField):
    """A multipart request (an avatar upload) that leaves the field out means "as it is" (or the
    default); DRF's BooleanField would read the missing box of an HTML form as false."""

    default_empty_html = empty


def _user_ids(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.IntegerField(**_ID), **kwargs)


class ChatGroupCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX, help_text=_("The group's name."))
    announcement = serializers.CharField(
        max_length=ANNOUNCEMENT_MAX, required=False, allow_blank=True, help_text=_("The first 群公告 (optional).")
    )
    description = serializers.CharField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True)
    users = _user_ids(
        required=False,
        max_length=GROUP_MEMBER_LIMIT_MAX,
        help_text=_("Members to add at once (ids from 本单位, 单位组织, the directory search or friends)."),
    )
    avatar = serializers.FileField(required=False, help_text=_("An image (multipart), at most 2 MB."))
    join_policy = serializers.ChoiceField(choices=JoinPolicy.choices, default=JoinPolicy.APPROVAL)
    members_can_invite = _FormBoolean(default=True)


class ChatGroupUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX, required=False)
    description = serializers.CharField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True)
    avatar = serializers.FileField(required=False)
    join_policy = serializers.ChoiceField(choices=JoinPolicy.choices, required=False)
    members_can_invite = _FormBoolean(required=False)
    member_limit = serializers.IntegerField(
        min_value=2, max_value=GROUP_MEMBER_LIMIT_MAX, required=False, help_text=_("The owner only; at most 2,000.")
    )


class ChatGroupQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=SEARCH_MAX, help_text=_("The group number (exact) or part of its name."))


class ChatUsersInputSerializer(StrictSerializer):
    users = _user_ids(min_length=1, max_length=GROUP_MEMBER_LIMIT_MAX)


class ChatUserInputSerializer(StrictSerializer):
    user = serializers.IntegerField(**_ID)


class ChatAdminInputSerializer(StrictSerializer):
    user = serializers.IntegerField(**_ID)
    admin = serializers.BooleanField(help_text=_("true: appoint; false: dismiss."))


class ChatMuteInputSerializer(StrictSerializer):
    user = serializers.IntegerField(**_ID, required=False, help_text=_("Omit to mute the whole group."))
    muted = serializers.BooleanField()


class ChatJoinInputSerializer(StrictSerializer):
    message = serializers.CharField(max_length=JOIN_MESSAGE_MAX, required=False, allow_blank=True)


class ChatAnnouncementInputSerializer(StrictSerializer):
    text = serializers.CharField(max_length=ANNOUNCEMENT_MAX)


class ChatFileInputSerializer(StrictSerializer):
    file = serializers.FileField()


class ChatFileSearchSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=SEARCH_MAX, required=False, allow_blank=True)
