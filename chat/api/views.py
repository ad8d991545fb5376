"""聊天 over the API: thin views over chat.selectors and chat.services.

Everything about a conversation is under ``/api/v1/chat/conversations/{id}/``; anyone not in it gets
404 for all of it (the conversation, its messages, files and events)."""

from __future__ import annotations

import json

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.idempotency import META_KEY
from helpdesk.core.api.serializers import ErrorSerializer, validated
from helpdesk.core.files import private_file_response

from .. import presence, selectors, services
from ..models import Membership
from ..services.uploads import ALLOWED_EXTENSIONS, thumbnail_content_type
from .serializers import (
    ChatBlockInputSerializer,
    ChatBlockSerializer,
    ChatConversationSerializer,
    ChatEmptySerializer,
    ChatFileQuerySerializer,
    ChatHistoryQuerySerializer,
    ChatHistorySerializer,
    ChatMessageSerializer,
    ChatPreferencesSerializer,
    ChatPresenceQuerySerializer,
    ChatPresenceSerializer,
    ChatReadSerializer,
    ChatReadStateSerializer,
    ChatSendSerializer,
    ChatStartSerializer,
    ChatUnreadSerializer,
    presence_rows,
)

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_403 = OpenApiResponse(
    ErrorSerializer,
    description="Refused by a rule: `blocked` (对方已拒收你的消息), `you_blocked` (you blocked them), `not_sender`, "
    "`recall_window_passed` (more than 2 minutes).",
)
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such conversation or message, or you are not a member.")
ERROR_429 = OpenApiResponse(
    ErrorSerializer, description="`rate_limited`: too many messages per second; wait a moment and send again."
)
DOWNLOAD_RESPONSES = {
    (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
    for content_type in sorted({kind.content_type for kind in ALLOWED_EXTENSIONS.values()})
}


class ChatRefusedError(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "refused"

    def __init__(self, refused: services.ChatRefused):
        super().__init__(detail=refused.message, code=refused.code)
        self.status_code = refused.status


class ChatAPIMixin:
    def handle_exception(self, exc):
        if isinstance(exc, services.ChatRefused):
            exc = ChatRefusedError(exc)
        return super().handle_exception(exc)


class PassthroughRenderer(renderers.BaseRenderer):
    """A download answers whatever the client accepts; errors on that path still go out as JSON."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


def _conversation_rows(user, memberships: list[Membership]) -> dict:
    """What a conversation row needs beyond the membership: the peers' presence and read positions."""
    peers = [row.peer.pk for row in memberships if getattr(row, "peer", None) is not None]
    peer_reads = dict(
        Membership.objects.filter(conversation_id__in=[row.conversation_id for row in memberships])
        .exclude(user=user)
        .values_list("conversation_id", "read_seq")
    )
    return {"online": presence.online(peers), "peer_reads": peer_reads}


class ConversationViewSet(ChatAPIMixin, GenericViewSet):
    """会话: your one-to-one conversations (groups come with the same shape), their messages and files."""

    serializer_class = ChatConversationSerializer
    pagination_class = None
    lookup_value_converter = "int"

    def get_queryset(self):
        return Membership.objects.none()  # every read goes through chat.selectors

    def _row(self, request, conversation_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
        membership = selectors.membership_get(user=request.user, conversation_id=conversation_id)
        membership.unread = max(membership.conversation.last_seq - membership.read_seq, 0)
        membership.peer = selectors.peer_of(membership.conversation, request.user.pk)
        conversation = membership.conversation
        membership.last_message = (
            conversation.messages.filter(seq=conversation.last_seq).select_related("sender").first()
            if conversation.last_seq
            else None
        )
        context = _conversation_rows(request.user, [membership])
        return Response(ChatConversationSerializer(membership, context=context).data, status=status_code)

    @extend_schema(
        responses={200: ChatConversationSerializer(many=True), 401: ERROR_401},
        description=(
            "Your conversations (at most 200), the most recent message first, each with its unread count, the "
            "last message, the other person's presence and read position. The unread total is GET /chat/unread/."
        ),
    )
    def list(self, request):
        rows = selectors.memberships_of(user=request.user)
        context = _conversation_rows(request.user, rows)
        return Response(ChatConversationSerializer(rows, many=True, context=context).data)

    @extend_schema(
        request=ChatStartSerializer,
        responses={
            201: ChatConversationSerializer,
            200: OpenApiResponse(ChatConversationSerializer, description="You already had one with this person."),
            400: ERROR_400,
            401: ERROR_401,
        },
        description=(
            "Start a one-to-one conversation with anyone you can find (directory search, 本单位, 单位组织 tree): "
            "there is one conversation per pair, so this returns the existing one (200) or a new one (201)."
        ),
    )
    def create(self, request):
        params = validated(ChatStartSerializer, request.data)
        conversation, created = services.conversation_start(user=request.user, other_id=params["user"])
        return self._row(request, conversation.pk, status_code=status.HTTP_201_CREATED if created else 200)

    @extend_schema(responses={200: ChatConversationSerializer, 401: ERROR_401, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        return self._row(request, pk)

    @extend_schema(
        methods=["GET"],
        parameters=[ChatHistoryQuerySerializer],
        responses={200: ChatHistorySerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description=(
            "消息记录, one page, oldest first: without parameters the newest messages; `before` pages backwards "
            "(send the first seq you hold); `after` fetches forwards (send the last seq you hold: catching up "
            "after a reconnect); `date` jumps to a day (with `after`, from there on); `q` searches this "
            "conversation for every word (Chinese too), newest first. Messages you deleted are left out; "
            "recalled ones keep their place without content."
        ),
    )
    @extend_schema(
        methods=["POST"],
        request={"application/json": ChatSendSerializer, "multipart/form-data": ChatSendSerializer},
        responses={
            201: ChatMessageSerializer,
            200: OpenApiResponse(ChatMessageSerializer, description="Already stored under this client_id."),
            400: ERROR_400,
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404,
            429: ERROR_429,
        },
        description=(
            "Send a message: `text` (JSON), or `file` (multipart: an image gets a thumbnail; a pasted screenshot "
            "is an image). Stored with the next seq before anything is pushed; every member then gets "
            "chat.message on the socket (your other devices too). Give each message a `client_id` (or an "
            "`Idempotency-Key`): a resend after a lost answer returns the stored message, never a second one."
        ),
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        if request.method == "POST":
            params = validated(ChatSendSerializer, request.data)
            client_id = params.get("client_id") or request.META.get(META_KEY, "")
            sent = services.message_send(
                user=request.user,
                conversation_id=pk,
                text=params.get("text", ""),
                upload=params.get("file"),
                client_id=client_id,
            )
            return Response(
                ChatMessageSerializer(sent.message).data,
                status=status.HTTP_201_CREATED if sent.created else status.HTTP_200_OK,
            )
        params = validated(ChatHistoryQuerySerializer, request.query_params.dict())
        membership = selectors.membership_get(user=request.user, conversation_id=pk)
        conversation = membership.conversation
        page = selectors.history(
            user=request.user,
            conversation=conversation,
            before=params.get("before"),
            after=params.get("after"),
            on_date=params.get("date"),
            query=params.get("q", ""),
            limit=params.get("limit", selectors.HISTORY_PAGE),
        )
        reads = selectors.read_positions(conversation)
        peer_read = max((seq for uid, seq in reads.items() if uid != request.user.pk), default=0)
        return Response(
            {
                "results": ChatMessageSerializer(page.messages, many=True).data,
                "has_more": page.has_more,
                "last_seq": conversation.last_seq,
                "read_seq": membership.read_seq,
                "peer_read_seq": peer_read,
            }
        )

    @extend_schema(
        request=ChatReadSerializer,
        responses={200: ChatReadStateSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="已读: you have read up to `seq` (or everything). The other members get chat.read.",
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        params = validated(ChatReadSerializer, request.data)
        membership = services.read_up_to(user=request.user, conversation_id=pk, seq=params.get("seq"))
        return Response(
            {
                "conversation": membership.conversation_id,
                "read_seq": membership.read_seq,
                "unread": membership.unread,
                "total_unread": selectors.unread_total(user=request.user),
            }
        )

    @extend_schema(
        request=ChatEmptySerializer,
        responses={204: None, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="正在输入: the other members get chat.typing (not stored); the socket frame is cheaper.",
    )
    @action(detail=True, methods=["post"])
    def typing(self, request, pk=None):
        validated(ChatEmptySerializer, request.data)
        services.typing(user=request.user, conversation_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=ChatEmptySerializer,
        responses={200: ChatMessageSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
        description=(
            "撤回: take back your own message within 2 minutes. Its text and file are gone for everyone; members "
            "get chat.recalled and show \u201c撤回了一条消息\u201d."
        ),
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="messages/<int:message_id>/recall",
        url_name="message-recall",
    )
    def recall(self, request, pk=None, message_id=None):
        validated(ChatEmptySerializer, request.data)
        message = services.message_recall(user=request.user, conversation_id=pk, message_id=message_id)
        return Response(ChatMessageSerializer(message).data)

    @extend_schema(
        request=None,
        responses={204: None, 401: ERROR_401, 404: ERROR_404},
        description="删除: remove a message from your own history (on all your devices); the others keep it.",
    )
    @action(detail=True, methods=["delete"], url_path="messages/<int:message_id>", url_name="message")
    def message_delete(self, request, pk=None, message_id=None):
        services.message_hide(user=request.user, conversation_id=pk, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ChatFileQuerySerializer],
        responses={**DOWNLOAD_RESPONSES, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description=(
            "A message's image or file (members only; gone once recalled). Images are shown inline, other files "
            "are downloads. `variant=thumbnail`: an image's thumbnail (JPEG, or PNG where the image has "
            "transparency; at most 320 px on its longer side)."
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="messages/<int:message_id>/file",
        url_name="message-file",
        renderer_classes=[renderers.JSONRenderer, PassthroughRenderer],
    )
    def file(self, request, pk=None, message_id=None):
        params = validated(ChatFileQuerySerializer, request.query_params.dict())
        thumbnail = params.get("variant") == "thumbnail"
        try:
            message = selectors.message_file_get(
                user=request.user, conversation_id=pk, pk=message_id, thumbnail=thumbnail
            )
        except Http404:
            raise exceptions.NotFound() from None
        if thumbnail:
            return private_file_response(
                message.thumbnail,
                filename=f"thumb-{message.file_name}",
                content_type=thumbnail_content_type(message.thumbnail.name),
            )
        return private_file_response(message.file, filename=message.file_name, content_type=message.content_type)


class UnreadView(APIView):
    @extend_schema(
        responses={200: ChatUnreadSerializer, 401: ERROR_401},
        description="The unread total across your conversations (the navigation badge).",
    )
    def get(self, request):
        return Response({"total": selectors.unread_total(user=request.user)})


class BlockListView(ChatAPIMixin, APIView):
    @extend_schema(responses={200: ChatBlockSerializer(many=True), 401: ERROR_401}, description="People you block.")
    def get(self, request):
        return Response(ChatBlockSerializer(selectors.blocks_of(user=request.user)[:500], many=True).data)

    @extend_schema(
        request=ChatBlockInputSerializer,
        responses={201: ChatBlockSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "拒收: block a person. Their messages to you are refused (they are told 对方已拒收你的消息) and their "
            "sockets hear nothing more of your conversation. Blocking twice is one block."
        ),
    )
    def post(self, request):
        params = validated(ChatBlockInputSerializer, request.data)
        block = services.block_add(user=request.user, other_id=params["user"])
        return Response(ChatBlockSerializer(block).data, status=status.HTTP_201_CREATED)


class BlockDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        request=None,
        responses={204: None, 401: ERROR_401, 404: ERROR_404},
        description="Unblock a person.",
    )
    def delete(self, request, user_id: int):
        if not services.block_remove(user=request.user, other_id=user_id):
            raise exceptions.NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreferencesView(APIView):
    @extend_schema(responses={200: ChatPreferencesSerializer, 401: ERROR_401}, description="Your chat preferences.")
    def get(self, request):
        return Response({"font_size": selectors.font_size_of(user=request.user)})

    @extend_schema(
        request=ChatPreferencesSerializer,
        responses={200: ChatPreferencesSerializer, 400: ERROR_400, 401: ERROR_401},
        description="字体大小: set the chat window's font size (the same on all your devices).",
    )
    def patch(self, request):
        params = validated(ChatPreferencesSerializer, request.data)
        preference = services.font_size_set(user=request.user, font_size=params["font_size"])
        return Response({"font_size": preference.font_size})


class PresenceView(APIView):
    @extend_schema(
        parameters=[ChatPresenceQuerySerializer],
        responses={200: ChatPresenceSerializer(many=True), 400: ERROR_400, 401: ERROR_401},
        description=(
            "在线 / 离线 of people (online: a socket open on any device). Live changes come as chat.presence; "
            "read this after (re)connecting."
        ),
    )
    def get(self, request):
        params = validated(ChatPresenceQuerySerializer, request.query_params.dict())
        return Response(presence_rows(params["users"]))
