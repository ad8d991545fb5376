"""群组 over the API, under ``/api/v1/chat/groups/``. A group's id is its conversation's id: its
messages, history, read state and message files are the conversation endpoints
(``/api/v1/chat/conversations/{id}/…``); everything here is the group's own. Members only (404 for
anyone else), except 查找群组 (``search/``) and ``join/``."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.serializers import validated
from helpdesk.core.files import private_file_response

from .. import selectors_social as social
from ..models import Membership
from ..services import group_content, group_members, groups
from .serializers_social import (
    ChatAdminInputSerializer,
    ChatAnnouncementInputSerializer,
    ChatAnnouncementSerializer,
    ChatDecisionSerializer,
    ChatFileInputSerializer,
    ChatFileSearchSerializer,
    ChatGroupCardSerializer,
    ChatGroupCreateSerializer,
    ChatGroupFileSerializer,
    ChatGroupQuerySerializer,
    ChatGroupRowSerializer,
    ChatGroupSerializer,
    ChatGroupUpdateSerializer,
    ChatJoinInputSerializer,
    ChatJoinRequestSerializer,
    ChatJoinResultSerializer,
    ChatMemberSerializer,
    ChatMuteInputSerializer,
    ChatUserInputSerializer,
    ChatUsersInputSerializer,
)
from .views import DOWNLOAD_RESPONSES, ERROR_400, ERROR_401, ERROR_404, ChatAPIMixin, PassthroughRenderer

ERROR_403 = OpenApiResponse(
    description="Refused by a rule: `not_admin` (administrators only), `not_owner` (the owner only), `closed` "
    "(invitation only)."
)
ERROR_429 = OpenApiResponse(description="`request_pending`: your request to join waits for the administrators.")
ADMIN = {400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404}


class GroupViewSet(ChatAPIMixin, GenericViewSet):
    """群组: your groups, 查找群组, members, administrators, 禁言, announcements (群公告), shared files
    (群共享), leave and disband. Every change is a system message in the group's conversation
    (chat.message, kind "system") and a chat.group_updated event to every member."""

    serializer_class = ChatGroupSerializer
    pagination_class = None
    lookup_value_converter = "int"

    def get_queryset(self):
        return Membership.objects.none()  # every read goes through chat.selectors_social

    def _group(self, request, pk, *, status_code: int = status.HTTP_200_OK) -> Response:
        membership = social.group_membership(user=request.user, conversation_id=pk)
        conversation = social.with_counts([membership.conversation])[0]
        return Response(ChatGroupSerializer(conversation, context={"membership": membership}).data, status=status_code)

    @extend_schema(
        responses={200: ChatGroupRowSerializer(many=True), 401: ERROR_401},
        description="Your groups (群组 in the contact panel), by name, with your role in each.",
    )
    def list(self, request):
        rows = social.groups_of(user=request.user)
        for row in rows:
            row.conversation.my_role = row.role
        return Response(ChatGroupRowSerializer([row.conversation for row in rows], many=True).data)

    @extend_schema(
        request={"application/json": ChatGroupCreateSerializer, "multipart/form-data": ChatGroupCreateSerializer},
        responses={201: ChatGroupSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "创建群组: name, announcement (群公告), optional description and avatar (multipart), and the people to "
            "add at once (at most 500 members at first). You are the owner and an administrator. Its "
            "conversation (same id) starts with a system message; members get chat.message and chat.group_updated."
        ),
    )
    def create(self, request):
        params = validated(ChatGroupCreateSerializer, request.data)
        conversation = groups.group_create(
            user=request.user,
            name=params["name"],
            announcement=params.get("announcement", ""),
            description=params.get("description", ""),
            member_ids=params.get("users", []),
            avatar=params.get("avatar"),
            join_policy=params["join_policy"],
            members_can_invite=params["members_can_invite"],
        )
        return self._group(request, conversation.pk, status_code=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ChatGroupSerializer, 401: ERROR_401, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        return self._group(request, pk)

    @extend_schema(
        request={"application/json": ChatGroupUpdateSerializer, "multipart/form-data": ChatGroupUpdateSerializer},
        responses={200: ChatGroupSerializer, **ADMIN},
        description=(
            "Change the name, description, avatar, join policy, whether members may invite (administrators), or "
            "the member limit (the owner: between the members now and 2,000)."
        ),
    )
    def partial_update(self, request, pk=None):
        params = validated(ChatGroupUpdateSerializer, request.data)
        limit = params.pop("member_limit", None)
        if params:
            groups.group_update(user=request.user, conversation_id=pk, **params)
        if limit is not None:
            group_members.member_limit_set(user=request.user, conversation_id=pk, limit=limit)
        return self._group(request, pk)

    @extend_schema(
        request=None,
        responses={204: None, **ADMIN},
        description=(
            "解散群组 (the owner): the members see it as the last system message; the conversation stays readable "
            "and takes nothing more."
        ),
    )
    def destroy(self, request, pk=None):
        group_members.group_disband(user=request.user, conversation_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ChatGroupQuerySerializer],
        responses={200: ChatGroupCardSerializer(many=True), 400: ERROR_400, 401: ERROR_401},
        description="查找群组: by group number (exact) or name (contains), at most 20; then POST {id}/join/.",
    )
    @action(detail=False, methods=["get"])
    def search(self, request):
        params = validated(ChatGroupQuerySerializer, request.query_params.dict())
        return Response(ChatGroupCardSerializer(social.group_search(query=params["q"]), many=True).data)

    @extend_schema(
        request=ChatJoinInputSerializer,
        responses={
            200: ChatJoinResultSerializer,
            400: ERROR_400,
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404,
            429: ERROR_429,
        },
        description=(
            "申请加入 a group you found: an open group takes you at once (`joined`), one needing approval asks its "
            "administrators (chat.group_join_request; you get chat.group_join_decided), a closed one refuses."
        ),
    )
    @action(detail=True, methods=["post"])
    def join(self, request, pk=None):
        params = validated(ChatJoinInputSerializer, request.data)
        made = group_content.join_request(user=request.user, conversation_id=pk, message=params.get("message", ""))
        return Response({"joined": made is None, "request": ChatJoinRequestSerializer(made).data if made else None})

    @extend_schema(
        responses={200: ChatJoinRequestSerializer(many=True), 401: ERROR_401, 404: ERROR_404},
        description="Pending requests to join (administrators; other members get an empty list).",
    )
    @action(detail=True, methods=["get"], url_path="join-requests", url_name="join-requests")
    def join_requests(self, request, pk=None):
        rows = social.join_requests_of(user=request.user, conversation_id=pk)[:200]
        return Response(ChatJoinRequestSerializer(rows, many=True).data)

    @extend_schema(
        request=ChatDecisionSerializer,
        responses={200: ChatJoinRequestSerializer, **ADMIN},
        description="Approve (`accept` true: they join, within the member limit) or decline a request to join.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="join-requests/<int:request_id>/decide",
        url_name="join-request-decide",
    )
    def join_decide(self, request, pk=None, request_id=None):
        params = validated(ChatDecisionSerializer, request.data)
        decided = group_content.join_decide(
            user=request.user, conversation_id=pk, request_id=request_id, approve=params["accept"]
        )
        return Response(ChatJoinRequestSerializer(decided).data)

    @extend_schema(
        methods=["GET"],
        responses={200: ChatMemberSerializer(many=True), 401: ERROR_401, 404: ERROR_404},
        description="群成员: the owner first, then administrators, then members by when they joined.",
    )
    @extend_schema(
        methods=["POST"],
        request=ChatUsersInputSerializer,
        responses={200: ChatMemberSerializer(many=True), **ADMIN},
        description=(
            "添加群成员: several at once (ids from 本单位, 单位组织, the directory search or friends). "
            "Administrators, or any member when the group lets members invite. Answers the member list."
        ),
    )
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        if request.method == "POST":
            params = validated(ChatUsersInputSerializer, request.data)
            groups.members_add(user=request.user, conversation_id=pk, user_ids=params["users"])
        return Response(
            ChatMemberSerializer(social.group_members(user=request.user, conversation_id=pk), many=True).data
        )

    @extend_schema(
        request=None,
        responses={204: None, **ADMIN},
        description=(
            "移出群组 (administrators; an administrator only by the owner). The member gets chat.group_removed and "
            "from then on nothing more of the group: its messages, history and files answer 404."
        ),
    )
    @action(detail=True, methods=["delete"], url_path="members/<int:user_id>", url_name="member")
    def member_remove(self, request, pk=None, user_id=None):
        groups.member_remove(user=request.user, conversation_id=pk, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=ChatAdminInputSerializer,
        responses={200: ChatMemberSerializer, **ADMIN},
        description="设置 / 取消管理员 (the owner).",
    )
    @action(detail=True, methods=["post"])
    def admins(self, request, pk=None):
        params = validated(ChatAdminInputSerializer, request.data)
        target = group_members.admin_set(
            user=request.user, conversation_id=pk, user_id=params["user"], admin=params["admin"]
        )
        return Response(ChatMemberSerializer(target).data)

    @extend_schema(
        request=ChatUserInputSerializer,
        responses={200: ChatMemberSerializer, **ADMIN},
        description="转让群主 (the owner) to a member; you stay an administrator.",
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        params = validated(ChatUserInputSerializer, request.data)
        target = group_members.owner_transfer(user=request.user, conversation_id=pk, user_id=params["user"])
        return Response(ChatMemberSerializer(target).data)

    @extend_schema(
        request=ChatMuteInputSerializer,
        responses={204: None, **ADMIN},
        description=(
            "禁言 (administrators): mute or unmute a member, or without `user` the whole group (then only "
            "administrators send). A muted member's messages are refused with 403 `muted`."
        ),
    )
    @action(detail=True, methods=["post"])
    def mute(self, request, pk=None):
        params = validated(ChatMuteInputSerializer, request.data)
        group_members.mute_set(user=request.user, conversation_id=pk, muted=params["muted"], user_id=params.get("user"))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={204: None, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="退出群组: any member; the owner transfers the ownership first (or disbands).",
    )
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        group_members.group_leave(user=request.user, conversation_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        responses={200: ChatAnnouncementSerializer(many=True), 401: ERROR_401, 404: ERROR_404},
        description="群公告, newest first (the first is the pinned one).",
    )
    @extend_schema(
        methods=["POST"],
        request=ChatAnnouncementInputSerializer,
        responses={201: ChatAnnouncementSerializer, **ADMIN},
        description="Publish an announcement (administrators): pinned as the newest; every member is told.",
    )
    @action(detail=True, methods=["get", "post"])
    def announcements(self, request, pk=None):
        if request.method == "POST":
            params = validated(ChatAnnouncementInputSerializer, request.data)
            made = group_content.announcement_publish(user=request.user, conversation_id=pk, text=params["text"])
            return Response(ChatAnnouncementSerializer(made).data, status=status.HTTP_201_CREATED)
        rows = social.announcements_of(user=request.user, conversation_id=pk)[:200]
        return Response(ChatAnnouncementSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={204: None, **ADMIN}, description="Delete an announcement (administrators).")
    @action(detail=True, methods=["delete"], url_path="announcements/<int:announcement_id>", url_name="announcement")
    def announcement_delete(self, request, pk=None, announcement_id=None):
        group_content.announcement_delete(user=request.user, conversation_id=pk, announcement_id=announcement_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        parameters=[ChatFileSearchSerializer],
        responses={200: ChatGroupFileSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="群共享: the group's shared files, newest first (at most 500); `q` finds names holding it.",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": ChatFileInputSerializer},
        responses={201: ChatGroupFileSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description=(
            "Upload to 群共享 (any member): the chat's upload policy (type checked by content, at most 20 MB) "
            "within the group's quota (1 GB unless set); a full space is a 400 on `file`."
        ),
    )
    @action(detail=True, methods=["get", "post"])
    def files(self, request, pk=None):
        if request.method == "POST":
            params = validated(ChatFileInputSerializer, request.data)
            made = group_content.file_upload(user=request.user, conversation_id=pk, upload=params["file"])
            return Response(ChatGroupFileSerializer(made).data, status=status.HTTP_201_CREATED)
        params = validated(ChatFileSearchSerializer, request.query_params.dict())
        rows = social.files_of(user=request.user, conversation_id=pk, query=params.get("q", ""))[:500]
        return Response(ChatGroupFileSerializer(rows, many=True).data)

    @extend_schema(
        request=None,
        responses={204: None, **ADMIN},
        description="Delete a shared file (its uploader or an administrator).",
    )
    @action(detail=True, methods=["delete"], url_path="files/<int:file_id>", url_name="file")
    def file_delete(self, request, pk=None, file_id=None):
        group_content.file_delete(user=request.user, conversation_id=pk, file_id=file_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={**DOWNLOAD_RESPONSES, 401: ERROR_401, 404: ERROR_404},
        description="Download a shared file (members only).",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="files/<int:file_id>/download",
        url_name="file-download",
        renderer_classes=[renderers.JSONRenderer, PassthroughRenderer],
    )
    def file_download(self, request, pk=None, file_id=None):
        try:
            shared = social.file_get(user=request.user, conversation_id=pk, file_id=file_id)
        except Http404:
            raise exceptions.NotFound() from None
        return private_file_response(shared.file, filename=shared.name, content_type=shared.content_type)

    @extend_schema(
        responses={**DOWNLOAD_RESPONSES, 401: ERROR_401, 404: ERROR_404},
        description="The group's avatar (members only).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, PassthroughRenderer])
    def avatar(self, request, pk=None):
        try:
            profile = social.group_avatar_get(user=request.user, conversation_id=pk)
        except Http404:
            raise exceptions.NotFound() from None
        return private_file_response(profile.avatar, filename="avatar", content_type=profile.avatar_content_type)
