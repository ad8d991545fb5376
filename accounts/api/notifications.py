"""The notification centre over the API (the bell for phones), notification preferences and the
push-device registry."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.core.api.pagination import KeysetPagination
from helpdesk.core.api.serializers import StrictSerializer

from .. import selectors, services
from ..models import Notification, PushDevice, PushPlatform
from .common import ERROR_400, ERROR_401, ERROR_404, ERROR_404_CURSOR, service_call


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "subject_type", "subject_id", "created_at", "read_at", "read"]
        read_only_fields = fields

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class NotificationPagination(KeysetPagination):
    ordering = "-id"


class UnreadCountSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()


class MarkReadSerializer(StrictSerializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=500)
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("all") and not attrs.get("ids"):
            raise ValidationError({"ids": ["Give the ids to mark read, or all: true."]})
        return attrs


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(read_only=True)
    portal = serializers.BooleanField(read_only=True, help_text="Always on: the bell in the portal and the app.")
    email = serializers.BooleanField()
    push = serializers.BooleanField()


class PreferenceUpdateSerializer(StrictSerializer):
    kind = serializers.CharField(max_length=48)
    email = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)


class NotificationListView(ListAPIView):
    """The signed-in user's notifications, newest first; `?unread=true` for the unread ones."""

    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "false")
        if unread not in ("true", "false"):
            raise ValidationError({"unread": ["Use true or false."]})
        return selectors.notifications_of(user=self.request.user, unread_only=unread == "true")

    @extend_schema(
        operation_id="notifications_list",
        parameters=[OpenApiParameter("unread", bool, description="Only unread notifications (true/false).")],
        responses={200: NotificationSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404_CURSOR},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class UnreadCountView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="notifications_unread_count", responses={200: UnreadCountSerializer, 401: ERROR_401})
    def get(self, request):
        """The bell's number."""
        return Response({"unread_count": selectors.notification_unread_count(user=request.user)})


class MarkReadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="notifications_mark_read",
        request=MarkReadSerializer,
        responses={200: MarkedSerializer, 400: ERROR_400, 401: ERROR_401},
    )
    def post(self, request):
        """Mark notifications read: `{"ids": [...]}` (ids that are not yours are ignored) or `{"all": true}`."""
        data = MarkReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = None if data.validated_data.get("all") else data.validated_data["ids"]
        marked = services.notifications_mark_read(user=request.user, ids=ids)
        return Response({"marked": marked, "unread_count": selectors.notification_unread_count(user=request.user)})


class PreferencesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="notification_preferences_list", responses={200: PreferenceSerializer(many=True), 401: ERROR_401}
    )
    def get(self, request):
        """Each kind of notification and the channels that reach you (the portal always)."""
        return Response(selectors.notification_preferences_of(user=request.user))

    @extend_schema(
        operation_id="notification_preferences_update",
        request=PreferenceUpdateSerializer(many=True),
        responses={200: PreferenceSerializer(many=True), 400: ERROR_400, 401: ERROR_401},
    )
    def put(self, request):
        """Choose e-mail and push per kind: a list of `{kind, email, push}`; kinds left out keep theirs."""
        data = PreferenceUpdateSerializer(data=request.data, many=True)
        data.is_valid(raise_exception=True)
        choices = {
            row["kind"]: {name: row[name] for name in ("email", "push") if name in row} for row in data.validated_data
        }
        service_call(services.notification_preferences_set, user=request.user, choices=choices)
        return Response(selectors.notification_preferences_of(user=request.user))


class PushDeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PushDevice
        fields = ["id", "platform", "name", "created_at", "last_seen_at"]
        read_only_fields = fields


class PushDeviceRegisterSerializer(StrictSerializer):
    platform = serializers.ChoiceField(choices=PushPlatform.choices)
    token = serializers.CharField(max_length=512)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class PushDeviceListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="push_devices_list", responses={200: PushDeviceSerializer(many=True), 401: ERROR_401})
    def get(self, request):
        """The phones registered for your offline notifications."""
        return Response(PushDeviceSerializer(selectors.push_devices_of(user=request.user), many=True).data)

    @extend_schema(
        operation_id="push_devices_register",
        request=PushDeviceRegisterSerializer,
        responses={201: PushDeviceSerializer, 400: ERROR_400, 401: ERROR_401},
    )
    def post(self, request):
        """Register this phone's push token (from the provider's SDK); registering it again updates it."""
        data = PushDeviceRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = service_call(services.push_device_register, user=request.user, **data.validated_data)
        return Response(PushDeviceSerializer(device).data, status=status.HTTP_201_CREATED)


class PushDeviceDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="push_devices_delete",
        responses={204: OpenApiResponse(description="Unregistered."), 401: ERROR_401, 404: ERROR_404},
    )
    def delete(self, request, pk: int):
        """Stop pushing to this phone (for example at sign-out)."""
        device = selectors.push_devices_of(user=request.user).filter(pk=pk).first()
        if device is None:
            from django.http import Http404

            raise Http404
        services.push_device_delete(device=device)
        return Response(status=status.HTTP_204_NO_CONTENT)
