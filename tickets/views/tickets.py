"""Portal pages of technical support (manual 2.4): 问题咨询 ask, the agent's workbench (my queue, my
pools' unassigned tickets, due soon, overdue), 答案审核 the reviewers' queue, the ticket page with its
timeline, replies, notes, attachments, SLA and actions, 答案查询 search, follow-ups and the units'
review switch.

Views are thin: forms collect input, tickets.services does every write and tickets.selectors every
read, scoped to the user. A ticket the user may not see is a 404, whatever its id. Service errors
become form errors; nothing a user types leads to a 500. Pages refresh their parts over htmx when
the websocket says a ticket changed (static/js/tickets.js).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.scope import scope_of
from helpdesk.core.forms import apply_errors

from .. import selectors, services
from ..forms import (
    AcceptForm,
    AnswerForm,
    ApproveForm,
    BulkTransferForm,
    CannedReplyForm,
    ConfirmForm,
    FollowUpForm,
    ListFilterForm,
    MergeForm,
    MessageForm,
    PriorityForm,
    RateForm,
    ReasonForm,
    RequestInfoForm,
    SearchForm,
    SupportSettingsForm,
    TicketCreateForm,
    TransferForm,
    WithdrawForm,
    attachments_help,
)
from ..models import Ticket
from ..selectors import reports
from ..services.attachments import attachment_add
from ..services.bulk import BULK_MAX, tickets_accept_many, tickets_transfer_many

PAGE_SIZE = 30
# The answer is the asker's to read once approved (or given directly where review is off).


# --- Lists: the workbench ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ListTab:
    view: str
    label: Any
    who: str  # "everyone", "agent", "reviewer" or "staff"
    hint: Any
    empty: Any


LIST_TABS = (
    ListTab(
        "mine",
        gettext_lazy("My questions"),
        "everyone",
        gettext_lazy("Questions you asked."),
        gettext_lazy("You have not asked any question yet."),
    ),
    ListTab(
        "assigned",
        gettext_lazy("My queue"),
        "agent",
        gettext_lazy("Open tickets assigned to you."),
        gettext_lazy("No open ticket is assigned to you."),
    ),
    ListTab(
        "pool",
        gettext_lazy("Unassigned in my pools"),
        "agent",
        gettext_lazy("New tickets in your support pools that nobody has accepted yet."),
        gettext_lazy("Every new ticket in your pools has been accepted."),
    ),
    ListTab(
        "due_soon",
        gettext_lazy("Due soon"),
        "agent",
        gettext_lazy("Open tickets of yours or your pools whose deadline is within two hours."),
        gettext_lazy("No deadline is near."),
    ),
    ListTab(
        "breached",
        gettext_lazy("Overdue"),
        "agent",
        gettext_lazy("Open tickets of yours or your pools past their deadline."),
        gettext_lazy("No ticket is overdue."),
    ),
    ListTab(
        "review",
        gettext_lazy("Awaiting review"),
        "reviewer",
        gettext_lazy("Answers of your units waiting for your review."),
        gettext_lazy("No answer is waiting for review."),
    ),
    ListTab(
        "handled",
        gettext_lazy("All tickets of my units"),
        "staff",
        gettext_lazy("Every ticket of the units you support, review or supervise."),
        gettext_lazy("No tickets yet."),
    ),
)


def _roles(user) -> dict[str, bool]:
    agent = selectors.user_is_agent(user)
    reviewer = selectors.user_is_reviewer(user)
    return {
        "everyone": True,
        "agent": agent,
        "reviewer": reviewer,
        "staff": selectors.user_is_support_staff(user),
        "supervisor": scope_of(user).is_unit_admin,
        "reporter": reports.can_view_reports(user=user),
    }


def _tabs_for(roles: dict[str, bool]) -> list[ListTab]:
    return [tab for tab in LIST_TABS if roles[tab.who]]


def _nav(user) -> dict[str, Any]:
    """What the workbench navigation (tickets/_nav.html) needs."""
    roles = _roles(user)
    return {"roles": roles, "tabs": _tabs_for(roles)}


def _default_view(tabs: list[ListTab]) -> str:
    views = [tab.view for tab in tabs]
    for preferred in ("assigned", "review"):
        if preferred in views:
            return preferred
    return "mine"


def _page(queryset, request: HttpRequest) -> tuple[list, str]:
    """One page of a list walking its index instead of counting: newest first by ``?before=<id>``,
    nearest deadline first by ``?due_after=<iso>&after=<id>`` (the last row's key). A cursor that does
    not parse is ignored (the first page), never an error."""
    by_deadline = tuple(queryset.query.order_by) == selectors.DUE_ORDER
    if by_deadline:
        due_after, after = request.GET.get("due_after", ""), request.GET.get("after", "")
        try:
            position = (datetime.fromisoformat(due_after), int(after))
        except ValueError:
            position = None
        if position is not None and position[0].tzinfo is not None:
            due, pk = position
            queryset = queryset.filter(Q(due_at__gt=due) | Q(due_at=due, pk__gt=pk))
    else:
        before = request.GET.get("before", "")
        if before.isdigit():
            queryset = queryset.filter(pk__lt=int(before))
    rows = list(queryset[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_query = ""
    if more and rows:
        query = request.GET.copy()
        if by_deadline:
            query["due_after"], query["after"] = rows[-1].due_at.isoformat(), str(rows[-1].pk)
        else:
            query["before"] = str(rows[-1].pk)
        next_query = query.urlencode()
    return rows, next_query


def _filtered_list(request: HttpRequest, view: str, form: ListFilterForm):
    """The list narrowed by the valid filters, or None with the problems on the form."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    unit = None
    code = (data.get("unit") or "").strip()
    if code:
        unit = selectors.search_unit(code=code)
        if unit is None:
            form.add_error("unit", _("No unit has this code."))
            return None
    created_from, created_to = form.period()
    return selectors.ticket_search(
        user=request.user,
        view=view,
        sort=data.get("sort") or None,
        state=data["state"],
        type=data["type"],
        priority=data["priority"],
        unit=unit,
        handler=data["handler"].strip(),
        created_from=created_from,
        created_to=created_to,
    )


@login_required
def ticket_index(request: HttpRequest) -> HttpResponse:
    """The workbench: one list at a time, chosen by tab, with each tab's count (capped, see
    selectors.COUNT_CAP), filters and the nearest deadline coloured when due soon or overdue. On a
    ticket event the list fetches itself again over htmx, and the tabs with their counts come along
    out of band (tickets/_nav.html)."""
    nav = _nav(request.user)
    tabs = nav["tabs"]
    views = {tab.view: tab for tab in tabs}
    view = request.GET.get("view") or _default_view(tabs)
    if view not in views:
        raise Http404(_("There is no such list."))
    form = ListFilterForm(request.GET, sortable=view in selectors.DEADLINE_SORTABLE, staff=nav["roles"]["staff"])
    tickets = _filtered_list(request, view, form)
    rows, next_query = _page(tickets, request) if tickets is not None else ([], "")
    context = {
        **nav,
        "tab": views[view],
        "view": view,
        "rows": selectors.mark_deadlines(rows),
        "next_query": next_query,
        "form": form,
        "filtered": form.active(),
        "counts": selectors.ticket_list_counts(user=request.user, views=views),
        "count_cap": selectors.COUNT_CAP,
        "show_asker": view != "mine",
        "show_due": True,
        "bulk": view in BULK_ACCEPT_VIEWS and nav["roles"]["agent"],
    }
    # A filter the form refused is the request's fault: 400, with the errors above an empty list.
    status = 400 if form.errors else 200
    if request.htmx:
        return render(request, "tickets/_list.html", context, status=status)
    return render(request, "tickets/list.html", context, status=status)


# Lists whose rows an agent may accept in bulk (new tickets of the pools, and those assigned to them).
BULK_ACCEPT_VIEWS = frozenset({"pool", "assigned"})


def _back_to_list(request: HttpRequest):
    """Back to the list the bulk form was posted from (only a workbench URL of this site)."""
    back = request.POST.get("next", "")
    if back.startswith(reverse("tickets:index")) and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect(f"{reverse('tickets:index')}?view=pool")


@login_required
@require_POST
def ticket_bulk_accept(request: HttpRequest) -> HttpResponse:
    """确认接收 of the checked rows: each through the single accept, each refusal named in a message."""
    ids = [int(value) for value in request.POST.getlist("ticket") if value.isdigit()][:BULK_MAX]
    if not ids:
        messages.error(request, _("Check the tickets to accept first."))
        return _back_to_list(request)
    tickets = list(selectors.bulk_tickets(user=request.user, ids=ids))
    accepted, refused = tickets_accept_many(agent=request.user, tickets=tickets)
    if accepted:
        messages.success(request, _("Receipt confirmed for %(count)d tickets.") % {"count": len(accepted)})
    return _bulk_outcome(request, ids=ids, found=tickets, refused=refused)


def _bulk_outcome(request: HttpRequest, *, ids: list[int], found: list[Ticket], refused: list) -> HttpResponse:
    """Name each refused ticket and the checked ones the user can no longer see, then go back to the list."""
    for ticket, reason in refused:
        messages.error(request, f"{ticket.number}: {reason}")
    missing = len(set(ids)) - len(found)
    if missing:
        messages.error(request, _("%(count)d of the checked tickets no longer exist for you.") % {"count": missing})
    return _back_to_list(request)


@login_required
@require_POST
def ticket_bulk_transfer(request: HttpRequest) -> HttpResponse:
    """转派 of the checked rows with one reason, to the agent named by account or, with none, to each
    ticket's next agent in turn; each through the single transfer, each refusal named in a message."""
    ids = [int(value) for value in request.POST.getlist("ticket") if value.isdigit()][:BULK_MAX]
    form = BulkTransferForm(request.POST)
    if not ids:
        messages.error(request, _("Check the tickets to transfer first."))
        return _back_to_list(request)
    if not form.is_valid():
        # Named by the field, since the message stands above the list, away from the form.
        for name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[name].label}：{error}")
        return _back_to_list(request)
    agent = None
    account = form.cleaned_data["agent"].strip()
    if account:
        agent = selectors.transfer_agent_by_account(account=account)
        if agent is None:
            messages.error(request, _("No agent has the account “%(account)s”.") % {"account": account})
            return _back_to_list(request)
    tickets = list(selectors.bulk_tickets(user=request.user, ids=ids))
    moved, refused = tickets_transfer_many(
        actor=request.user, tickets=tickets, reason=form.cleaned_data["reason"], agent=agent
    )
    if moved:
        messages.success(request, _("%(count)d tickets transferred.") % {"count": len(moved)})
    return _bulk_outcome(request, ids=ids, found=tickets, refused=refused)


