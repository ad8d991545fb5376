"""The directory: search every active user by account, name, nickname or pinyin; public profiles."""

from __future__ import annotations

from django.db.models import F
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.pagination import CompositeKeysetPagination
from orgtree import selectors as org_selectors

from .. import selectors
from .common import ERROR_400, ERROR_401, ERROR_404, ERROR_404_CURSOR, ERROR_404_UNIT
from .serializers import (
    DirectoryQuerySerializer,
    MembersQuerySerializer,
    PublicUserSerializer,
)


class DirectoryRoleSerializer(serializers.Serializer):
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    unit = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})
    def get_unit(self, assignment) -> dict:
        return {"id": assignment.unit_id, "name": assignment.unit.name}


class DirectoryUserSerializer(PublicUserSerializer):
    """Public fields for everyone; phone, e-mail and roles only for the colleagues the directory
    rule names (``accounts.scope.Scope.sees_details_of``), null otherwise. The view marks each
    user with ``accounts.selectors.directory_details`` first."""

    details_visible = serializers.SerializerMethodField(
        help_text="Whether phone, email and roles are shown: yourself, your unit and the units below it, "
        "role holders above you, the subtrees where you hold a role; students and parents see only "
        "their own school's staff and teachers."
    )
    phone = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()

    class Meta(PublicUserSerializer.Meta):
        fields = (*PublicUserSerializer.Meta.fields, "details_visible", "phone", "email", "roles")
        read_only_fields = fields

    def get_details_visible(self, user) -> bool:
        return bool(getattr(user, "details_visible", False))

    def get_phone(self, user) -> str | None:
        return user.phone if self.get_details_visible(user) else None

    def get_email(self, user) -> str | None:
        return user.email if self.get_details_visible(user) else None

    @extend_schema_field(DirectoryRoleSerializer(many=True, allow_null=True))
    def get_roles(self, user) -> list | None:
        if not self.get_details_visible(user):
            return None
        return DirectoryRoleSerializer(getattr(user, "directory_roles", []), many=True).data


class DirectorySearchPagination(CompositeKeysetPagination):
    ordering = ("term", "user_id")


class UserDirectoryViewSet(GenericViewSet):
    """Find colleagues (2.3.1): active users; details by the directory rule."""

    serializer_class = DirectoryUserSerializer
    pagination_class = DirectorySearchPagination
    lookup_value_converter = "int"

    def get_queryset(self):
        return selectors.directory_users()

    @extend_schema(
        parameters=[DirectoryQuerySerializer],
        responses={200: DirectoryUserSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404_CURSOR},
        description=(
            "Users whose account, name, nickname, pinyin or pinyin initials start with `search`. "
            "A user matching on several terms appears once per page; the whole directory is not listed."
        ),
    )
    def list(self, request):
        query = DirectoryQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        terms = selectors.directory_search(query=query.validated_data["search"])
        page = self.paginate_queryset(terms)
        seen: set[int] = set()
        users = []
        for term in page:
            if term.user_id not in seen:
                seen.add(term.user_id)
                users.append(term.user)
        users = selectors.directory_details(viewer=request.user, people=users)
        return self.get_paginated_response(self.get_serializer(users, many=True).data)

    @extend_schema(responses={200: DirectoryUserSerializer, 401: ERROR_401, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        user = selectors.directory_user_get(user_id=pk)
        selectors.directory_details(viewer=request.user, people=[user])
        return Response(self.get_serializer(user).data)


# --- Account management (unit administrators) ----------------------------------------------------


class MemberPagination(CompositeKeysetPagination):
    ordering = ("id",)


class UnitMembersView(GenericAPIView):
    """The people of a unit in the org directory (组织机构, 2.3.3 / 2.3.4): open to every signed-in user."""

    serializer_class = DirectoryUserSerializer
    pagination_class = MemberPagination

    @extend_schema(
        operation_id="org_units_members_list",
        tags=["org"],
        parameters=[MembersQuerySerializer],
        responses={
            200: DirectoryUserSerializer(many=True),
            400: ERROR_400,
            401: ERROR_401,
            404: ERROR_404_UNIT,
        },
        description=(
            "Active members of the unit (with `subtree`: of the units below too); phone, email and roles "
            "by the directory rule (`details_visible`)."
        ),
    )
    def get(self, request, pk: int):
        query = MembersQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        unit = org_selectors.unit_get(unit_id=pk)
        subtree = query.validated_data["subtree"]
        users = selectors.unit_members(unit=unit, subtree=subtree)
        if subtree:
            # Keyset on (unit path, id): tree order, and a page never depends on an OFFSET.
            users = users.annotate(unit_path=F("unit__path"))
            self.keyset_ordering = ("unit_path", "id")
        page = selectors.directory_details(viewer=request.user, people=list(self.paginate_queryset(users)))
        return self.get_paginated_response(DirectoryUserSerializer(page, many=True, context={"request": request}).data)
