"""Tickets over REST: lists and search, filing, the detail, every action of the lifecycle, the
thread (timeline, replies, internal notes, files) and the SLA view.

Thin views: serializers check the shape of the input, tickets.services does every write (its
ValidationError becomes a 400 with field messages in helpdesk/core/api/errors.py) and tickets.selectors
every read, scoped to the user. A ticket the user may not see is a 404, whatever the action.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.delta import DeltaPagination
from helpdesk.core.api.serializers import validated

from .. import selectors, services
from ..models import Ticket
from ..services.attachments import attachment_add, ticket_create_with_attachments
from ..services.bulk import tickets_accept_many, tickets_transfer_many
from .common import (
    ERROR_400,
    ERROR_401,
    ERROR_403,
    ERROR_404,
    ERROR_404_LIST,
    ERROR_410_RESYNC,
    ThreadPagination,
    TicketPagination,
    ticket_or_404,
)
from .serializers import (
    AnswerSerializer,
    ApproveSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    BulkAcceptResultSerializer,
    BulkAcceptSerializer,
    BulkTransferResultSerializer,
    BulkTransferSerializer,
    CannedReplySerializer,
    EmptySerializer,
    MergeSerializer,
    MessageBodySerializer,
    PrioritySerializer,
    RateSerializer,
    ReasonSerializer,
    RequestInfoSerializer,
    SlaTargetSerializer,
    TicketCreateSerializer,
    TicketCreateWithFilesSerializer,
    TicketDetailSerializer,
    TicketEventSerializer,
    TicketListSerializer,
    TicketMessageSerializer,
    TicketQuerySerializer,
    TransferSerializer,
    WithdrawSerializer,
)

# A download answers with the type its content was checked against on upload: one documented media
# type per kind of file an upload may be (services.attachments.ALLOWED_EXTENSIONS).
DOWNLOAD_RESPONSES = {
    (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
    for content_type in sorted({kind.content_type for kind in services.ALLOWED_EXTENSIONS.values()})
}
ACTION_RESPONSES = {200: TicketDetailSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404}


class PassthroughRenderer(renderers.BaseRenderer):
    """Lets a download answer whatever the client accepts (image/png, */*): the file is sent as
    it is; errors on that path still go out as JSON."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


def _search_filters(params: dict) -> dict:
    """The query's filters as ticket_search takes them: a unit instead of its id, and the period's
    days as moments in the platform's time zone (``created_to`` includes its whole day)."""
    filters = dict(params)
    if "unit" in filters:
        unit = selectors.search_unit(unit_id=filters["unit"])
        if unit is None:
            raise exceptions.ValidationError({"unit": [_("There is no unit with this id.")]})
        filters["unit"] = unit
    zone = timezone.get_current_timezone()
    if "created_from" in filters:
        filters["created_from"] = datetime.combine(filters["created_from"], time.min, tzinfo=zone)
    if "created_to" in filters:
        filters["created_to"] = datetime.combine(filters["created_to"] + timedelta(days=1), time.min, tzinfo=zone)
    return filters


_DETAIL_PATHS: dict[str, str] = {}


def _detail_path(pk: int) -> str:
    """``reverse("api-tickets-detail", args=[pk])``: the path up to the id, resolved once per script
    prefix (reverse walks the URL patterns on every call, ~40 µs of each create's CPU)."""
    prefix = get_script_prefix()
    start = _DETAIL_PATHS.get(prefix)
    if start is None:
        start = _DETAIL_PATHS[prefix] = reverse("api-tickets-detail", args=[0]).removesuffix("0/")
    return f"{start}{pk}/"


class TicketViewSet(GenericViewSet):
    """问题咨询 → 问题回答 → 答案审核 → 接收答案 → 答案查询 (manual 2.4.1–2.4.5)."""

    serializer_class = TicketListSerializer
    pagination_class = TicketPagination
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        return selectors.visible_tickets(user=self.request.user)

    def get_object(self) -> Ticket:
        return ticket_or_404(user=self.request.user, pk=self.kwargs["pk"])

    def _detail(self, ticket: Ticket, *, status_code: int = status.HTTP_200_OK, refetch: bool = True) -> Response:
        # Fetched again through the selector: the reader's view of the ticket after the change,
        # with the related rows the detail shows. A fresh ticket is its asker's, with those rows
        # already attached by the create.
        if refetch:
            ticket = ticket_or_404(user=self.request.user, pk=ticket.pk)
        user = self.request.user
        context = {
            "request": self.request,
            "capabilities": set(selectors.ticket_capabilities(user=user, ticket=ticket)),
            "allowed_actions": selectors.ticket_allowed_actions(user=user, ticket=ticket),
            "sla": services.ticket_sla(ticket=ticket),
        }
        return Response(TicketDetailSerializer(ticket, context=context).data, status=status_code)

    def _thread_page(self, rows, serializer_class):
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(serializer_class(page, many=True, context={"request": self.request}).data)

    # --- Lists and search ---------------------------------------------------------------------------
    @extend_schema(
        parameters=[TicketQuerySerializer],
        responses={
            200: TicketListSerializer(many=True),
            400: ERROR_400,
            401: ERROR_401,
            404: ERROR_404_LIST,
            410: ERROR_410_RESYNC,
        },
        description=(
            "One of the work lists (`view`) or a search (答案查询) by number, words (Chinese too), state, type, "
            "priority, unit (with its subtree), handler and period, within what you may see. The work lists "
            "(assigned, pool, due_soon, breached, review) are nearest deadline first (`due_at`: the nearer of "
            "confirming receipt and the SLA deadline) unless `sort=new`; the others newest first. Contact info "
            "is masked.\n\n"
            "Delta sync (a phone's cache): every page carries a `sync_token`, the same on every page of one walk. "
            "Next time send it as `updated_after` (with a `view`, without search filters or `sort`): the list's "
            "tickets that changed since, oldest change first by (`updated_at`, `id`), following `next` to the end, "
            "and in `removed` the ids to drop: deleted (for everyone), handed to another agent (out of your "
            "`assigned`), moved to another pool (out of its `pool` and `review` lists), or changed so that they "
            "left the list (accepted, closed …). Rows changing while you page come with the next sync, never "
            "twice and never lost; the window ends a few seconds before the first page (writes still committing). "
            "`due_soon` and `breached` change with the clock and are fetched whole (400 with `updated_after`). "
            "410 `resync_required`: older than 30 days, or your roles (or the tree) changed since; fetch afresh."
        ),
    )
    def list(self, request):
        params = validated(TicketQuerySerializer, request.query_params.dict())
        view = params.pop("view", None) or "handled"
        sort = params.pop("sort", None)
        updated_after = params.pop("updated_after", None)
        searching = any(name in params for name in TicketQuerySerializer.SEARCH_FIELDS)
        if updated_after is not None:
            return self._delta(view=view, after=updated_after, refine=searching or sort is not None)
        # A search and the clock's lists cannot be followed by a delta: no token to start one from.
        self.sync_supported = not searching and view not in selectors.CLOCK_VIEWS
        if searching:
            tickets = selectors.ticket_search(user=request.user, view=view, sort=sort, **_search_filters(params))
        else:
            tickets = selectors.ticket_list(user=request.user, view=view, sort=sort)
        if tuple(tickets.query.order_by) == selectors.DUE_ORDER:
            # Nearest deadline first: the cursor holds (due_at, id); a ticket without a deadline has
            # the selector's far-future sentinel, so the key is never null.
            self.keyset_ordering = selectors.DUE_ORDER
        # The names a row shows come with the page's one query, so a page of 100 costs what a page of 5 does.
        page = self.paginate_queryset(selectors.ticket_list_rows(tickets))
        return self.get_paginated_response(TicketListSerializer(page, many=True).data)

    def _delta(self, *, view: str, after: datetime, refine: bool) -> Response:
        if refine:
            raise exceptions.ValidationError(
                {"updated_after": [_("A delta syncs one list (view), without search filters or sort.")]}
            )
        try:
            source = selectors.ticket_delta_source(user=self.request.user, view=view)
        except ValueError:
            raise exceptions.ValidationError(
                {"updated_after": [_("This list changes with the clock, not only with its tickets: fetch it whole.")]}
            ) from None
        paginator = DeltaPagination(page_size=TicketPagination.page_size, max_page_size=TicketPagination.max_page_size)
        page = paginator.paginate(self.request, source, after=after, shape=selectors.ticket_list_rows)
        return paginator.response(page, TicketListSerializer(page.rows, many=True).data)

    @extend_schema(
        request={
            "application/json": TicketCreateSerializer,
            "multipart/form-data": TicketCreateWithFilesSerializer,
        },
        responses={201: TicketDetailSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "File a question for your unit (问题咨询). It is routed to the nearest support pool at once; the "
            "answer is the ticket as GET /api/v1/tickets/{id}/ gives it (where it went, its SLA deadlines, "
            "`allowed_actions`), with its address in `Location`. As multipart/form-data the question may "
            "bring its files (`attachments`, repeated): all are checked first, and the ticket and its files "
            "are written together or not at all (a refused file is a 400 and files no ticket)."
        ),
    )
    def create(self, request):
        if request.content_type.startswith("multipart/"):
            data = validated(TicketCreateWithFilesSerializer, request.data)
            uploads = data.pop("attachments")
            if uploads:
                ticket, _attachments = ticket_create_with_attachments(asker=request.user, uploads=uploads, **data)
            else:
                ticket = services.ticket_create(asker=request.user, **data)
        else:
            ticket = services.ticket_create(asker=request.user, **validated(TicketCreateSerializer, request.data))
        response = self._detail(ticket, status_code=status.HTTP_201_CREATED, refetch=False)
        response["Location"] = _detail_path(ticket.pk)
        return response

    @extend_schema(responses={200: TicketDetailSerializer, 401: ERROR_401, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    @extend_schema(
        request=BulkTransferSerializer,
        responses={200: BulkTransferResultSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "转派 several tickets with one reason, to one agent or each to its pool's next agent in turn. Each "
            "goes through the single transfer; `refused` lists the others with the reason."
        ),
    )
    @action(detail=False, methods=["post"], url_path="bulk-transfer")
    def bulk_transfer(self, request):
        data = validated(BulkTransferSerializer, request.data)
        agent = None
        if data.get("agent") is not None:
            # Whether this user may take each ticket is the transfer's own check (refused per ticket).
            agent = selectors.transfer_agent_by_id(pk=data["agent"])
            if agent is None:
                raise exceptions.ValidationError({"agent": [_("There is no such agent.")]})
        tickets = list(selectors.bulk_tickets(user=request.user, ids=data["ids"]))
        moved, refused = tickets_transfer_many(actor=request.user, tickets=tickets, reason=data["reason"], agent=agent)
        found = {ticket.pk for ticket in tickets}
        return Response(
            {
                "transferred": [ticket.pk for ticket in moved],
                "refused": [{"id": ticket.pk, "detail": reason} for ticket, reason in refused],
                "not_found": sorted(set(data["ids"]) - found),
            }
        )

    # --- Lifecycle actions --------------------------------------------------------------------------
    @extend_schema(
        responses={200: CannedReplySerializer(many=True), 401: ERROR_401},
        description=(
            "常用回复: the canned replies you may insert into a reply, those of the units where you hold a "
            "support role and of every unit above them (at most 200). Empty for anyone else."
        ),
    )
    @action(detail=False, methods=["get"], url_path="canned-replies", pagination_class=None)
    def canned_replies(self, request):
        replies = selectors.canned_replies(user=request.user)[:200]
        return Response(CannedReplySerializer(replies, many=True).data)

    @extend_schema(
        request=BulkAcceptSerializer,
        responses={200: BulkAcceptResultSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "Confirm receipt of several tickets at once (a pool's new tickets). Each goes through the single "
            "accept: a ticket another agent took meanwhile is refused with its reason, the others are accepted."
        ),
    )
    @action(detail=False, methods=["post"], url_path="bulk-accept")
    def bulk_accept(self, request):
        ids = validated(BulkAcceptSerializer, request.data)["ids"]
        tickets = list(selectors.bulk_tickets(user=request.user, ids=ids))
        accepted, refused = tickets_accept_many(agent=request.user, tickets=tickets)
        found = {ticket.pk for ticket in tickets}
        return Response(
            {
                "accepted": [ticket.pk for ticket in accepted],
                "refused": [{"id": ticket.pk, "detail": reason} for ticket, reason in refused],
                "not_found": sorted(set(ids) - found),
            }
        )

    @extend_schema(
        request=None,
        responses=ACTION_RESPONSES,
        description="The assigned (or a pool's) agent confirms receipt and becomes the handler.",
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        validated(EmptySerializer, request.data)
        return self._detail(services.ticket_accept(ticket=self.get_object(), agent=request.user))

    @extend_schema(
        request=RequestInfoSerializer,
        responses=ACTION_RESPONSES,
        description="Ask the asker for more information; the SLA clock pauses until the asker replies.",
    )
    @action(detail=True, methods=["post"], url_path="request-info")
    def request_info(self, request, pk=None):
        data = validated(RequestInfoSerializer, request.data)
        ticket = services.ticket_request_info(ticket=self.get_object(), agent=request.user, **data)
        return self._detail(ticket)

    @extend_schema(
        request=MessageBodySerializer,
        responses=ACTION_RESPONSES,
        description="A reply the asker sees. The asker's reply to a request for information resumes the ticket.",
    )
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        data = validated(MessageBodySerializer, request.data)
        ticket = self.get_object()
        services.ticket_reply(ticket=ticket, author=request.user, **data)
        return self._detail(ticket)

    @extend_schema(
        responses={200: TicketMessageSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404_LIST},
        description="The conversation, oldest first. Internal notes appear only for the ticket's staff.",
    )
    @action(detail=True, methods=["get"], pagination_class=ThreadPagination)
    def messages(self, request, pk=None):
        rows = selectors.ticket_messages(user=request.user, ticket=self.get_object()).select_related("author")
        return self._thread_page(rows, TicketMessageSerializer)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={
            200: TicketMessageSerializer(many=True),
            400: ERROR_400,
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404_LIST,
        },
        description="Internal notes, oldest first: agents, reviewers and supervisors only.",
    )
    @extend_schema(
        methods=["POST"],
        request=MessageBodySerializer,
        responses=ACTION_RESPONSES,
        description="Add an internal note, never shown to the asker.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=ThreadPagination)
    def notes(self, request, pk=None):
        ticket = self.get_object()
        if request.method == "POST":
            data = validated(MessageBodySerializer, request.data)
            services.ticket_add_note(ticket=ticket, author=request.user, **data)
            return self._detail(ticket)
        if not set(selectors.ticket_capabilities(user=request.user, ticket=ticket)) & selectors.STAFF_CAPABILITIES:
            raise exceptions.PermissionDenied(_("Internal notes are for the ticket's agents and reviewers."))
        rows = selectors.ticket_messages(user=request.user, ticket=ticket).filter(internal=True)
        return self._thread_page(rows.select_related("author"), TicketMessageSerializer)

    @extend_schema(
        request=AnswerSerializer,
        responses=ACTION_RESPONSES,
        description="The handler's answer: to review, or to the asker at once where the unit turned review off.",
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        data = validated(AnswerSerializer, request.data)
        return self._detail(services.ticket_submit_answer(ticket=self.get_object(), agent=request.user, **data))

    @extend_schema(
        request=ApproveSerializer,
        responses=ACTION_RESPONSES,
        description="A reviewer approves the answer (with `solution`: edits it first); the asker receives it.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = validated(ApproveSerializer, request.data)
        return self._detail(services.ticket_approve(ticket=self.get_object(), reviewer=request.user, **data))

    @extend_schema(
        request=ReasonSerializer,
        responses=ACTION_RESPONSES,
        description="A reviewer sends the answer back to the handler with a reason.",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = validated(ReasonSerializer, request.data)
        return self._detail(services.ticket_reject(ticket=self.get_object(), reviewer=request.user, **data))

    @extend_schema(request=None, responses=ACTION_RESPONSES, description="The asker confirms the problem solved.")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        validated(EmptySerializer, request.data)
        return self._detail(services.ticket_confirm(ticket=self.get_object(), asker=request.user))

    @extend_schema(
        request=ReasonSerializer,
        responses=ACTION_RESPONSES,
        description="The asker reopens an answered or resolved ticket; it goes back to the handler.",
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        data = validated(ReasonSerializer, request.data)
        return self._detail(services.ticket_reopen(ticket=self.get_object(), asker=request.user, **data))

    @extend_schema(
        request=RateSerializer,
        responses=ACTION_RESPONSES,
        description="The asker rates the service and the ticket is closed; 一般 or 不满意 opens a follow-up (24 h).",
    )
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        data = validated(RateSerializer, request.data)
        return self._detail(services.ticket_rate(ticket=self.get_object(), asker=request.user, **data))

    @extend_schema(
        request=PrioritySerializer,
        responses=ACTION_RESPONSES,
        description="An agent changes the priority with a reason; the deadlines follow.",
    )
    @action(detail=True, methods=["post"])
    def priority(self, request, pk=None):
        data = validated(PrioritySerializer, request.data)
        return self._detail(services.ticket_change_priority(ticket=self.get_object(), agent=request.user, **data))

    # --- Passing on and ending early (issue 17) ------------------------------------------------------
    @extend_schema(
        request=WithdrawSerializer,
        responses=ACTION_RESPONSES,
        description=(
            "The asker withdraws the question before an approved answer exists (up to 待审核); it closes as "
            "`withdrawn` and cannot be rated. All SLA clocks stop."
        ),
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        data = validated(WithdrawSerializer, request.data)
        return self._detail(services.ticket_withdraw(ticket=self.get_object(), asker=request.user, **data))

    @extend_schema(
        request=ReasonSerializer,
        responses=ACTION_RESPONSES,
        description=(
            "The handler or a supervisor closes the ticket as invalid, with a reason the asker reads; no rating, "
            "no follow-up. All SLA clocks stop."
        ),
    )
    @action(detail=True, methods=["post"], url_path="close-invalid")
    def close_invalid(self, request, pk=None):
        data = validated(ReasonSerializer, request.data)
        return self._detail(services.ticket_close_invalid(ticket=self.get_object(), actor=request.user, **data))

    @extend_schema(
        request=TransferSerializer,
        responses=ACTION_RESPONSES,
        description=(
            "转派: the handler or a supervisor hands the ticket to another on-duty agent of the same pool (`agent`), "
            "or without `agent` to the pool's next agent in turn, with a reason; with `group`, to another handling "
            "group (pool) of the same unit (its `agent`, or its next agent in turn), and the ticket takes the type "
            "that group serves. It is 待处理 again: the new "
            "agent must confirm receipt within the policy's time (1 hour, counted from now); the response and "
            "resolution deadlines do not move."
        ),
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        data = validated(TransferSerializer, request.data)
        ticket = self.get_object()
        group = data["group"]
        agent = None
        if data["agent"] is not None:
            agent = selectors.transfer_candidates(ticket=ticket, group=group).filter(pk=data["agent"]).first()
            if agent is None:
                raise exceptions.ValidationError(
                    {"agent": [_("Choose an on-duty agent of this ticket's support pool who handles its type.")]}
                )
        return self._detail(
            services.ticket_transfer(ticket=ticket, actor=request.user, agent=agent, group=group, reason=data["reason"])
        )

    @extend_schema(
        request=ReasonSerializer,
        responses=ACTION_RESPONSES,
        description=(
            "上报: the handler or a supervisor moves the ticket to the pool one level up, by the rule an SLA breach "
            "escalates with (the nearest unit above with an on-duty agent of the type, its next agent in turn, "
            "a fresh window there). 400 when no pool above has such an agent."
        ),
    )
    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        data = validated(ReasonSerializer, request.data)
        return self._detail(services.ticket_forward(ticket=self.get_object(), actor=request.user, **data))

    @extend_schema(
        request=MergeSerializer,
        responses=ACTION_RESPONSES,
        description=(
            "Merge this duplicate into ticket `into` (open, of the same asker or the same unit, one you support). "
            "The duplicate closes as `merged` with `merged_into` set; both timelines record it and both askers "
            "are told (`ticket.merged`). Its messages and files stay readable. A target you may not see is a 404."
        ),
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        data = validated(MergeSerializer, request.data)
        ticket = self.get_object()
        into = ticket_or_404(user=request.user, pk=data["into"])
        return self._detail(services.ticket_merge(ticket=ticket, actor=request.user, into=into, reason=data["reason"]))

    # --- Timeline and SLA -----------------------------------------------------------------------------
    @extend_schema(
        responses={200: TicketEventSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404_LIST},
        description="Every event of the ticket, oldest first: who, when, from which state to which, and why.",
    )
    @action(detail=True, methods=["get"], pagination_class=ThreadPagination)
    def timeline(self, request, pk=None):
        rows = selectors.ticket_timeline(user=request.user, ticket=self.get_object()).select_related("actor")
        return self._thread_page(rows, TicketEventSerializer)

    @extend_schema(
        responses={200: SlaTargetSerializer(many=True), 401: ERROR_401, 404: ERROR_404},
        description="Each SLA target: deadline, when it was met, time left (negative: overdue), time paused.",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def sla(self, request, pk=None):
        return Response(SlaTargetSerializer(services.ticket_sla(ticket=self.get_object()), many=True).data)

    # --- Attachments ----------------------------------------------------------------------------------
    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: AttachmentSerializer(many=True), 400: ERROR_400, 401: ERROR_401, 404: ERROR_404_LIST},
        description="The ticket's files you may see (internal files for staff only), oldest first.",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="Attach a file (multipart field `file`). Size, type and content are checked.",
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser], pagination_class=ThreadPagination)
    def attachments(self, request, pk=None):
        ticket = self.get_object()
        if request.method == "POST":
            data = validated(AttachmentUploadSerializer, request.data)
            attachment = attachment_add(
                ticket=ticket, user=request.user, upload=data["file"], internal=data["internal"]
            )
            return Response(
                AttachmentSerializer(attachment, context={"request": request}).data, status=status.HTTP_201_CREATED
            )
        rows = selectors.ticket_attachments(user=request.user, ticket=ticket).select_related("uploaded_by")
        return self._thread_page(rows, AttachmentSerializer)

    @extend_schema(
        responses={
            **DOWNLOAD_RESPONSES,
            401: ERROR_401,
            404: ERROR_404,
        },
        description=(
            "Download a file of a ticket you may see; 404 for a file you may not see. The file comes with "
            "the content type it was checked against on upload (the attachment's `content_type`), not "
            "`application/octet-stream`: images inline, everything else as a download "
            "(`Content-Disposition: attachment`), always with `X-Content-Type-Options: nosniff`."
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="attachments/<int:attachment_id>/download",
        url_name="attachment-download",
        renderer_classes=[renderers.JSONRenderer, PassthroughRenderer],
        pagination_class=None,
    )
    def attachment_download(self, request, pk=None, attachment_id=None):
        from helpdesk.core.files import attachment_response

        ticket = self.get_object()
        attachment = selectors.ticket_attachments(user=request.user, ticket=ticket).filter(pk=attachment_id).first()
        if attachment is None:
            raise exceptions.NotFound()
        return attachment_response(attachment)
