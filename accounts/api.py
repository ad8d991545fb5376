"""REST API of accounts: token login, the signed-in user, the directory, account management.

Thin views: serializers check the shape of the input, accounts.services does every write and
accounts.selectors every scoped read. An account outside an administrator's subtree is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from helpdesk.api.pagination import CompositeKeysetPagination, KeysetPagination
from orgtree.models import OrgUnit

from . import selectors, services
from .models import HandlingGroup, Role, RoleAssignment, User
from .serializers import (
    AccountCreateSerializer,
    AccountImportSerializer,
    AccountQuerySerializer,
    AccountSerializer,
    AccountUpdateSerializer,
    DirectoryQuerySerializer,
    DutySerializer,
    ErrorSerializer,
    ImportResultSerializer,
    IssuedAccountSerializer,
    PasswordChangedSerializer,
    PasswordChangeSerializer,
    ProfileSerializer,
    ProfileTextSerializer,
    ProfileUpdateSerializer,
    PublicUserSerializer,
    RoleAssignmentSerializer,
    RoleGrantSerializer,
    TokenLoginSerializer,
    TokenSerializer,
)

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_403 = OpenApiResponse(ErrorSerializer, description="Signed in but not allowed.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such object, or not one you may see.")


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"
    default_detail = gettext_lazy("Too many failed logins. This account is locked on this device for 15 minutes.")


class IsUnitAdmin(BasePermission):
    message = gettext_lazy("Only unit administrators manage accounts.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and selectors.is_unit_admin(actor=request.user))


def _service_call(func, /, *args, rename: dict[str, str] | None = None, **kwargs):
    """Call a service; its field errors come back under the API's field names (``username`` → ``account``)."""
    rename = {"username": "account", **(rename or {})}
    try:
        return func(*args, **kwargs)
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise exceptions.ValidationError(
                {rename.get(name, name): messages for name, messages in exc.message_dict.items()}
            ) from exc
        raise exceptions.ValidationError({"non_field_errors": exc.messages}) from exc


def _unit_or_400(unit_id: int, field: str = "unit") -> OrgUnit:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise exceptions.ValidationError({field: [_("There is no unit with this id.")]})
    return unit


# --- Token login (mobile clients and scripts) -----------------------------------------------------
class TokenView(APIView):
    """POST signs in with account and password and returns a token; DELETE revokes it."""

    def get_authenticators(self):
        # Signing in needs no credentials, and without session authentication no CSRF token is
        # asked of a client that has never seen a page.
        if self.request is not None and self.request.method == "POST":
            return []
        return [TokenAuthentication(), SessionAuthentication()]

    def get_permissions(self):
        if self.request is not None and self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenLoginSerializer,
        responses={
            200: TokenSerializer,
            400: ERROR_400,
            429: OpenApiResponse(
                ErrorSerializer, description="Locked after repeated failed logins (code `locked_out`)."
            ),
        },
        auth=[],
        description="Sign in with the account and password. Five failed attempts lock the account on this client.",
    )
    def post(self, request):
        serializer = TokenLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # django-axes counts this attempt and refuses locked accounts inside authenticate().
        user = authenticate(
            request=request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        # axes flags the request it was given (DRF's Request falls back to Django's for reads).
        if getattr(request, "axes_locked_out", False):
            raise LockedOut()
        if user is None:
            # Inactive accounts land here too: ModelBackend refuses them.
            raise exceptions.ValidationError(
                {"non_field_errors": [_("The account or password is incorrect, or the account is deactivated.")]}
            )
        token = services.token_issue(user=user)
        return Response({"token": token.key, "user": ProfileSerializer(user, context={"request": request}).data})

    @extend_schema(operation_id="auth_token_destroy", request=None, responses={204: None, 401: ERROR_401})
    def delete(self, request):
        services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The signed-in user -----------------------------------------------------------------------------
class MeView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: ProfileSerializer, 401: ERROR_401})
    def get(self, request):
        return Response(ProfileSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        request={"application/json": ProfileTextSerializer, "multipart/form-data": ProfileUpdateSerializer},
        responses={200: ProfileSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "Edit one's nickname, phone and e-mail as JSON; upload an avatar as multipart/form-data "
            '(JSON `{"avatar": null}` removes it).'
        ),
    )
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "avatar" in data and data["avatar"] is None:
            data["avatar"] = ""
        user = _service_call(services.profile_update, user=request.user, data=data)
        return Response(ProfileSerializer(user, context={"request": request}).data)


