"""A notice's read statistics over the API: drill-down, units and people that have not read, export.
For the author and the publishing unit's superiors (notices.selectors.stats); others get a 404."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers
from rest_framework.decorators import action
from rest_framework.response import Response

from helpdesk.core.api.serializers import validated

from ..exports import stats_export_response
from ..models import Notice, NoticeState
from ..selectors import stats as stats_selectors
from .common import ERROR_400, ERROR_401, ERROR_404, LIST_ERRORS, unit_or_400
from .renderers import PassthroughRenderer
from .serializers import (
    PendingUnitsQuerySerializer,
    PendingUserSerializer,
    PendingUsersQuerySerializer,
    StatRowSerializer,
    StatsExportQuerySerializer,
    StatsQuerySerializer,
    StatsSerializer,
)


class NoticeStatsMixin:
    def _stats_notice(self) -> Notice:
        notice = self.get_object()
        if notice.state not in (NoticeState.PUBLISHED, NoticeState.WITHDRAWN):
            raise exceptions.NotFound(_("No statistics before the notice is published."))
        return notice

    @extend_schema(
        parameters=[StatsQuerySerializer],
        responses={200: StatsSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description=(
            "Read counts and rates of a unit's subtree and of each unit one level down (drill down province → "
            "city → county → school with `unit`). For the author and the publishing unit's superiors."
        ),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def stats(self, request, pk=None):
        params = validated(StatsQuerySerializer, request.query_params)
        notice = self._stats_notice()
        found = stats_selectors.notice_stats(
            user=request.user, notice=notice, unit=unit_or_400(params.get("unit"), "unit")
        )
        return Response(StatsSerializer(found).data)

    @extend_schema(
        parameters=[PendingUnitsQuerySerializer],
        responses={200: StatRowSerializer(many=True), **LIST_ERRORS},
        description="Units one level below `unit` (or of `level` in its subtree) where someone has not read it "
        "(for a receipt notice: not confirmed), in tree order.",
    )
    @action(detail=True, methods=["get"], url_path="stats/pending-units", url_name="stats-pending-units")
    def pending_units(self, request, pk=None):
        params = validated(PendingUnitsQuerySerializer, request.query_params)
        notice = self._stats_notice()
        rows = stats_selectors.pending_units(
            user=request.user, notice=notice, unit=unit_or_400(params.get("unit"), "unit"), level=params.get("level")
        )
        self.sync_supported = False
        self.keyset_ordering = ("path",)
        page = self.paginate_queryset(rows)
        data = [
            StatRowSerializer(
                stats_selectors.StatRow(row.unit, row.level, row.audience, row.read, row.confirmed, False)
            ).data
            for row in page
        ]
        return self.get_paginated_response(data)

    @extend_schema(
        parameters=[PendingUsersQuerySerializer],
        responses={200: PendingUserSerializer(many=True), **LIST_ERRORS},
        description="The people of the audience in one unit who have not read it (receipt notices: not confirmed).",
    )
    @action(detail=True, methods=["get"], url_path="stats/pending-users", url_name="stats-pending-users")
    def pending_users(self, request, pk=None):
        params = validated(PendingUsersQuerySerializer, request.query_params)
        notice = self._stats_notice()
        people = stats_selectors.pending_users(
            user=request.user, notice=notice, unit=unit_or_400(params["unit"], "unit")
        )
        self.sync_supported = False
        self.keyset_ordering = ("id",)
        page = self.paginate_queryset(people)
        return self.get_paginated_response(PendingUserSerializer(page, many=True).data)

    @extend_schema(
        parameters=[StatsExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV (UTF-8 with BOM)."),
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY, description="XLSX."
            ),
            401: ERROR_401,
            404: ERROR_404,
        },
        description="Every unit row of the subtree under `unit` as CSV or XLSX.",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="stats/export",
        url_name="stats-export",
        renderer_classes=[renderers.JSONRenderer, PassthroughRenderer],
        pagination_class=None,
    )
    def stats_export(self, request, pk=None):
        params = validated(StatsExportQuerySerializer, request.query_params)
        notice = self._stats_notice()
        unit = unit_or_400(params.get("unit"), "unit")
        rows = stats_selectors.export_rows(user=request.user, notice=notice, unit=unit)
        return stats_export_response(notice, rows, fmt=params["export_format"])