# --- 常用回复: canned replies -------------------------------------------------------------------------
@login_required
def canned_reply_list(request: HttpRequest) -> HttpResponse:
    """Unit administrators keep their units' canned replies; staff insert them from the compose box."""
    nav = _nav(request.user)
    if not nav["roles"]["supervisor"]:
        raise Http404(_("There is no such page."))
    units = selectors.canned_reply_units(user=request.user)
    form = CannedReplyForm(request.POST or None, units=units)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.canned_reply_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("The canned reply was added."))
                return redirect("tickets:canned_replies")
        status = 400
    replies = selectors.canned_replies_managed(user=request.user)[:500]
    return render(request, "tickets/canned_replies.html", {**nav, "form": form, "replies": replies}, status=status)


@login_required
@require_POST
def canned_reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    reply = selectors.canned_replies_managed(user=request.user).filter(pk=pk).first()
    if reply is None:
        raise Http404(_("There is no such canned reply."))
    services.canned_reply_delete(actor=request.user, reply=reply)
    messages.success(request, _("The canned reply was deleted."))
    return redirect("tickets:canned_replies")


# --- 问题咨询: ask ----------------------------------------------------------------------------------
def _attach_all(request: HttpRequest, ticket: Ticket, uploads, *, message=None, internal: bool = False) -> bool:
    """Attach checked uploads; a file refused now (a limit reached meanwhile) becomes a message."""
    ok = True
    for upload in uploads:
        try:
            attachment_add(ticket=ticket, user=request.user, upload=upload, message=message, internal=internal)
        except ValidationError as exc:
            ok = False
            for text in exc.messages:
                messages.error(request, f"{upload.name}: {text}")
    return ok


