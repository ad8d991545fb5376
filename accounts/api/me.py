"""Token login and logout, and the signed-in user: profile, password, duty."""

from __future__ import annotations

from django.contrib.auth import authenticate, update_session_auth_hash
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import UnitTokenAuthentication
from helpdesk.core.api.parsers import JSONParser, MultiPartParser
from helpdesk.core.api.serializers import ErrorSerializer

from .. import selectors, services
from ..models import Role
from .common import ERROR_400, ERROR_401, ERROR_403, LockedOut, service_call
from .serializers import (
    DutySerializer,
    PasswordChangedSerializer,
    PasswordChangeSerializer,
    ProfileSerializer,
    ProfileTextSerializer,
    ProfileUpdateSerializer,
    RoleAssignmentSerializer,
    TokenLoginSerializer,
    TokenSerializer,
)


class TokenView(APIView):
    """POST signs in with account and password and returns a token; DELETE revokes it."""

    def get_authenticators(self):
        # Signing in needs no credentials, and without session authentication no CSRF token is
        # asked of a client that has never seen a page.
        if self.request is not None and self.request.method == "POST":
            return []
        return [UnitTokenAuthentication(), SessionAuthentication()]

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
    # Readable before a forced password change: the profile's password_change_required says why
    # the rest answers 403.
    open_before_password_change = ("GET",)

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
        user = service_call(services.profile_update, user=request.user, data=data)
        return Response(ProfileSerializer(user, context={"request": request}).data)


class PasswordChangeView(APIView):
    open_before_password_change = ("POST",)

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
        user = service_call(services.password_change, user=request.user, **serializer.validated_data)
        token = None
        if isinstance(request.auth, Token):
            token = services.token_issue(user=user).key
        else:
            update_session_auth_hash(request._request, user)
        return Response({"detail": _("Your password was changed."), "token": token})


class DutyView(APIView):
    @extend_schema(
        request=DutySerializer,
        responses={200: RoleAssignmentSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 403: ERROR_403},
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
