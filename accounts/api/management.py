"""Account management for unit administrators, scoped to their subtree, and role assignments."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.pagination import KeysetPagination
from orgtree.models import OrgUnit

from .. import selectors, services
from ..models import HandlingGroup, RoleAssignment, User
from .common import ERROR_400, ERROR_401, ERROR_403, ERROR_404, ERROR_404_CURSOR, IsUnitAdmin, service_call, unit_or_400
from .serializers import (
    AccountCreateSerializer,
    AccountImportSerializer,
    AccountQuerySerializer,
    AccountSerializer,
    AccountUpdateSerializer,
    ImportResultSerializer,
    IssuedAccountSerializer,
    RoleAssignmentSerializer,
    RoleChangeSerializer,
    RoleGrantSerializer,
    RoleUpdateSerializer,
)


class AccountPagination(KeysetPagination):
    ordering = "id"


class RoleChangePagination(KeysetPagination):
    ordering = "-id"


def handling_groups_or_400(codes: list[str]) -> list[HandlingGroup]:
    wanted = set(codes)
    groups = list(HandlingGroup.objects.filter(code__in=wanted))
    unknown = wanted - {group.code for group in groups}
    if unknown:
        raise exceptions.ValidationError(
            {"handling_groups": [_("There is no handling group %s.") % code for code in sorted(unknown)]}
        )
    return groups


class AccountViewSet(GenericViewSet):
    """Accounts of the units an administrator manages (账号由上级教育部门分配)."""

    serializer_class = AccountSerializer
    pagination_class = AccountPagination
    permission_classes = [IsAuthenticated, IsUnitAdmin]
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        return selectors.managed_users(actor=self.request.user)

    def get_object(self) -> User:
        return selectors.managed_user_get(actor=self.request.user, user_id=self.kwargs["pk"])

    def _issued(self, user: User, password: str) -> dict:
        return {
            "user": AccountSerializer(user, context=self.get_serializer_context()).data,
            "password": password,
        }

    @extend_schema(
        parameters=[AccountQuerySerializer],
        responses={
            200: AccountSerializer(many=True),
            400: ERROR_400,
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404_CURSOR,
        },
    )
    def list(self, request):
        query = AccountQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        unit = None
        if "unit" in params:
            unit = OrgUnit.objects.filter(pk=params["unit"]).only("path").first()
        users = (
            User.objects.none()
            if "unit" in params and unit is None
            else selectors.managed_users_filtered(
                actor=request.user,
                unit=unit,
                subtree=bool(params.get("subtree")),
                user_type=params.get("user_type"),
                is_active=params.get("is_active"),
                search=params.get("search"),
            )
        )
        page = self.paginate_queryset(users)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=AccountCreateSerializer,
        responses={201: IssuedAccountSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403},
        description="Issue one account in a unit you manage. The initial password is shown in this answer only.",
    )
    def create(self, request):
        serializer = AccountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        unit = unit_or_400(data.pop("unit"))
        issued = service_call(services.user_create, actor=request.user, username=data.pop("account"), unit=unit, **data)
        return Response(self._issued(issued.user, issued.password), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: AccountSerializer, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=AccountUpdateSerializer,
        responses={200: AccountSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
    )
    def partial_update(self, request, pk=None):
        user = self.get_object()
        serializer = AccountUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "unit" in data:
            data["unit"] = unit_or_400(data["unit"])
        user = service_call(services.user_update, actor=request.user, user=user, data=data)
        return Response(self.get_serializer(user).data)

    @extend_schema(
        request=None,
        responses={200: AccountSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
        description="Deactivate the account: it can no longer sign in and its tokens are revoked.",
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = service_call(services.user_deactivate, actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses={200: AccountSerializer, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        user = service_call(services.user_activate, actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)

    @extend_schema(
        request=None,
        responses={200: IssuedAccountSerializer, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
        description="Give the account a new random password (shown in this answer only) and revoke its tokens.",
    )
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        user = self.get_object()
        password = service_call(services.user_reset_password, actor=request.user, user=user)
        return Response(self._issued(user, password))

    @extend_schema(
        request={"multipart/form-data": AccountImportSerializer},
        responses={200: ImportResultSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403},
        description=(
            "Issue accounts from a CSV or XLSX file: all of them or none. The whole file is checked "
            "first; if any row is bad the answer is 400, nothing is created, and `fields` holds "
            "`file` (a summary) and one `line.<n>` entry per bad line with its reasons. On 200 every "
            "row was created and its initial password is in this answer only."
        ),
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request):
        serializer = AccountImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > settings.ACCOUNT_IMPORT_MAX_BYTES:
            raise exceptions.ValidationError({"file": [_("The file is larger than 5 MB.")]})
        result = service_call(
            services.users_import, actor=request.user, filename=upload.name or "", content=upload.read()
        )
        if result.errors:
            count = len(result.errors)
            summary = (
                ngettext(
                    "%d row has errors; nothing was imported.", "%d rows have errors; nothing was imported.", count
                )
                % count
            )
            detail = {"file": [summary], "line": {str(error.line): error.messages for error in result.errors}}
            raise exceptions.ValidationError(detail)
        return Response(
            {
                "created": [
                    {
                        "line": line,
                        "id": issued.user.pk,
                        "account": issued.user.username,
                        "password": issued.password,
                    }
                    for line, issued in result.created
                ],
                "errors": [],
            }
        )

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: RoleAssignmentSerializer(many=True), 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
        description="The account's roles in the units you manage.",
    )
    @extend_schema(
        methods=["POST"],
        request=RoleGrantSerializer,
        responses={201: RoleAssignmentSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
        description="Give the account a role in a unit you manage (administrators are appointed from above).",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def roles(self, request, pk=None):
        user = self.get_object()
        if request.method == "GET":
            assignments = selectors.managed_role_assignments(actor=request.user).filter(user=user).order_by("id")
            return Response(RoleAssignmentSerializer(assignments, many=True).data)
        serializer = RoleGrantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        unit = unit_or_400(data["unit"])
        groups = handling_groups_or_400(data["handling_groups"]) if "handling_groups" in data else None
        assignment = service_call(
            services.role_grant,
            actor=request.user,
            user=user,
            unit=unit,
            role=data["role"],
            handling_groups=groups,
            on_duty=data["on_duty"],
        )
        assignment = selectors.user_roles(user=user).get(pk=assignment.pk)
        return Response(RoleAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: RoleChangeSerializer(many=True), 401: ERROR_401, 403: ERROR_403, 404: ERROR_404_CURSOR},
        description="Every appointment, removal and change of duty or handling groups of the account, newest first.",
    )
    @action(detail=True, methods=["get"], url_path="role-changes", pagination_class=RoleChangePagination)
    def role_changes(self, request, pk=None):
        changes = selectors.managed_role_changes(actor=request.user, user_id=pk)
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(RoleChangeSerializer(page, many=True).data)


class RoleAssignmentViewSet(GenericViewSet):
    serializer_class = RoleAssignmentSerializer
    permission_classes = [IsAuthenticated, IsUnitAdmin]
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RoleAssignment.objects.none()
        return selectors.managed_role_assignments(actor=self.request.user)

    @extend_schema(
        responses={204: None, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404}, description="Take a role away."
    )
    def destroy(self, request, pk=None):
        assignment = self.get_queryset().filter(pk=pk).first()
        if assignment is None:
            raise exceptions.NotFound()
        service_call(services.role_revoke, actor=request.user, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=RoleUpdateSerializer,
        responses={200: RoleAssignmentSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
        description="Change a support agent's handling groups or duty.",
    )
    def partial_update(self, request, pk=None):
        assignment = self.get_queryset().filter(pk=pk).first()
        if assignment is None:
            raise exceptions.NotFound()
        serializer = RoleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        groups = handling_groups_or_400(data["handling_groups"]) if "handling_groups" in data else None
        service_call(
            services.role_update,
            actor=request.user,
            assignment=assignment,
            handling_groups=groups,
            on_duty=data.get("on_duty"),
        )
        assignment = selectors.user_roles(user=assignment.user).get(pk=assignment.pk)
        return Response(RoleAssignmentSerializer(assignment).data)
