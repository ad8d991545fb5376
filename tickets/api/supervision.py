"""What supervisors do around tickets: follow up poor ratings, and choose whether their unit's
answers are reviewed."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts import selectors as account_selectors
from helpdesk.core.api.delta import DeltaPagination, SyncTokenPagination

from .. import selectors, services
from ..models import FollowUp
from .common import ERROR_400, ERROR_401, ERROR_403, ERROR_404, ERROR_404_CURSOR, ERROR_410_RESYNC
from .serializers import (
    FollowUpCompleteSerializer,
    FollowUpQuerySerializer,
    FollowUpSerializer,
    SupportSettingsSerializer,
    SupportSettingsUpdateSerializer,
)


class FollowUpPagination(SyncTokenPagination):
    page_size = 20
    max_page_size = 100


class FollowUpViewSet(GenericViewSet):
    """一般 / 不满意 ratings open a follow-up for the supervisors of the answering unit, due in 24 hours."""

    serializer_class = FollowUpSerializer
    pagination_class = FollowUpPagination
    lookup_value_converter = "int"

    # Soonest due first; due_at is never null, so it keys the pages.
    keyset_ordering = ("due_at", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FollowUp.objects.none()
        return selectors.follow_ups_for(user=self.request.user)

    @extend_schema(
        parameters=[FollowUpQuerySerializer],
        responses={
            200: FollowUpSerializer(many=True),
            400: ERROR_400,
            401: ERROR_401,
            404: ERROR_404_CURSOR,
            410: ERROR_410_RESYNC,
        },
        description=(
            "Follow-ups of the units you supervise (with their subtrees), open ones first, soonest due first. "
            "Delta sync as for the ticket lists: send the page's `sync_token` as `updated_after` next time for "
            "the follow-ups changed since, oldest change first, and `removed` (with `open=true`, the ones done "
            "since; any deleted with their ticket)."
        ),
    )
    def list(self, request):
        query = FollowUpQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        open_only = query.validated_data["open"]
        after = query.validated_data.get("updated_after")
        if after is not None:
            source = selectors.follow_up_delta_source(user=request.user, open_only=open_only)
            paginator = DeltaPagination(page_size=FollowUpPagination.page_size)
            page = paginator.paginate(
                request, source, after=after, shape=lambda rows: rows.select_related("ticket", "unit", "done_by")
            )
            return paginator.response(page, self.get_serializer(page.rows, many=True).data)
        follow_ups = selectors.follow_ups_for(user=request.user, open_only=open_only)
        page = self.paginate_queryset(follow_ups)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=FollowUpCompleteSerializer,
        responses={200: FollowUpSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="Record what the follow-up found and did, and close it.",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        serializer = FollowUpCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        follow_up = self._follow_up(pk)
        follow_up = services.follow_up_complete(follow_up=follow_up, user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(self._follow_up(follow_up.pk)).data)

    def _follow_up(self, pk: int) -> FollowUp:
        return selectors.follow_up_get(user=self.request.user, pk=pk)  # Http404 when not the user's


class SupportSettingsView(APIView):
    """A unit administrator turns answer review on or off for the unit (on unless turned off)."""

    def _unit(self, request, unit_id: int):
        if not account_selectors.is_unit_admin(actor=request.user):
            raise exceptions.PermissionDenied(_("Only unit administrators change support settings."))
        # A unit outside the administrator's subtree does not exist for them.
        return account_selectors.managed_unit_get(actor=request.user, unit_id=unit_id)

    @staticmethod
    def _body(unit, review_required: bool) -> dict:
        return {"unit": unit.pk, "review_required": review_required}

    @extend_schema(
        operation_id="tickets_support_settings_retrieve",
        responses={200: SupportSettingsSerializer, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
    )
    def get(self, request, unit_id: int):
        unit = self._unit(request, unit_id)
        return Response(self._body(unit, selectors.review_required(unit_id=unit.pk)))

    @extend_schema(
        operation_id="tickets_support_settings_update",
        request=SupportSettingsUpdateSerializer,
        responses={200: SupportSettingsSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
    )
    def put(self, request, unit_id: int):
        unit = self._unit(request, unit_id)
        serializer = SupportSettingsUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        settings = services.support_settings_set(unit=unit, admin=request.user, **serializer.validated_data)
        return Response(self._body(unit, settings.review_required))
