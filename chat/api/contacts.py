"""好友 over the API: find people, profile cards, friend requests, friends and their groups (分组).
Thin views over chat.selectors_social and chat.services.contacts."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.core.api.serializers import validated

from .. import selectors_social as social
from ..services import contacts
from .serializers_social import (
    ChatContactCardSerializer,
    ChatDecisionSerializer,
    ChatFriendGroupInputSerializer,
    ChatFriendGroupOrderSerializer,
    ChatFriendGroupSerializer,
    ChatFriendListSerializer,
    ChatFriendRequestInputSerializer,
    ChatFriendRequestListSerializer,
    ChatFriendRequestQuerySerializer,
    ChatFriendRequestSerializer,
    ChatFriendSerializer,
    ChatFriendUpdateSerializer,
    ChatNewRequestsSerializer,
    ChatPeopleQuerySerializer,
)
from .views import ERROR_400, ERROR_401, ERROR_404, ChatAPIMixin

ERROR_429_REQUEST = OpenApiResponse(
    description="`request_pending` (your request waits for an answer), `request_declined` (declined less than 24 "
    "hours ago), `rate_limited` (too many requests in an hour)."
)
_USER = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)
_REQUEST = OpenApiParameter("request_id", OpenApiTypes.INT, OpenApiParameter.PATH)
_GROUP = OpenApiParameter("group_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class PeopleSearchView(APIView):
    @extend_schema(
        parameters=[ChatPeopleQuerySerializer],
        responses={200: ChatContactCardSerializer(many=True), 400: ERROR_400, 401: ERROR_401},
        description=(
            "查找联系人: people whose account, name, nickname, pinyin or initials start with `q` (at most 20), each "
            "with the relation to you (is_friend, remark, request_pending)."
        ),
    )
    def get(self, request):
        params = validated(ChatPeopleQuerySerializer, request.query_params.dict())
        people = social.people_search(viewer=request.user, query=params["q"])
        return Response(ChatContactCardSerializer(people, many=True).data)


class PersonCardView(APIView):
    @extend_schema(
        parameters=[_USER],
        responses={200: ChatContactCardSerializer, 401: ERROR_401, 404: ERROR_404},
        description="用户资料: a person's card (phone, e-mail, roles by the directory rule) and the relation to you.",
    )
    def get(self, request, user_id: int):
        return Response(ChatContactCardSerializer(social.profile_card(viewer=request.user, user_id=user_id)).data)


class FriendRequestListView(ChatAPIMixin, APIView):
    @extend_schema(
        parameters=[ChatFriendRequestQuerySerializer],
        responses={200: ChatFriendRequestListSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "新的朋友: friend requests you received (or `direction=sent`), newest first (at most 200), with "
            "`new_requests`, the badge: pending requests you have not seen. POST seen/ clears the badge."
        ),
    )
    def get(self, request):
        params = validated(ChatFriendRequestQuerySerializer, request.query_params.dict())
        rows = social.friend_requests_of(user=request.user, direction=params["direction"])[:200]
        return Response(
            {
                "results": ChatFriendRequestSerializer(rows, many=True).data,
                "new_requests": social.new_requests_count(user=request.user),
            }
        )

    @extend_schema(
        request=ChatFriendRequestInputSerializer,
        responses={
            201: ChatFriendRequestSerializer,
            400: ERROR_400,
            401: ERROR_401,
            403: OpenApiResponse(description="`blocked`: they do not accept your requests; `you_blocked`."),
            429: ERROR_429_REQUEST,
        },
        description=(
            "添加好友: ask someone with a verification message. They get chat.friend_request (live and on return). "
            "If they had asked you already, this accepts theirs (status accepted)."
        ),
    )
    def post(self, request):
        params = validated(ChatFriendRequestInputSerializer, request.data)
        made = contacts.friend_request_send(
            user=request.user, to_user_id=params["user"], message=params.get("message", "")
        )
        return Response(ChatFriendRequestSerializer(made).data, status=status.HTTP_201_CREATED)


class FriendRequestsSeenView(APIView):
    @extend_schema(
        request=None,
        responses={200: ChatNewRequestsSerializer, 401: ERROR_401},
        description="You have seen your new friend requests: `new_requests` becomes 0.",
    )
    def post(self, request):
        contacts.friend_requests_seen(user=request.user)
        return Response({"new_requests": 0})


class FriendRequestDecideView(ChatAPIMixin, APIView):
    @extend_schema(
        parameters=[_REQUEST],
        request=ChatDecisionSerializer,
        responses={200: ChatFriendRequestSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description=(
            "Accept or decline a request you received. Accepting makes you friends (in 我的好友) and starts your "
            "one-to-one conversation; both sides get chat.friend_request_decided."
        ),
    )
    def post(self, request, request_id: int):
        params = validated(ChatDecisionSerializer, request.data)
        decided = contacts.friend_request_decide(user=request.user, request_id=request_id, accept=params["accept"])
        return Response(ChatFriendRequestSerializer(decided).data)


class FriendListView(APIView):
    @extend_schema(
        responses={200: ChatFriendListSerializer, 401: ERROR_401},
        description="好友: your friend groups in your order, and your friends (group null: the default 我的好友).",
    )
    def get(self, request):
        return Response(
            {
                "groups": ChatFriendGroupSerializer(social.friend_groups_of(user=request.user), many=True).data,
                "friends": ChatFriendSerializer(social.friends_of(user=request.user), many=True).data,
            }
        )


class FriendDetailView(ChatAPIMixin, APIView):
    @extend_schema(
        parameters=[_USER],
        request=ChatFriendUpdateSerializer,
        responses={200: ChatFriendSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="Give a friend a remark name (备注) and/or move them to another of your groups (null: 我的好友).",
    )
    def patch(self, request, user_id: int):
        params = validated(ChatFriendUpdateSerializer, request.data)
        friendship = contacts.friend_update(
            user=request.user,
            friend_id=user_id,
            remark=params.get("remark"),
            group_id=params.get("group"),
            move="group" in params,
        )
        return Response(ChatFriendSerializer(friendship).data)

    @extend_schema(
        parameters=[_USER],
        request=None,
        responses={204: None, 401: ERROR_401, 404: ERROR_404},
        description="删除好友: both sides stop being friends (chat.friend_removed); your conversation stays.",
    )
    def delete(self, request, user_id: int):
        contacts.friend_remove(user=request.user, friend_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FriendGroupListView(ChatAPIMixin, APIView):
    @extend_schema(
        request=ChatFriendGroupInputSerializer,
        responses={201: ChatFriendGroupSerializer, 400: ERROR_400, 401: ERROR_401},
        description="New friend group (分组), placed last.",
    )
    def post(self, request):
        params = validated(ChatFriendGroupInputSerializer, request.data)
        group = contacts.friend_group_create(user=request.user, name=params["name"])
        return Response(ChatFriendGroupSerializer(group).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ChatFriendGroupOrderSerializer,
        responses={200: ChatFriendGroupSerializer(many=True), 400: ERROR_400, 401: ERROR_401},
        description="Order your friend groups: list every one of their ids once, in the order wanted.",
    )
    def put(self, request):
        params = validated(ChatFriendGroupOrderSerializer, request.data)
        groups = contacts.friend_groups_order(user=request.user, group_ids=params["groups"])
        return Response(ChatFriendGroupSerializer(groups, many=True).data)


class FriendGroupDetailView(ChatAPIMixin, APIView):
    @extend_schema(
        parameters=[_GROUP],
        request=ChatFriendGroupInputSerializer,
        responses={200: ChatFriendGroupSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="Rename a friend group.",
    )
    def patch(self, request, group_id: int):
        params = validated(ChatFriendGroupInputSerializer, request.data)
        return Response(
            ChatFriendGroupSerializer(
                contacts.friend_group_rename(user=request.user, group_id=group_id, name=params["name"])
            ).data
        )

    @extend_schema(
        parameters=[_GROUP],
        request=None,
        responses={204: None, 401: ERROR_401, 404: ERROR_404},
        description="Delete a friend group; its friends go back to 我的好友.",
    )
    def delete(self, request, group_id: int):
        contacts.friend_group_delete(user=request.user, group_id=group_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
