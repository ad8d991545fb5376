"""REST API of ticket reports: the figures of the portal's report page as JSON (mobile dashboards).

    GET /api/v1/tickets/reports/?group_by=unit&unit=12&date_from=2024-05-01&date_to=2024-05-31

Thin: the query serializer parses, tickets.selectors.reports scopes, validates and aggregates.
"""

from __future__ import annotations

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.core.api.serializers import ErrorSerializer

from ..models import Priority, TicketType
from ..selectors import reports

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid parameters; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_403 = OpenApiResponse(ErrorSerializer, description="Reports are for supervisors, support agents and reviewers.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="The unit is not in your scope.")


class ReportQuerySerializer(serializers.Serializer):
    unit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=reports.MAX_ID,
        help_text=_("Unit whose subtree is reported; default: the highest unit of your scope."),
    )
    group_by = serializers.ChoiceField(choices=reports.GROUP_BY_CHOICES, default="unit")
    period = serializers.ChoiceField(
        choices=reports.PERIOD_CHOICES, default="month", help_text=_("Bucket size when grouping by period.")
    )
    # The range is said where clients read it: tickets exist only within it, and a day outside it
    # is a 400 on the field that names the range (reports.report_validate).
    date_from = serializers.DateField(
        required=False,
        help_text=format_lazy("{} {}", _("First day (inclusive); default 30 days ago."), reports.DAY_RANGE_TEXT),
    )
    date_to = serializers.DateField(
        required=False,
        help_text=format_lazy("{} {}", _("Last day (inclusive); default today."), reports.DAY_RANGE_TEXT),
    )
    type = serializers.ChoiceField(choices=TicketType.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)


class ReportCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text=_("Tickets asked in the period."))
    backlog = serializers.IntegerField(help_text=_("Of them, still open (new, in progress, waiting, in review)."))
    resolved = serializers.IntegerField(help_text=_("Of them, confirmed solved by the asker."))
    response_met = serializers.IntegerField()
    response_breached = serializers.IntegerField(help_text=_("First response late, or overdue without one."))
    resolution_met = serializers.IntegerField()
    resolution_breached = serializers.IntegerField(help_text=_("Resolved late, or overdue and unresolved."))
    rated = serializers.IntegerField()
    very_satisfied = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    neutral = serializers.IntegerField()
    dissatisfied = serializers.IntegerField()
    response_rate = serializers.FloatField(
        allow_null=True, help_text=_("Met / (met + breached), 0–1; null when no ticket's outcome is known.")
    )
    resolution_rate = serializers.FloatField(allow_null=True, help_text=_("Met / (met + breached), 0–1."))
    satisfaction_rate = serializers.FloatField(
        allow_null=True, help_text=_("(Very satisfied + satisfied) / rated, 0–1.")
    )


class ReportRowSerializer(ReportCountsSerializer):
    key = serializers.CharField(
        help_text=_(
            "The group: a child unit's id (\"self\": the unit's own tickets), a level number "
            '("": not in a pool yet), a type, a priority or a period\'s first day.'
        )
    )
    label = serializers.CharField()
    unit_id = serializers.IntegerField(allow_null=True, help_text=_("The unit of a unit row; null otherwise."))
    has_children = serializers.BooleanField(help_text=_("A unit row whose unit has units below it."))


class ReportUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    level = serializers.IntegerField()


class TicketReportSerializer(serializers.Serializer):
    unit = ReportUnitSerializer()
    group_by = serializers.CharField()
    period = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    type = serializers.CharField()
    priority = serializers.CharField()
    rows = ReportRowSerializer(many=True)
    totals = ReportCountsSerializer()
    self_solved = serializers.IntegerField(
        allow_null=True,
        help_text=_(
            "Questions solved by the knowledge base without a ticket: readers in the unit's subtree who "
            'pressed "this solved my problem" on an article in the period (not narrowed by type or '
            "priority). Null unless you administer the unit."
        ),
    )


class TicketReportView(APIView):
    @extend_schema(
        parameters=[ReportQuerySerializer],
        responses={200: TicketReportSerializer, 400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
        description=(
            "Volume, backlog, first-response and resolution SLA compliance and satisfaction of the tickets "
            "asked in a unit's subtree, one row per child unit (with its subtree), handling level, type, "
            "priority or period. For supervisors, support agents and reviewers, over their units' subtrees. "
            "`self_solved` counts the questions the knowledge base answered without a ticket, for the "
            "unit's administrators. "
            "A report spans at most 400 days (daily buckets 92), each day between "
            f"{reports.EARLIEST_DAY.isoformat()} and {reports.LATEST_DAY.isoformat()}."
        ),
    )
    def get(self, request):
        query = ReportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        unit = reports.report_unit_get(user=request.user, unit_id=params.get("unit"))
        report = reports.ticket_report(user=request.user, unit=unit, **reports.report_params(params))
        return Response(TicketReportSerializer(report).data)
