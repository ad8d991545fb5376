"""公告 over the API: thin views over notices.selectors and notices.services."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.delta import DeltaPagination, SyncTokenPagination
from helpdesk.core.api.serializers import validated
from orgtree.models import OrgUnit

from .. import selectors, services
from ..models import Notice
from .common import DETAIL_RESPONSES, ERROR_400, ERROR_401, ERROR_404, ERROR_410, LIST_ERRORS, unit_or_400
from .files import NoticeFilesMixin
from .serializers import (
    InboxQuerySerializer,
    NoticeDetailSerializer,
    NoticeEmptySerializer,
    NoticeEventSerializer,
    NoticeForwardSerializer,
    NoticeListSerializer,
    NoticeNoteSerializer,
    NoticeReasonSerializer,
    NoticeUnreadCountSerializer,
    NoticeWriteSerializer,
    SentQuerySerializer,
)
from .stats import NoticeStatsMixin

WRITE_FIELDS = (
    "title",
    "body",
    "importance",
    "valid_from",
    "valid_until",
    "receipt_required",
    "audience_mode",
    "chosen_with_subtrees",
    "audience_levels",
    "audience_kinds",
    "publish_at",
    "cover_note",
)


class NoticePagination(SyncTokenPagination):
    page_size = 20
    max_page_size = 100


def _input(params: dict, *, notice: Notice | None = None) -> services.NoticeInput:
    changes = {name: params[name] for name in WRITE_FIELDS if name in params}
    if "audience_units" in params:
        ids = list(dict.fromkeys(params["audience_units"]))
        units = list(OrgUnit.objects.filter(pk__in=ids))
        if len(units) != len(ids):
            raise exceptions.ValidationError({"audience_units": [_("No such unit.")]})
        changes["audience_units"] = units
    mode = changes.get("audience_mode")
    if notice is not None and mode is not None:
        # A revision that changes the kind of audience drops the choices of the old kind it did not
        # send again (the units of "units", the levels of "levels"), rather than refusing them.
        if mode != "units" and "audience_units" not in changes:
            changes["audience_units"] = []
        if mode != "levels" and "audience_levels" not in changes:
            changes["audience_levels"] = []
    if notice is not None:
        return services.NoticeInput.from_notice(notice, **changes)
    return services.NoticeInput(**changes)


class NoticeViewSet(NoticeFilesMixin, NoticeStatsMixin, GenericViewSet):
    """公告 (manual 2.5): write, review, publish, receive, read, forward, remind, count."""

    serializer_class = NoticeListSerializer
    pagination_class = NoticePagination
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notice.objects.none()
        return selectors.visible_notices(user=self.request.user)

    def get_object(self) -> Notice:
        return selectors.notice_get(user=self.request.user, pk=self.kwargs["pk"])

    def _detail(self, notice: Notice, *, status_code: int = status.HTTP_200_OK) -> Response:
        user = self.request.user
        notice = selectors.notice_get(user=user, pk=notice.pk)
        source = notice.forwarded_from
        if source is not None and not selectors.visible_notices(user=user).filter(pk=source.pk).exists():
            source = None
        caps = selectors.capabilities(user=user, notice=notice)
        context = {
            "capabilities": caps,
            "attachments": list(selectors.attachments(notice=notice)),
            "receipt": selectors.receipt_of(user=user, notice=notice),
            "forwarded_from": source,
            "forward_units": selectors.can_forward_from(user, notice) if "forward" in caps else [],
        }
        return Response(NoticeDetailSerializer(notice, context=context).data, status=status_code)

    def _page(self, queryset):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(NoticeListSerializer(page, many=True).data)

    # --- Lists --------------------------------------------------------------------------------------
    @extend_schema(
        parameters=[SentQuerySerializer],
        responses={200: NoticeListSerializer(many=True), **LIST_ERRORS, 410: ERROR_410},
        description=(
            "已发公告: the notices you wrote, and those of the units where you publish, review or administer "
            "notices (and the units below them) once submitted; newest first. Filters as in 公告查询.\n\n"
            "Delta sync: send a page's `sync_token` back as `updated_after` (no other parameter)."
        ),
    )
    def list(self, request):
        params = validated(SentQuerySerializer, request.query_params)
        updated_after = params.pop("updated_after", None)
        if updated_after is not None:
            if params:
                raise exceptions.ValidationError(
                    {"updated_after": [_("A delta syncs the whole list, without filters.")]}
                )
            return self._delta(selectors.sent_delta_source(user=request.user), updated_after, shape=None)
        notices = self._filtered(selectors.sent_notices(user=request.user), params)
        return self._page(notices)

    def _delta(self, source, updated_after, *, shape):
        paginator = DeltaPagination(page_size=NoticePagination.page_size, max_page_size=NoticePagination.max_page_size)
        page = paginator.paginate(self.request, source, after=updated_after, shape=shape)
        return paginator.response(page, NoticeListSerializer(page.rows, many=True).data)

    def _filtered(self, notices, params: dict, *, read=None):
        if params:
            self.sync_supported = False
        return selectors.search_filter(
            notices,
            q=params.get("q", ""),
            unit=unit_or_400(params.get("unit"), "unit"),
            published_after=params.get("published_after"),
            published_before=params.get("published_before"),
            states=[params["notice_state"]] if params.get("notice_state") else None,
            importance=params.get("importance", ""),
            read=read,
            user=request_user(self),
        )

    @extend_schema(
        parameters=[InboxQuerySerializer],
        responses={200: NoticeListSerializer(many=True), **LIST_ERRORS, 410: ERROR_410},
        description=(
            "收件箱: notices whose audience covers you (your unit, the units of your roles, their levels and "
            "roles), newest first, withdrawn ones included and marked. Filters as in 公告查询, plus `read`.\n\n"
            "Delta sync: send a page's `sync_token` back as `updated_after` (no other parameter) for the notices "
            "published, withdrawn or reminded since. This is how a client catches up on `notice.published`, "
            "`notice.withdrawn` and `notice.reminded`, which are not stored per user."
        ),
    )
    @action(detail=False, methods=["get"])
    def inbox(self, request):
        params = validated(InboxQuerySerializer, request.query_params)
        user = request.user
        updated_after = params.pop("updated_after", None)
        read = params.pop("read", None)
        if updated_after is not None:
            if params or read is not None:
                raise exceptions.ValidationError(
                    {"updated_after": [_("A delta syncs the whole list, without filters.")]}
                )
            return self._delta(
                selectors.inbox_delta_source(user=user),
                updated_after,
                shape=lambda rows: selectors.with_receipt(rows, user=user),
            )
        if read is not None:
            self.sync_supported = False
        notices = self._filtered(selectors.inbox(user=user), params, read=read)
        self.keyset_ordering = ("-published_at", "-id")
        return self._page(selectors.with_receipt(notices, user=user))

    @extend_schema(
        responses={200: NoticeUnreadCountSerializer, 401: ERROR_401},
        description="Notices in your inbox you have not read (neither withdrawn nor expired): the badge.",
    )
    @action(
        detail=False, methods=["get"], url_path="inbox/unread-count", url_name="unread-count", pagination_class=None
    )
    def unread_count(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})

    @extend_schema(
        responses={200: NoticeListSerializer(many=True), **LIST_ERRORS},
        description="审核: notices pending review at the units where you are the notice reviewer, oldest first.",
    )
    @action(detail=False, methods=["get"])
    def review(self, request):
        self.sync_supported = False
        # Every pending notice has its submission time: the queue pages in the selector's order.
        self.keyset_ordering = ("submitted_at", "id")
        return self._page(selectors.review_queue(user=request.user))

    # --- Writing ------------------------------------------------------------------------------------
    @extend_schema(
        request=NoticeWriteSerializer,
        responses={201: NoticeDetailSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "Write a draft for `unit` (where you are a notice publisher). The audience must lie in that unit's "
            "subtree: anything outside is refused with a message on the field."
        ),
    )
    def create(self, request):
        params = validated(NoticeWriteSerializer, request.data)
        if "unit" in params:
            unit = unit_or_400(params["unit"], "unit")
        else:
            units = selectors.publisher_units(user=request.user)
            if not units:
                raise exceptions.ValidationError({"unit": [_("You do not publish notices for any unit.")]})
            unit = units[0]
        notice = services.notice_create(user=request.user, unit=unit, data=_input(params))
        return self._detail(notice, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: NoticeDetailSerializer, 401: ERROR_401, 404: ERROR_404},
        description="One notice. Opening a notice you received records that you read it (your read receipt).",
    )
    def retrieve(self, request, pk=None):
        notice = self.get_object()
        if selectors.receives(request.user, notice) and selectors.receipt_of(user=request.user, notice=notice) is None:
            services.notice_mark_read(user=request.user, notice=notice)
        return self._detail(notice)

    @extend_schema(
        request=NoticeWriteSerializer,
        responses=DETAIL_RESPONSES,
        description="Revise a draft or a returned notice (only the fields sent).",
    )
    def partial_update(self, request, pk=None):
        notice = self.get_object()
        serializer = NoticeWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        params = {name: value for name, value in serializer.validated_data.items() if name in request.data}
        if "unit" in params:
            raise exceptions.ValidationError({"unit": [_("The publishing unit does not change.")]})
        notice = services.notice_update(user=request.user, notice=notice, data=_input(params, notice=notice))
        return self._detail(notice)

    @extend_schema(request=NoticeEmptySerializer, responses=DETAIL_RESPONSES, description="草稿/已退回 → 待审核.")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        validated(NoticeEmptySerializer, request.data)
        return self._detail(services.notice_submit(user=request.user, notice=self.get_object()))

    @extend_schema(
        request=NoticeNoteSerializer,
        responses=DETAIL_RESPONSES,
        description="The publishing unit's notice reviewer approves: published now, or at `publish_at`.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        params = validated(NoticeNoteSerializer, request.data)
        return self._detail(services.notice_approve(user=request.user, notice=self.get_object(), note=params["note"]))

    @extend_schema(
        request=NoticeReasonSerializer,
        responses=DETAIL_RESPONSES,
        description="Return it to the publisher with a reason (required).",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        params = validated(NoticeReasonSerializer, request.data)
        return self._detail(
            services.notice_reject(user=request.user, notice=self.get_object(), reason=params["reason"])
        )

    @extend_schema(
        request=NoticeReasonSerializer,
        responses=DETAIL_RESPONSES,
        description="撤回: recipients see it withdrawn; a scheduled notice goes back to its author unsent.",
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        params = validated(NoticeReasonSerializer, request.data)
        return self._detail(
            services.notice_withdraw(user=request.user, notice=self.get_object(), reason=params["reason"])
        )

    @extend_schema(
        request=NoticeForwardSerializer,
        responses={201: NoticeDetailSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description=(
            "分级发布: republish a notice your unit received to your unit's own subtree, with a cover note. A new "
            "draft linked to the original, which goes through your unit's own review."
        ),
    )
    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        notice = self.get_object()
        params = validated(NoticeForwardSerializer, request.data)
        if "unit" in params:
            unit = unit_or_400(params["unit"], "unit")
        else:
            allowed = selectors.can_forward_from(request.user, notice)
            if not allowed:
                raise exceptions.ValidationError({"unit": [_("None of your units can forward this notice.")]})
            unit = allowed[0]
        forward = services.notice_forward(user=request.user, notice=notice, unit=unit, data=_input(params))
        return self._detail(forward, status_code=status.HTTP_201_CREATED)

    # --- Receiving ----------------------------------------------------------------------------------
    @extend_schema(request=NoticeEmptySerializer, responses=DETAIL_RESPONSES, description="Mark it read.")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        validated(NoticeEmptySerializer, request.data)
        notice = self.get_object()
        services.notice_mark_read(user=request.user, notice=notice)
        return self._detail(notice)

    @extend_schema(
        request=NoticeEmptySerializer, responses=DETAIL_RESPONSES, description="回执: confirm receipt, where asked."
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        validated(NoticeEmptySerializer, request.data)
        notice = self.get_object()
        services.notice_mark_read(user=request.user, notice=notice, confirm=True)
        return self._detail(notice)

    @extend_schema(
        request=NoticeEmptySerializer,
        responses=DETAIL_RESPONSES,
        description="催阅: remind the audience that has not read or confirmed it; at most once an hour (else 400).",
    )
    @action(detail=True, methods=["post"])
    def remind(self, request, pk=None):
        validated(NoticeEmptySerializer, request.data)
        return self._detail(services.notice_remind(user=request.user, notice=self.get_object()))

    @extend_schema(
        responses={200: NoticeEventSerializer(many=True), 401: ERROR_401, 404: ERROR_404},
        description="Every step: written, revised, submitted, approved or returned, published, withdrawn, reminded …",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        events = selectors.timeline(user=request.user, notice=self.get_object())
        return Response(NoticeEventSerializer(events, many=True).data)


def request_user(view):
    return view.request.user