@login_required
def ticket_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = TicketCreateForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.ticket_create(
                    asker=user,
                    title=data["title"],
                    description=data["description"],
                    type=data["type"],
                    priority=data["priority"],
                    contact_name=data["contact_name"],
                    contact_info=data["contact_info"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                _attach_all(request, ticket, data["attachments"])
                sent = _("Your question %(number)s has been sent to technical support.")
                messages.success(request, sent % {"number": ticket.number})
                return redirect("tickets:detail", pk=ticket.pk)
        status = 400
    else:
        form = TicketCreateForm(initial={"contact_name": user.name, "contact_info": user.phone or user.email})
        status = 200
    return render(request, "tickets/create.html", {"form": form, "attachments_help": attachments_help()}, status=status)


# --- The ticket page ------------------------------------------------------------------------------
def _ticket_or_404(request: HttpRequest, pk: int) -> Ticket:
    return selectors.ticket_get(user=request.user, pk=pk)  # Http404 when the ticket is not the user's


@dataclass(frozen=True)
class Action:
    form: type
    run: Callable[[HttpRequest, Ticket, dict], Any]
    done: Any


def _approve(request: HttpRequest, ticket: Ticket, data: dict) -> Ticket:
    # Unchanged text is a plain approval; changed text is the reviewer's edit-and-approve.
    solution = data["solution"].strip()
    edited = solution if solution != ticket.solution.strip() else None
    return services.ticket_approve(ticket=ticket, reviewer=request.user, solution=edited)


def _reply(request: HttpRequest, ticket: Ticket, data: dict, *, internal: bool) -> bool | None:
    if not data["body"].strip():
        # Files without a word: attached to the ticket (internal ones from the note box), as the
        # separate attach form did before the compose box kept a single file control.
        if _attach_all(request, ticket, data["attachments"], internal=internal):
            messages.success(request, _("The files have been attached."))
        return False  # the message said is the files', not the reply's
    add = services.ticket_add_note if internal else services.ticket_reply
    message = add(ticket=ticket, author=request.user, body=data["body"])
    _attach_all(request, ticket, data["attachments"], message=message, internal=internal)
    return None


def _transfer(request: HttpRequest, ticket: Ticket, data: dict) -> Ticket:
    return services.ticket_transfer(
        ticket=ticket,
        actor=request.user,
        agent=_transfer_agent(ticket, data),
        group=data.get("group") or None,
        reason=data["reason"],
    )


def _transfer_agent(ticket: Ticket, data: dict):
    if data["agent"] is None:
        return None  # the pool's next agent in turn
    agent = selectors.transfer_candidates(ticket=ticket).filter(pk=data["agent"]).first()
    if agent is None:
        raise ValidationError(
            {"agent": [_("Choose an on-duty agent of this ticket's support pool who handles its type.")]}
        )
    return agent


def _merge(request: HttpRequest, ticket: Ticket, data: dict) -> Ticket:
    # A number the user cannot see is answered like one that does not exist.
    try:
        into = selectors.merge_target_get(user=request.user, ticket=ticket, ref=data["into"])
    except Ticket.DoesNotExist:
        raise ValidationError({"into": [_("There is no ticket with this number that you can see.")]}) from None
    return services.ticket_merge(ticket=ticket, actor=request.user, into=into, reason=data["reason"])


ACTIONS: dict[str, Action] = {
    "accept": Action(
        AcceptForm,
        lambda r, t, d: services.ticket_accept(ticket=t, agent=r.user),
        gettext_lazy("You have accepted the ticket; it is yours to answer."),
    ),
    "request_info": Action(
        RequestInfoForm,
        lambda r, t, d: services.ticket_request_info(ticket=t, agent=r.user, question=d["question"]),
        gettext_lazy("Your question has been sent to the asker; the SLA clock stops until they reply."),
    ),
    "answer": Action(
        AnswerForm,
        lambda r, t, d: services.ticket_submit_answer(ticket=t, agent=r.user, solution=d["solution"]),
        gettext_lazy("Your answer has been submitted."),
    ),
    "approve": Action(ApproveForm, _approve, gettext_lazy("The answer is approved; the asker has received it.")),
    "reject": Action(
        ReasonForm,
        lambda r, t, d: services.ticket_reject(ticket=t, reviewer=r.user, reason=d["reason"]),
        gettext_lazy("The answer went back to the agent with your reason."),
    ),
    "confirm": Action(
        ConfirmForm,
        lambda r, t, d: services.ticket_confirm(ticket=t, asker=r.user),
        gettext_lazy("Thank you. Please rate the service."),
    ),
    "reopen": Action(
        ReasonForm,
        lambda r, t, d: services.ticket_reopen(ticket=t, asker=r.user, reason=d["reason"]),
        gettext_lazy("The question is open again; the agent will follow up."),
    ),
    "rate": Action(
        RateForm,
        lambda r, t, d: services.ticket_rate(ticket=t, asker=r.user, rating=d["rating"], feedback=d["feedback"]),
        gettext_lazy("Thank you for your rating. The question is closed."),
    ),
    "priority": Action(
        PriorityForm,
        lambda r, t, d: services.ticket_change_priority(
            ticket=t, agent=r.user, priority=d["priority"], reason=d["reason"]
        ),
        gettext_lazy("The priority has been changed; the deadlines follow it."),
    ),
    "withdraw": Action(
        WithdrawForm,
        lambda r, t, d: services.ticket_withdraw(ticket=t, asker=r.user, reason=d["reason"]),
        gettext_lazy("Your question has been withdrawn and closed."),
    ),
    "close_invalid": Action(
        ReasonForm,
        lambda r, t, d: services.ticket_close_invalid(ticket=t, actor=r.user, reason=d["reason"]),
        gettext_lazy("The ticket has been closed as invalid."),
    ),
    "transfer": Action(
        TransferForm,
        _transfer,
        gettext_lazy("The ticket has been transferred; the new agent must confirm receipt."),
    ),
    "forward": Action(
        ReasonForm,
        lambda r, t, d: services.ticket_forward(ticket=t, actor=r.user, reason=d["reason"]),
        gettext_lazy("The ticket has been forwarded to the support pool one level up."),
    ),
    "merge": Action(MergeForm, lambda r, t, d: _merge(r, t, d), gettext_lazy("The duplicate has been merged.")),
    "reply": Action(
        MessageForm, lambda r, t, d: _reply(r, t, d, internal=False), gettext_lazy("Your reply has been sent.")
    ),
    "note": Action(
        MessageForm, lambda r, t, d: _reply(r, t, d, internal=True), gettext_lazy("The internal note has been saved.")
    ),
}
# Actions in the side panel; reply and note sit under the conversation (tickets/_compose.html), each
# with the box's one file control: files sent alone are attached to the ticket (the API's "attach").
PANEL_ACTIONS = (
    "accept",
    "request_info",
    "answer",
    "approve",
    "reject",
    "confirm",
    "reopen",
    "rate",
    "priority",
    "transfer",
    "forward",
    "merge",
    "close_invalid",
    "withdraw",
)


def _form_kwargs(name: str, ticket: Ticket) -> dict[str, Any]:
    # 转派 offers the pool's other on-duty agents of the ticket's type and the unit's other staffed
    # handling groups, read now.
    if name == "transfer":
        return {
            "agents": list(selectors.transfer_candidates(ticket=ticket)),
            "groups": list(selectors.transfer_groups(ticket=ticket)),
        }
    return {}


def _action_forms(ticket: Ticket, allowed: list[str], bound: dict[str, Any] | None = None) -> dict[str, Any]:
    """A form for each action the user may take now; ``bound`` holds the one just posted, with errors."""
    forms: dict[str, Any] = {}
    for name in allowed:
        if name not in ACTIONS:
            continue
        if bound and name in bound:
            forms[name] = bound[name]
        elif name == "approve":
            forms[name] = ApproveForm(initial={"solution": ticket.solution}, prefix=name)
        elif name == "priority":
            forms[name] = PriorityForm(initial={"priority": ticket.priority}, prefix=name)
        else:
            forms[name] = ACTIONS[name].form(prefix=name, **_form_kwargs(name, ticket))
    return forms


def _ticket_context(request: HttpRequest, ticket: Ticket, bound: dict[str, Any] | None = None) -> dict[str, Any]:
    user = request.user
    capabilities = selectors.ticket_capabilities(user=user, ticket=ticket)
    staff = bool(capabilities & selectors.STAFF_CAPABILITIES)
    allowed = selectors.ticket_allowed_actions(user=user, ticket=ticket)
    forms = _action_forms(ticket, allowed, bound)
    attachments = list(selectors.ticket_attachments(user=user, ticket=ticket))
    by_message: dict[int, list] = {}
    for attachment in attachments:
        if attachment.message_id:
            by_message.setdefault(attachment.message_id, []).append(attachment)
    conversation = list(selectors.ticket_messages(user=user, ticket=ticket))
    for message in conversation:
        message.files = by_message.get(message.pk, [])
    return {
        "ticket": ticket,
        "capabilities": capabilities,
        "is_staff": staff,
        "is_asker": "asker" in capabilities,
        "show_solution": bool(ticket.solution) and selectors.solution_visible(capabilities=capabilities, ticket=ticket),
        # A merged duplicate links its target only for a reader who may open it (else the number alone).
        "merged_into_visible": bool(ticket.merged_into_id)
        and selectors.visible_tickets(user=user).filter(pk=ticket.merged_into_id).exists(),
        "allowed": allowed,
        "actions_key": ",".join(allowed),
        "panel_forms": [(name, forms[name]) for name in PANEL_ACTIONS if name in forms],
        "forms": forms,
        "conversation": conversation,
        "ticket_files": [attachment for attachment in attachments if not attachment.message_id],
        "timeline": selectors.ticket_timeline(user=user, ticket=ticket),
        "sla": services.ticket_sla(ticket=ticket),
        "attachments_help": attachments_help(),
        # 常用回复 for the compose box: staff only, those of their units and the units above.
        "canned_replies": list(selectors.canned_replies(user=user)[:200]) if staff else [],
    }


# The page's parts that refresh on their own when the ticket changes (htmx, ?part=<name>).
PARTS = {
    "main": "tickets/_detail_main.html",
    "side": "tickets/_detail_side.html",
    "actions": "tickets/_actions.html",
    "compose": "tickets/_compose.html",
    "sla": "tickets/_sla.html",
}


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket_or_404(request, pk)
    context = _ticket_context(request, ticket)
    part = request.GET.get("part", "")
    if part:
        if part not in PARTS:
            raise Http404(_("No such part of the page."))
        return render(request, PARTS[part], context)
    return render(request, "tickets/detail.html", context)


@require_POST
@login_required
def ticket_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404(_("No such action."))
    ticket = _ticket_or_404(request, pk)
    spec = ACTIONS[action]
    form = spec.form(request.POST, request.FILES, prefix=action, **_form_kwargs(action, ticket))
    if action not in selectors.ticket_allowed_actions(user=request.user, ticket=ticket):
        # Somebody was quicker (another agent accepted, the reviewer already decided) or the page is old.
        messages.error(
            request,
            _("This action is not possible now: the ticket is “%(state)s”.") % {"state": ticket.get_state_display()},
        )
        return redirect("tickets:detail", pk=ticket.pk)
    if form.is_valid():
        try:
            result = spec.run(request, ticket, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            # False: files were refused, and each refusal is already a message.
            if result is not False:
                messages.success(request, spec.done)
            return redirect("tickets:detail", pk=ticket.pk)
    # Show the page again with the posted form and its errors, on a fresh copy of the ticket.
    ticket = _ticket_or_404(request, pk)
    context = _ticket_context(request, ticket, bound={action: form})
    context["failed_action"] = action
    return render(request, "tickets/detail.html", context, status=400)


@login_required
def ticket_sla_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Per-ticket SLA view: each target, its deadline, time left or overdue, time paused."""
    ticket = _ticket_or_404(request, pk)
    return render(request, "tickets/sla.html", {"ticket": ticket, "sla": services.ticket_sla(ticket=ticket)})


# --- 答案查询: search -----------------------------------------------------------------------------
@login_required
def ticket_search(request: HttpRequest) -> HttpResponse:
    user = request.user
    staff = selectors.user_is_support_staff(user)
    form = SearchForm(request.GET or None, staff=staff)
    rows: list[Ticket] = []
    next_query = ""
    searched = False
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        unit = None
        code = (data.get("unit") or "").strip()
        if code:
            unit = selectors.search_unit(code=code)
            if unit is None:
                form.add_error("unit", _("No unit has this code."))
        if not form.errors:
            created_from, created_to = form.period()
            view = data.get("scope") or ("handled" if staff else "mine")
            results = selectors.ticket_search(
                user=user,
                q=data["q"],
                number=data["number"],
                state=data["state"],
                type=data["type"],
                priority=data["priority"],
                unit=unit,
                created_from=created_from,
                created_to=created_to,
                view=view,
            )
            rows, next_query = _page(results.order_by("-id"), request)
            rows = selectors.mark_deadlines(rows)
            searched = True
    status = 400 if form.is_bound and form.errors else 200
    template = "tickets/_search_results.html" if request.htmx else "tickets/search.html"
    return render(
        request,
        template,
        {
            "form": form,
            "rows": rows,
            "next_query": next_query,
            "searched": searched,
            "show_asker": staff,
            **_nav(user),
        },
        status=status,
    )


# --- Follow-ups and the units' review switch (supervisors) ------------------------------------------
def supervisor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else the login page) and a unit administrator somewhere (else 403): the pages of
    follow-ups and review switches. Which units' rows they show is the selectors' business."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not scope_of(request.user).is_unit_admin:
            raise PermissionDenied(_("Only unit administrators see this page."))
        return view(request, *args, **kwargs)

    return wrapper


FOLLOW_UP_PAGE = 100


def _follow_ups_page(request: HttpRequest, *, show_done: bool, status: int = 200, **extra) -> HttpResponse:
    # Open follow-ups first, the most urgent on top; a supervisor's list is short, so one page.
    follow_ups = selectors.follow_ups_for(user=request.user, open_only=not show_done)[:FOLLOW_UP_PAGE]
    # The live region asks for its rows alone when a follow-up arrives (tickets.js, htmx).
    live = request.htmx and request.method == "GET"
    return render(
        request,
        "tickets/_follow_up_rows.html" if live else "tickets/follow_ups.html",
        {
            "rows": list(follow_ups),
            "show_done": show_done,
            "form": FollowUpForm(),
            "now": timezone.now(),
            **_nav(request.user),
            **extra,
        },
        status=status,
    )


@supervisor_required
def follow_up_list(request: HttpRequest) -> HttpResponse:
    return _follow_ups_page(request, show_done=request.GET.get("done") == "1")


@require_POST
@supervisor_required
def follow_up_complete(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = selectors.follow_up_get(user=request.user, pk=pk)  # Http404 when not the user's
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_complete(follow_up=follow_up, user=request.user, outcome=form.cleaned_data["outcome"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The follow-up of %(number)s is done.") % {"number": follow_up.ticket.number})
            return redirect("tickets:follow_ups")
    return _follow_ups_page(request, show_done=False, status=400, failed=follow_up.pk, failed_form=form)


@supervisor_required
def support_settings(request: HttpRequest) -> HttpResponse:
    """A unit administrator's switch: are this unit's answers reviewed before the asker sees them?"""
    units = selectors.review_switch_units(user=request.user)
    form = SupportSettingsForm(request.POST or None, units=units)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            unit = next(unit for unit in units if unit.pk == form.cleaned_data["unit"])
            try:
                services.support_settings_set(
                    unit=unit, admin=request.user, review_required=form.cleaned_data["review_required"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                if form.cleaned_data["review_required"]:
                    text = _("Answers of %(unit)s are now reviewed before the asker sees them.")
                else:
                    text = _("Answers of %(unit)s now go to the asker without review.")
                messages.success(request, text % {"unit": unit.name})
                return redirect(reverse("tickets:settings"))
        status = 400
    rows = [{"unit": unit, "review": selectors.review_required(unit_id=unit.pk)} for unit in units]
    return render(
        request,
        "tickets/settings.html",
        {
            "rows": rows,
            "form": form,
            **_nav(request.user),
        },
        status=status,
    )