class PasswordChangeView(APIView):
    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: PasswordChangedSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "Change one's own password (old password and Django's validators). Every token of the account "
            "is revoked; a client that signed in with a token receives its replacement in `token`."
        ),
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _service_call(services.password_change, user=request.user, **serializer.validated_data)
        token = None
        if isinstance(request.auth, Token):
            token = services.token_issue(user=user).key
        else:
            update_session_auth_hash(request._request, user)
        return Response({"detail": _("Your password was changed."), "token": token})


class DutyView(APIView):
    @extend_schema(
        request=DutySerializer,
        responses={200: RoleAssignmentSerializer(many=True), 400: ERROR_400, 403: ERROR_403},
        description="A support agent goes on or off duty; routing skips agents who are off duty.",
    )
    def post(self, request):
        serializer = DutySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignments = selectors.user_roles(user=request.user).filter(role=Role.SUPPORT_AGENT)
        if "assignment" in serializer.validated_data:
            assignments = assignments.filter(pk=serializer.validated_data["assignment"])
        assignments = list(assignments)
        if not assignments:
            if "assignment" in serializer.validated_data:
                raise exceptions.ValidationError({"assignment": [_("You hold no such support-agent role.")]})
            raise exceptions.PermissionDenied(_("Only support agents go on and off duty."))
        for assignment in assignments:
            services.agent_set_duty(assignment=assignment, on_duty=serializer.validated_data["on_duty"])
        return Response(RoleAssignmentSerializer(assignments, many=True, context={"request": request}).data)


# --- Directory ----------------------------------------------------------------------------------------
class DirectorySearchPagination(CompositeKeysetPagination):
    ordering = ("term", "user_id")


