"""Token sign-in, refresh and sign-out, the account's devices, and the signed-in user: profile, password, duty."""

from __future__ import annotations

from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import DeviceTokenAuthentication
from helpdesk.core.api.parsers import JSONParser, MultiPartParser
from helpdesk.core.api.serializers import ErrorSerializer

from .. import selectors, services
from ..models import DeviceSession, Role
from .common import ERROR_400, ERROR_401, ERROR_403, ERROR_404, LockedOut, service_call
from .serializers import (
    DeviceSerializer,
    DutySerializer,
    PasswordChangedSerializer,
    PasswordChangeSerializer,
    ProfileSerializer,
    ProfileTextSerializer,
    ProfileUpdateSerializer,
    RefreshedTokenSerializer,
    RoleAssignmentSerializer,
    TokenLoginSerializer,
    TokenRefreshSerializer,
    TokenSerializer,
)


class InvalidCredentials(exceptions.AuthenticationFailed):
    default_code = "invalid_credentials"
    default_detail = _lazy("The account or password is incorrect, or the account is deactivated.")


def _device_name(request, given: str | None) -> str:
    return services.devices.device_name(given=given, user_agent=request.META.get("HTTP_USER_AGENT"), fallback=_("App"))


class TokenView(APIView):
    """POST signs in with account and password: a new device with its own tokens. DELETE signs this
    device out (as ``POST auth/logout/``)."""

    def get_authenticators(self):
        # Signing in needs no credentials, and without session authentication no CSRF token is
        # asked of a client that has never seen a page.
        if self.request is not None and self.request.method == "POST":
            return []
        return [DeviceTokenAuthentication(), SessionAuthentication()]

    def get_permissions(self):
        if self.request is not None and self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_authenticate_header(self, request):
        # A wrong password is a 401 (DRF turns one without this header into a 403).
        return DeviceTokenAuthentication().authenticate_header(request)

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenLoginSerializer,
        responses={
            200: TokenSerializer,
            400: ERROR_400,
            401: OpenApiResponse(
                ErrorSerializer,
                description="Wrong account or password, or a deactivated account (code `invalid_credentials`).",
            ),
            429: OpenApiResponse(
                ErrorSerializer, description="Locked after repeated failed logins (code `locked_out`)."
            ),
        },
        auth=[],
        description=(
            "Sign in with the account and password. Every sign-in is its own device with its own access "
            "token (`expires_at`) and refresh token: signing out or revoking one device leaves the others "
            "signed in. Five failed attempts lock the account on this client."
        ),
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
            raise InvalidCredentials()
        issued = services.token_issue(
            user=user, name=_device_name(request, serializer.validated_data.get("device_name"))
        )
        return Response(
            {
                **_tokens(issued),
                "device": DeviceSerializer(issued.device).data,
                "user": ProfileSerializer(user, context={"request": request}).data,
            }
        )

    @extend_schema(
        operation_id="auth_token_destroy",
        request=None,
        responses={204: None, 401: ERROR_401},
        description="Sign this device out (the same as `POST /api/v1/auth/logout/`).",
    )
    def delete(self, request):
        _sign_out(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _tokens(issued: services.IssuedTokens) -> dict:
    return {
        "token": issued.key,
        "expires_at": issued.expires_at,
        "refresh_token": issued.refresh_token,
        "refresh_expires_at": issued.refresh_expires_at,
    }


def _sign_out(request) -> None:
    """End the credential of this request only: the device's tokens, or the browser session."""
    if isinstance(request.auth, DeviceSession):
        services.device_sign_out(device=request.auth)
    else:
        # A browser calling the API with its session: the portal's sign-out (sockets close on the signal).
        logout(request._request)


class SignOutView(APIView):
    open_before_password_change = ("POST",)

    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: None, 401: ERROR_401},
        description=(
            "Sign out this device: its tokens stop working and its open sockets are closed (4401, "
            "`session.ended` with reason `signed_out`). The account's other devices stay signed in."
        ),
    )
    def post(self, request):
        _sign_out(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRefreshView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_token_refresh",
        request=TokenRefreshSerializer,
        responses={200: RefreshedTokenSerializer, 400: ERROR_400},
        auth=[],
        description=(
            "Trade the refresh token for a new access token and refresh token (also after the access "
            "token expired). The old pair stops working at once; the device and its sockets stay."
        ),
    )
    def post(self, request):
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = service_call(services.token_refresh, refresh_token=serializer.validated_data["refresh_token"])
        return Response(_tokens(issued))


class DeviceListView(APIView):
    @extend_schema(
        operation_id="me_devices_list",
        responses={200: DeviceSerializer(many=True), 401: ERROR_401},
        description="The account's signed-in devices (apps and browsers), most recently used first; "
        "`current` marks the one making this request.",
    )
    def get(self, request):
        devices = selectors.user_devices(user=request.user)
        return Response(DeviceSerializer(devices, many=True, context={"request": request}).data)


class DeviceDetailView(APIView):
    @extend_schema(
        operation_id="me_devices_destroy",
        request=None,
        responses={204: None, 401: ERROR_401, 404: ERROR_404},
        description="Sign one of the account's devices out (its sockets close with 4401, reason "
        "`token_revoked`). Revoking the current device is signing out.",
    )
    def delete(self, request, pk: int):
        services.device_revoke(user=request.user, device_id=pk)
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
            "Change one's own password (old password and Django's validators). Every other device of the "
            "account is signed out and its sockets closed; this device stays signed in with its token."
        ),
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = request.auth if isinstance(request.auth, DeviceSession) else None
        if device is None:
            device = selectors.device_for_session(session_key=request._request.session.session_key)
        user = service_call(
            services.password_change, user=request.user, keep_device=device, **serializer.validated_data
        )
        if not isinstance(request.auth, DeviceSession):
            old_key = request._request.session.session_key
            update_session_auth_hash(request._request, user)
            services.browser_session_moved(old_key=old_key, session=request._request.session)
        return Response({"detail": _("Your password was changed."), "token": None})


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
