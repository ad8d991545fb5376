"""REST API of the org tree: roots, lazy expansion, search, a unit with its ancestors.

A unit's members are people: ``accounts.api.directory`` answers ``org/units/<id>/members/``.

Open to every signed-in user (the directory of manual 2.3.4). Every list is keyset-paginated in
an indexed order, so a page costs the same at the top of the tree and among 500,000 schools.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.pagination import CompositeKeysetPagination
from helpdesk.core.api.serializers import ErrorSerializer

from .. import selectors
from ..models import OrgUnit
from .serializers import UnitDetailSerializer, UnitQuerySerializer, UnitSerializer

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such unit, or a `cursor` this list did not hand out.")


class UnitPagination(CompositeKeysetPagination):
    ordering = ("path",)


class UnitViewSet(GenericViewSet):
    serializer_class = UnitSerializer
    pagination_class = UnitPagination
    queryset = OrgUnit.objects.all()
    lookup_value_converter = "int"

    def _unit_page(self, units):
        page = self.paginate_queryset(selectors.with_parent_pk(units))
        return self.get_paginated_response(UnitSerializer(page, many=True).data)

    @extend_schema(
        parameters=[UnitQuerySerializer],
        responses={200: UnitSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description=(
            "Without parameters: the roots of the tree. With `parent`: that unit's children. "
            "With `search`: units anywhere in the tree whose name (or, for digits, code; for Latin letters, "
            "pinyin or pinyin initials) starts with it. "
            "`parent` and `search` exclude each other: both together are a 400 naming `search`."
        ),
    )
    def list(self, request):
        query = UnitQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if "search" in params:
            units = selectors.unit_directory_search(query=params["search"])
            # Page in the selector's own order (name search by path, code search by code).
            self.keyset_ordering = tuple(units.query.order_by) or ("path",)
        elif "parent" in params:
            units = selectors.unit_children(unit=selectors.unit_get(unit_id=params["parent"]))
        else:
            units = selectors.unit_roots()
        return self._unit_page(units)

    @extend_schema(responses={200: UnitDetailSerializer, 401: ERROR_401, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        unit = selectors.unit_get(unit_id=pk)
        ancestors = selectors.unit_ancestors(unit=unit)[:-1]
        unit.parent_pk = ancestors[-1].pk if ancestors else None
        return Response(UnitDetailSerializer(unit, context={"ancestors": ancestors}).data)

    @extend_schema(responses={200: UnitSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404})
    @action(detail=True, methods=["get"])
    def children(self, request, pk=None):
        return self._unit_page(selectors.unit_children(unit=selectors.unit_get(unit_id=pk)))