class UserDirectoryViewSet(GenericViewSet):
    """Find colleagues (2.3.1): public fields only, active users only."""

    serializer_class = PublicUserSerializer
    pagination_class = DirectorySearchPagination
    lookup_value_converter = "int"

    def get_queryset(self):
        return selectors.directory_users()

    @extend_schema(
        parameters=[DirectoryQuerySerializer],
        responses={200: PublicUserSerializer(many=True), 400: ERROR_400, 401: ERROR_401},
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
        return self.get_paginated_response(self.get_serializer(users, many=True).data)

    @extend_schema(responses={200: PublicUserSerializer, 401: ERROR_401, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        user = selectors.directory_user_get(user_id=pk)
        return Response(self.get_serializer(user).data)


# --- Account management (unit administrators) ----------------------------------------------------
class AccountPagination(KeysetPagination):
    ordering = "id"


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
        responses={200: AccountSerializer(many=True), 400: ERROR_400, 403: ERROR_403},
    )
    def list(self, request):
        query = AccountQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        users = self.get_queryset()
        if "unit" in params:
            unit = OrgUnit.objects.filter(pk=params["unit"]).only("path").first()
            if unit is None:
                users = users.none()
            elif params.get("subtree"):
                users = users.filter(unit__path__startswith=unit.path)
            else:
                users = users.filter(unit=unit)
        if "user_type" in params:
            users = users.filter(user_type=params["user_type"])
        if "is_active" in params:
            users = users.filter(is_active=params["is_active"])
        if params.get("search"):
            needle = params["search"].strip()
            users = users.filter(Q(username__startswith=needle) | Q(name__startswith=needle))
        page = self.paginate_queryset(users)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=AccountCreateSerializer,
        responses={201: IssuedAccountSerializer, 400: ERROR_400, 403: ERROR_403},
        description="Issue one account in a unit you manage. The initial password is shown in this answer only.",
    )
    def create(self, request):
        serializer = AccountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        unit = _unit_or_400(data.pop("unit"))
        issued = _service_call(
            services.user_create, actor=request.user, username=data.pop("account"), unit=unit, **data
        )
        return Response(self._issued(issued.user, issued.password), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: AccountSerializer, 403: ERROR_403, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=AccountUpdateSerializer,
        responses={200: AccountSerializer, 400: ERROR_400, 403: ERROR_403, 404: ERROR_404},
    )
    def partial_update(self, request, pk=None):
        user = self.get_object()
        serializer = AccountUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "unit" in data:
            data["unit"] = _unit_or_400(data["unit"])
        user = _service_call(services.user_update, actor=request.user, user=user, data=data)
        return Response(self.get_serializer(user).data)

    @extend_schema(
        request=None,
        responses={200: AccountSerializer, 400: ERROR_400, 403: ERROR_403, 404: ERROR_404},
        description="Deactivate the account: it can no longer sign in and its tokens are revoked.",
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = _service_call(services.user_deactivate, actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses={200: AccountSerializer, 403: ERROR_403, 404: ERROR_404})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        user = _service_call(services.user_activate, actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)

    @extend_schema(
        request=None,
        responses={200: IssuedAccountSerializer, 403: ERROR_403, 404: ERROR_404},
        description="Give the account a new random password (shown in this answer only) and revoke its tokens.",
    )
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        user = self.get_object()
        password = _service_call(services.user_reset_password, actor=request.user, user=user)
        return Response(self._issued(user, password))

    @extend_schema(
        request={"multipart/form-data": AccountImportSerializer},
        responses={200: ImportResultSerializer, 400: ERROR_400, 403: ERROR_403},
        description=(
            "Issue accounts from a CSV or XLSX file. Every good row is created; every bad row is reported "
            "with its line number. The answer is 200 even when some rows fail; 400 means the file itself "
            "could not be read."
        ),
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request):
        serializer = AccountImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > settings.ACCOUNT_IMPORT_MAX_BYTES:
            raise exceptions.ValidationError({"file": [_("The file is larger than 5 MB.")]})
        result = _service_call(
            services.users_import, actor=request.user, filename=upload.name or "", content=upload.read()
        )
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
                "errors": [{"line": error.line, "messages": error.messages} for error in result.errors],
            }
        )

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: RoleAssignmentSerializer(many=True), 403: ERROR_403, 404: ERROR_404},
        description="The account's roles in the units you manage.",
    )
    @extend_schema(
        methods=["POST"],
        request=RoleGrantSerializer,
        responses={201: RoleAssignmentSerializer, 400: ERROR_400, 403: ERROR_403, 404: ERROR_404},
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
        unit = _unit_or_400(data["unit"])
        groups = None
        if "handling_groups" in data:
            codes = set(data["handling_groups"])
            groups = list(HandlingGroup.objects.filter(code__in=codes))
            unknown = codes - {group.code for group in groups}
            if unknown:
                raise exceptions.ValidationError(
                    {"handling_groups": [_("There is no handling group %s.") % code for code in sorted(unknown)]}
                )
        assignment = _service_call(
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


class RoleAssignmentViewSet(GenericViewSet):
    serializer_class = RoleAssignmentSerializer
    permission_classes = [IsAuthenticated, IsUnitAdmin]
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RoleAssignment.objects.none()
        return selectors.managed_role_assignments(actor=self.request.user)

    @extend_schema(responses={204: None, 403: ERROR_403, 404: ERROR_404}, description="Take a role away.")
    def destroy(self, request, pk=None):
        assignment = self.get_queryset().filter(pk=pk).first()
        if assignment is None:
            raise exceptions.NotFound()
        _service_call(services.role_revoke, actor=request.user, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)
