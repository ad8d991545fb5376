"""Reads of tickets, each scoped to what the acting user may see.

Who sees a ticket: its asker; support agents, answer reviewers and unit administrators (supervisors)
of the ticket's unit or any unit above it, since those are the pools that serve it and the people
answerable for them. Superusers see everything. Anything else is "not found", never "forbidden",
so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Case, DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Least, Left
from django.db.models.lookups import Exact
from django.db.models.query import ModelIterable
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import HandlingGroup, Role, RoleAssignment, User
from accounts.scope import HeldRole, path_in_subtree, scope_of, subtrees_q
from helpdesk.core.api.delta import DeltaSource
from helpdesk.core.db import prefix_upper_bound
from helpdesk.core.search import filter_by_words
from orgtree.models import OrgLevel, OrgUnit

from ..models import (
    ACTIVE_STATES,
    FINAL_STATES,
    OPEN_STATES,
    CannedReply,
    FollowUp,
    SupportSettings,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
    TicketSearch,
    TicketState,
    transition_allowed,
)

STAFF_ROLES = (Role.SUPPORT_AGENT, Role.ANSWER_REVIEWER, Role.UNIT_ADMIN)
STAFF_CAPABILITIES = frozenset({"agent", "reviewer", "supervisor"})
DUE_SOON = timedelta(hours=2)
CAPABILITY_FOR_ROLE = {Role.SUPPORT_AGENT: "agent", Role.ANSWER_REVIEWER: "reviewer", Role.UNIT_ADMIN: "supervisor"}

LIST_RELATED = ("asker", "unit", "pool_unit", "assignee")


def _staff_roles(user: User) -> tuple[HeldRole, ...]:
    """The user's support roles (agent, reviewer, administrator), from the one scope read."""
    return scope_of(user).held(*STAFF_ROLES)


def user_is_agent(user: User) -> bool:
    return scope_of(user).holds(Role.SUPPORT_AGENT)


def user_is_reviewer(user: User) -> bool:
    return scope_of(user).holds(Role.ANSWER_REVIEWER)


def user_is_support_staff(user: User) -> bool:
    return user.is_superuser or scope_of(user).holds(*STAFF_ROLES)


def _staff_paths(user: User, roles: tuple[str, ...] = STAFF_ROLES) -> tuple[str, ...]:
    """Top paths of the subtrees where the user holds one of ``roles`` (a unit inside another adds nothing)."""
    return scope_of(user).paths(*roles)


def _visible(user: User) -> Q:
    """The condition of visible_tickets for a signed-in user who is not a superuser."""
    return Q(asker=user) | subtrees_q(_staff_paths(user), "unit_path")


def visible_tickets(*, user: User) -> QuerySet[Ticket]:
    if not user.is_authenticated:
        return Ticket.objects.none()
    if user.is_superuser:
        return Ticket.objects.all()
    return Ticket.objects.filter(_visible(user))


def _in_scope(user: User, tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``tickets`` narrowed to what the user may open. A list found by assignment is only as current
    as the assignment: an agent whose role was removed keeps the tickets' assignee column until
    someone reassigns them, but not the right to see them, and a list must never offer a row whose
    page is a 404."""
    if user.is_superuser:
        return tickets
    return tickets.filter(_visible(user))


def ticket_get(*, user: User, pk: int) -> Ticket:
    """The ticket if the user may see it. Otherwise Http404, the one "not yours" of every selector
    (accounts' too): the API and the portal both answer it with a 404, never a 403 that confirms it."""
    try:
        return visible_tickets(user=user).select_related(*LIST_RELATED).get(pk=pk)
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such ticket.")) from None


def ticket_capabilities(*, user: User, ticket: Ticket) -> set[str]:
    """What the user is to this ticket: asker, agent (of a pool that may serve it), reviewer (of the
    unit answering it) and supervisor (administrator of its unit or a unit above)."""
    caps: set[str] = set()
    if ticket.asker_id == user.pk:
        caps.add("asker")
    pool_id = ticket.pool_unit_id
    for held in _staff_roles(user):
        if not path_in_subtree(ticket.unit_path, held.unit_path):
            continue
        if held.role == Role.ANSWER_REVIEWER:
            if held.unit_id == pool_id:
                caps.add("reviewer")
        else:
            caps.add(CAPABILITY_FOR_ROLE[held.role])
    if user.is_superuser:
        caps.add("supervisor")
    return caps


# Answers the asker may read: approved, or given directly where review is off.
ANSWER_VISIBLE_STATES = frozenset({TicketState.ANSWERED, TicketState.RESOLVED, TicketState.CLOSED})


def answer_published(ticket: Ticket) -> bool:
    """Whether the ticket's answer has reached the asker. A ticket closed early (withdrawn, invalid,
    merged) never had one: those close only from states before 已答复, so a draft that was waiting
    for review then stays the staff's, on the page and out of the search index."""
    if ticket.state == TicketState.CLOSED and ticket.close_reason:
        return False
    return ticket.state in ANSWER_VISIBLE_STATES


def solution_visible(*, capabilities: set[str], ticket: Ticket) -> bool:
    """Whether a reader with these capabilities may read the answer: staff always, others (the asker)
    only once it has been approved, never a draft waiting for review or sent back."""
    return bool(capabilities & STAFF_CAPABILITIES) or answer_published(ticket)


# The actions a page offers that are transitions, by the table's name: "answer" is submit_answer or
# answer_direct (both start from the same state; the unit's review switch picks one).
PAGE_TRANSITIONS = {
    "accept": "accept",
    "request_info": "request_info",
    "answer": "submit_answer",
    "approve": "approve",
    "reject": "reject",
    "confirm": "confirm",
    "reopen": "reopen",
    "rate": "rate",
    "withdraw": "withdraw",
    "close_invalid": "close_invalid",
    "transfer": "transfer",
    "forward": "forward",
    "merge": "merge",
}


def _offered(state: str, *page_actions: str) -> list[str]:
    """Those of ``page_actions`` the transition table lets start from ``state``, in the order given."""
    return [action for action in page_actions if transition_allowed(PAGE_TRANSITIONS[action], state)]


def ticket_allowed_actions(*, user: User, ticket: Ticket) -> list[str]:
    """The actions the user may take now, in the order a page shows them. Which state allows which
    transition is the table's word (``TRANSITIONS``); the rest (priority, reply, attach, note) is
    possible in every state some action still leaves, that is until the ticket is closed."""
    caps = ticket_capabilities(user=user, ticket=ticket)
    state = ticket.state
    changeable = state not in FINAL_STATES
    actions: list[str] = []
    if "agent" in caps:
        if ticket.assignee_id in (None, user.pk):
            actions += _offered(state, "accept")
        if ticket.assignee_id == user.pk:
            actions += _offered(state, "request_info", "answer")
        if changeable:
            actions.append("priority")
    if "reviewer" in caps:
        actions += _offered(state, "approve", "reject")
    if ("agent" in caps and ticket.assignee_id == user.pk) or "supervisor" in caps:
        # The handler, or a supervisor of the ticket's unit or above, passes it on or ends it.
        actions += _offered(state, "transfer", "forward", "merge", "close_invalid")
    if "asker" in caps:
        actions += _offered(state, "confirm", "reopen", "withdraw")
        if not ticket.rating:
            actions += _offered(state, "rate")
    if changeable and (caps & ({"asker"} | STAFF_CAPABILITIES)):
        actions += ["reply", "attach"]
    if changeable and caps & STAFF_CAPABILITIES:
        actions.append("note")
    return actions


def _ordered(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return queryset.select_related(*LIST_RELATED).order_by("-id")


# The one place "in the subtree" is not scope's path range: the handled list's first page.
# Lengths of unit paths (a prefecture's, most counties') whose subtrees have an index of their own,
# ``(left(unit_path, n), id DESC)`` (migration 0008): the subtree is one key there, its tickets
# newest first, so a page reads its 21 rows and stops. A range of unit_path cannot give that order;
# PostgreSQL either sorted the whole subtree (3,878 heap pages for a prefecture) or walked the id
# index filtering, 19,000 rows for a prefecture whose tickets are sparse among the recent ones.
INDEXED_SUBTREE_LENGTHS = frozenset({12, 16})


def _subtree_newest_first(path: str) -> Q:
    """The same tickets as ``subtrees_q([path], "unit_path")``, written so the subtree's own index
    serves them in id order."""
    if len(path) in INDEXED_SUBTREE_LENGTHS:
        # Every path in the subtree starts with ``path`` and is at least as long: equality on the prefix.
        return Q(Exact(Left("unit_path", len(path)), path))
    return subtrees_q([path], "unit_path")


def _asked_only_within(user: User, paths: tuple[str, ...]) -> bool:
    """Whether every ticket the user asked lies in one of ``paths``' subtrees (the asker's own tickets
    then add nothing to the staff subtrees). One indexed read of the user's own tickets."""
    return not Ticket.objects.filter(asker=user).exclude(subtrees_q(paths, "unit_path")).exists()


def _handled(user: User) -> QuerySet[Ticket]:
    """Everything the user may see (``visible_tickets``), in a shape whose first page is an ordered
    index range. The asker half of the OR is left out when the user asked nothing outside their staff
    subtrees: an OR becomes a bitmap of both halves, sorted whole before the page is cut."""
    if not user.is_authenticated or user.is_superuser:
        return visible_tickets(user=user)
    paths = _staff_paths(user)
    q = Q(asker=user) if not paths or not _asked_only_within(user, paths) else Q()
    for path in paths:
        q |= _subtree_newest_first(path)
    return Ticket.objects.filter(q)


# The columns a list row shows (TicketListSerializer), and the names of its references.
LIST_COLUMNS = (
    "id",
    "number",
    "title",
    "type",
    "priority",
    "state",
    "unit",
    "asker",
    "assignee",
    "pool_unit",
    "contact_name",
    "contact_info",
    "rating",
    "created_at",
    "updated_at",
    "next_due_at",
    "escalation_level",
)


def ticket_list_rows(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """A list's tickets with only the columns a row shows, the unit's, pool's, asker's and handler's
    names as ``unit_name``, ``pool_unit_name``, ``asker_account``, ``asker_name``, ``assignee_account``
    and ``assignee_name``.

    The names are subqueries in the select list rather than joins: PostgreSQL evaluates those after
    ORDER BY ... LIMIT, so a page looks up its own 21 rows' names, where the four joins of
    select_related were planned (1.2-2 ms) and run for every ticket of the list before the sort."""
    # No ordering: one row each, and the tree's default order by path would sort it.
    units = OrgUnit.objects.order_by().values("name")
    users = User.objects.order_by()
    if "due_at" not in tickets.query.annotations:
        # Computed for the page's rows only (a select-list expression), for the nearest deadline.
        tickets = tickets.annotate(due_at=nearest_due_expression())
    return (
        tickets.select_related(None)
        .prefetch_related(None)
        .only(*LIST_COLUMNS)
        .annotate(
            unit_name=Subquery(units.filter(pk=OuterRef("unit_id"))),
            pool_unit_name=Subquery(units.filter(pk=OuterRef("pool_unit_id"))),
            asker_account=Subquery(users.filter(pk=OuterRef("asker_id")).values("username")),
            asker_name=Subquery(users.filter(pk=OuterRef("asker_id")).values("name")),
            assignee_account=Subquery(users.filter(pk=OuterRef("assignee_id")).values("username")),
            assignee_name=Subquery(users.filter(pk=OuterRef("assignee_id")).values("name")),
        )
    )


# --- The workbench's deadline: the nearer of 确认接收 and the current SLA deadline ---------------------
# An assignment not yet confirmed has its own, shorter clock (ack_due_at); once accepted, the clock
# that matters is next_due_at (first response, then resolution; null while paused or done). A queue
# sorted by next_due_at alone put a ticket whose receipt was due in 10 minutes below one due in an
# hour, and its 截止时间 column showed the later of the two.
# Tickets with no deadline sort last; a sentinel instead of NULL keeps the keyset cursor total
# (a NULL has no place in a row comparison).
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
DUE_ORDER = ("due_at", "id")
_AWAITING_RECEIPT = Q(state=TicketState.NEW, accepted_at__isnull=True, ack_due_at__isnull=False)


def nearest_due_expression():
    """SQL for a ticket's nearest deadline (``NO_DEADLINE`` when none). Each side is given the far
    deadline when missing before LEAST: PostgreSQL's LEAST skips NULLs but SQLite's MIN() returns NULL
    as soon as one is NULL, which gave the embedded default no deadline for most tickets."""
    ack = Case(When(_AWAITING_RECEIPT, then=F("ack_due_at")), output_field=DateTimeField())
    far = Value(NO_DEADLINE, output_field=DateTimeField())
    return Least(
        Coalesce(ack, far, output_field=DateTimeField()),
        Coalesce(F("next_due_at"), far, output_field=DateTimeField()),
        output_field=DateTimeField(),
    )


def nearest_due(ticket: Ticket) -> datetime | None:
    """The same deadline in Python, for a ticket read without the annotation (``None`` when none)."""
    annotated = ticket.__dict__.get("due_at")
    if annotated is not None:
        return None if annotated == NO_DEADLINE else annotated
    moments = [ticket.next_due_at]
    if ticket.state == TicketState.NEW and ticket.accepted_at is None:
        moments.append(ticket.ack_due_at)
    moments = [moment for moment in moments if moment is not None]
    return min(moments) if moments else None


def due_status(due: datetime | None, now: datetime) -> str:
    """ "overdue", "due_soon" (within DUE_SOON) or "" — the colour a row gets."""
    if due is None:
        return ""
    if due < now:
        return "overdue"
    return "due_soon" if due < now + DUE_SOON else ""


def mark_deadlines(rows: Iterable[Ticket], *, now: datetime | None = None) -> list[Ticket]:
    """Rows with ``deadline`` and ``deadline_status`` set for a page to show."""
    now = now or timezone.now()
    marked = []
    for row in rows:
        row.deadline = nearest_due(row)
        row.deadline_status = due_status(row.deadline, now)
        marked.append(row)
    return marked


# Work queues: every row is open, so each list is bounded by the leading columns of its index
# (assignee or pool_unit, state) and sorting it by the computed deadline sorts that small set, not the
# table. The history lists (mine, handled) hold mostly finished tickets without a deadline and can
# be a province's millions: they stay newest first on their id indexes.
DEADLINE_SORTABLE = frozenset({"assigned", "pool", "due_soon", "breached", "review"})
SORTS = ("due", "new")


def _by_deadline(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    # The names a row shows are prefetched for the page's rows (four lookups by id) rather than
    # joined: a computed order is sorted after the joins, so joins would run for every ticket of a
    # pool's backlog, not for the 30 rows shown.
    return queryset.prefetch_related(*LIST_RELATED).annotate(due_at=nearest_due_expression()).order_by(*DUE_ORDER)


def _due_window(view: str, now: datetime) -> Q:
    """Tickets whose nearest deadline is past ("breached") or within DUE_SOON ("due_soon"), written
    on the two columns rather than the computed deadline, so PostgreSQL reads the partial
    (assignee|pool_unit, next_due_at) indexes and the (…, state) queue indexes instead of every open
    ticket of a pool."""
    overdue = Q(next_due_at__lt=now) | (_AWAITING_RECEIPT & Q(ack_due_at__lt=now))
    if view == "breached":
        return overdue
    soon = now + DUE_SOON
    return (Q(next_due_at__lt=soon) | (_AWAITING_RECEIPT & Q(ack_due_at__lt=soon))) & ~overdue


def ticket_list(
    *, user: User, view: str = "mine", now: datetime | None = None, sort: str | None = None
) -> QuerySet[Ticket]:
    """One of the portal's and the app's lists. Each is served by an index on the ticket table.
    The work queues are nearest deadline first unless ``sort="new"``; the others newest first."""
    now = now or timezone.now()
    order = _by_deadline if view in DEADLINE_SORTABLE and sort != "new" else _ordered
    if view == "mine":
        return _ordered(Ticket.objects.filter(asker=user))
    if view == "assigned":
        return order(_in_scope(user, Ticket.objects.filter(assignee=user, state__in=OPEN_STATES)))
    if view == "pool":
        pools = [held.unit_id for held in scope_of(user).held(Role.SUPPORT_AGENT)]
        return order(Ticket.objects.filter(pool_unit_id__in=pools, state=TicketState.NEW))
    if view in ("due_soon", "breached"):
        pools = [held.unit_id for held in scope_of(user).held(Role.SUPPORT_AGENT)]
        mine = Q(assignee=user) | Q(pool_unit_id__in=pools)
        return order(_in_scope(user, Ticket.objects.filter(mine, _due_window(view, now), state__in=ACTIVE_STATES)))
    if view == "review":
        units = [held.unit_id for held in scope_of(user).held(Role.ANSWER_REVIEWER)]
        return order(Ticket.objects.filter(pool_unit_id__in=units, state=TicketState.PENDING_REVIEW))
    if view == "handled":
        return _ordered(_handled(user))
    raise ValueError(f"unknown list {view!r}")


# --- Delta sync (helpdesk.core.api.delta) -----------------------------------------------------------
# Tombstones of tickets: "ticket" for every ticket list (a deleted ticket, for everyone; a ticket
# handed from one agent to another, for the first agent), and one kind per pool for a ticket that
# left a pool (forwarded or escalated up): its agents' and reviewers' pool lists lose it, although
# nothing of theirs changed.
TOMBSTONE_KIND = "ticket"
# The lists the clock changes without a ticket changing (a deadline draws near): fetched whole.
CLOCK_VIEWS = frozenset({"due_soon", "breached"})


def pool_tombstone_kind(unit_id: int) -> str:
    return f"{TOMBSTONE_KIND}:pool:{unit_id}"


def ticket_delta_source(*, user: User, view: str) -> DeltaSource:
    """What a delta of one of ``ticket_list``'s lists reads: the tickets that are in it or may have
    left it by a change of their own (its query without the state and scope conditions: a ticket
    of my pool accepted by someone is no longer new, still my pool's), which of them are in it now,
    and the tombstones of what left it otherwise. ValueError for the clock's lists.

    Who stops seeing a ticket, and how they learn it (``removed``):
    - deleted (the back office): a tombstone for everyone;
    - handed to another agent (转派, 上报, an escalation, the sweep's reassignment): the previous
      handler's tombstone: out of its ``assigned`` list;
    - moved to another pool (上报, an escalation): the old pool's tombstone: out of its agents'
      ``pool`` and reviewers' ``review`` lists;
    - closed, accepted, answered, approved …: a change of its own, read from the candidates;
    - the reader's roles, or the tree above the ticket, changed: the whole list is to be fetched
      again (410 ``resync_required``), since a new subtree brings tickets that did not change.
    Visibility itself (``visible_tickets``: the asker, and staff of the ticket's unit or above)
    does not change with a transfer, a forward or an escalation: the pools above are the ticket's
    unit's ancestors, so their staff already saw it, and the pool below keeps seeing it."""
    if view in CLOCK_VIEWS:
        raise ValueError(f"list {view!r} changes with the clock")
    kinds = (TOMBSTONE_KIND,)
    if view == "mine":
        return DeltaSource(candidates=Ticket.objects.filter(asker=user), kinds=kinds, user_id=user.pk)
    if view == "handled":
        return DeltaSource(candidates=_handled(user), kinds=kinds, user_id=user.pk)
    if view == "assigned":
        member = Q(state__in=OPEN_STATES) if user.is_superuser else Q(state__in=OPEN_STATES) & _visible(user)
        return DeltaSource(candidates=Ticket.objects.filter(assignee=user), kinds=kinds, user_id=user.pk, member=member)
    if view in ("pool", "review"):
        role, state = (
            (Role.SUPPORT_AGENT, TicketState.NEW)
            if view == "pool"
            else (Role.ANSWER_REVIEWER, TicketState.PENDING_REVIEW)
        )
        units = sorted({held.unit_id for held in scope_of(user).held(role)})
        return DeltaSource(
            candidates=Ticket.objects.filter(pool_unit_id__in=units),
            kinds=(*kinds, *(pool_tombstone_kind(unit_id) for unit_id in units)),
            user_id=user.pk,
            member=Q(state=state),
        )
    raise ValueError(f"unknown list {view!r}")


def bulk_tickets(*, user: User, ids: Iterable[int]) -> QuerySet[Ticket]:
    """The tickets of a bulk action that the user may see, in id order; the others do not exist for
    them (a bulk request cannot probe another unit's ids any more than a single one)."""
    return visible_tickets(user=user).filter(pk__in=list(ids)).order_by("id")


def transfer_agent_by_id(*, pk: int) -> User | None:
    """The agent a bulk transfer names by id (API); the transfer checks they may take each ticket."""
    return User.objects.filter(pk=pk, is_active=True).first()


def transfer_agent_by_account(*, account: str) -> User | None:
    """The agent a bulk transfer names by account. Whether they may take each ticket (an on-duty agent
    of its pool serving its type) is the transfer's own check, so naming anyone reveals nothing."""
    return User.objects.filter(username=account, is_active=True).first()


# --- 常用回复: canned replies -----------------------------------------------------------------------
def _ancestor_paths(path: str) -> list[str]:
    """A unit's path and its ancestors' (materialized path: each is a prefix, 4 characters a level)."""
    step = OrgUnit.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


def canned_replies(*, user: User) -> QuerySet[CannedReply]:
    """The canned replies a user may use: those of each unit where they hold a support role and of
    every unit above it (a province's texts serve its counties). Nobody else has any."""
    if user.is_superuser:
        return CannedReply.objects.select_related("unit").order_by("unit__path", "title", "id")
    paths = {ancestor for held in _staff_roles(user) for ancestor in _ancestor_paths(held.unit_path)}
    if not paths:
        return CannedReply.objects.none()
    units = OrgUnit.objects.filter(path__in=paths).values("pk")
    return CannedReply.objects.filter(unit_id__in=units).select_related("unit").order_by("unit__path", "title", "id")


def canned_replies_managed(*, user: User) -> QuerySet[CannedReply]:
    """The canned replies a unit administrator maintains: those of the units in their subtrees."""
    if user.is_superuser:
        return CannedReply.objects.select_related("unit").order_by("unit__path", "title", "id")
    paths = scope_of(user).admin_paths
    if not paths:
        return CannedReply.objects.none()
    units = OrgUnit.objects.filter(subtrees_q(paths, "path")).values("pk")
    return CannedReply.objects.filter(unit_id__in=units).select_related("unit").order_by("unit__path", "title", "id")


def canned_reply_units(*, user: User) -> QuerySet[OrgUnit]:
    """The units an administrator may keep canned replies for: the tops of their subtrees (their own
    units; a reply there serves everything below)."""
    if user.is_superuser:
        return OrgUnit.objects.filter(depth=1).order_by("path")
    return OrgUnit.objects.filter(path__in=scope_of(user).admin_paths).order_by("path")


# Tab counts stop here: a count is one index range read of at most this many keys, whatever the
# list's size ("99+" past it), so the workbench's seven counts stay a few milliseconds for a
# province's administrator as for a school's teacher.
COUNT_CAP = 100


def ticket_list_counts(*, user: User, views: Iterable[str], now: datetime | None = None) -> dict[str, int]:
    """How many tickets each list holds, each capped at COUNT_CAP (a count of COUNT_CAP means "more")."""
    now = now or timezone.now()
    counts = {}
    for view in views:
        # Without ORDER BY and joins: LIMIT over the list's own index, counted.
        tickets = ticket_list(user=user, view=view, now=now, sort="new").select_related(None).order_by()
        counts[view] = tickets.values("pk")[:COUNT_CAP].count()
    return counts


TICKET_LIST_VIEWS = ("mine", "assigned", "pool", "due_soon", "breached", "review", "handled")


def ticket_search(
    *,
    user: User,
    q: str = "",
    number: str = "",
    state: str = "",
    type: str = "",
    priority: str = "",
    unit: OrgUnit | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    handler: int | str | None = None,
    view: str = "handled",
    sort: str | None = None,
) -> QuerySet[Ticket]:
    """答案查询 and the workbench's filters: the user's visible tickets (or one of their lists) narrowed
    by the filters. ``unit`` narrows to that unit's subtree; the dates bound the creation time
    (``created_to`` exclusive); ``handler`` is the handling agent's id (API) or account (portal).
    Every filter only narrows a list already scoped to the user, so naming another unit's agent or
    unit finds nothing rather than revealing anything."""
    tickets = ticket_list(user=user, view=view, sort=sort)
    if isinstance(handler, int):
        tickets = tickets.filter(assignee_id=handler)
    elif handler:
        # One indexed lookup of the account, not a join of users into the list's plan.
        tickets = tickets.filter(assignee_id__in=Subquery(User.objects.filter(username=handler).values("pk")[:1]))
    if number:
        number = number.strip().upper()
        upper = prefix_upper_bound(number)
        tickets = tickets.filter(number__gte=number, number__lt=upper) if upper else tickets.filter(number=number)
    if state:
        tickets = tickets.filter(state=state)
    if type:
        tickets = tickets.filter(type=type)
    if priority:
        tickets = tickets.filter(priority=priority)
    if unit is not None:
        tickets = tickets.filter(subtrees_q([unit.path], "unit_path"))
    if created_from is not None:
        tickets = tickets.filter(created_at__gte=created_from)
    if created_to is not None:
        tickets = tickets.filter(created_at__lt=created_to)
    if q:
        tickets = filter_by_words(
            tickets,
            q,
            table=TicketSearch._meta.db_table,
            key=TicketSearch._meta.pk.column,
            narrow=_narrow_scope(user, view=view, unit=unit),
        )
    return tickets


def _narrow_scope(user: User, *, view: str, unit: OrgUnit | None = None) -> bool:
    """Whether the user's search covers at most a county's tickets, where checking each ticket's
    words beats collecting the whole country's matches from the full-text index."""
    if user.is_superuser and unit is None:
        return False
    if view in ("mine", "assigned", "pool", "review", "due_soon", "breached"):
        return True
    if unit is not None:
        return unit.level >= OrgLevel.COUNTY
    return all(held.unit_level >= OrgLevel.COUNTY for held in _staff_roles(user))


def search_unit(*, unit_id: int | None = None, code: str = "") -> OrgUnit | None:
    """The unit a search narrows to, by id (API) or code (portal). Units are public (the directory
    shows them); what the search then finds is scoped by ``ticket_search``."""
    units = OrgUnit.objects.only("id", "path", "level", "name", "code")
    if unit_id is not None:
        return units.filter(pk=unit_id).first()
    return units.filter(code=code).first() if code else None


def ticket_messages(*, user: User, ticket: Ticket) -> QuerySet[TicketMessage]:
    """Replies, and internal notes for the ticket's staff only (never the asker)."""
    messages = TicketMessage.objects.filter(ticket=ticket).select_related("author").order_by("id")
    if not ticket_capabilities(user=user, ticket=ticket) & STAFF_CAPABILITIES:
        messages = messages.filter(internal=False)
    return messages


def ticket_attachments(*, user: User, ticket: Ticket) -> QuerySet[TicketAttachment]:
    attachments = TicketAttachment.objects.filter(ticket=ticket).select_related("uploaded_by").order_by("id")
    if not ticket_capabilities(user=user, ticket=ticket) & STAFF_CAPABILITIES:
        attachments = attachments.filter(internal=False)
    return attachments


# Timeline lines only the ticket's staff read. A submitted answer is a draft for the reviewers, and a
# rejection is the reviewer's word to the agent about it (its comment is the reason): the asker
# never saw either. Warnings and follow-ups are the support centre's own business.
STAFF_ONLY_EVENT_KINDS = (
    TicketEvent.Kind.ANSWER_SUBMITTED,
    TicketEvent.Kind.REJECTED,
    TicketEvent.Kind.SLA_WARNING,
    TicketEvent.Kind.FOLLOW_UP,
    TicketEvent.Kind.FOLLOW_UP_DONE,
)
# Keys of a line's data that hold answer text: the draft an agent submitted ("answered") and the
# reviewer's edit ("reviewed"). The asker reads the answer on the ticket once it is published, never
# a version of it from the timeline, and whether the reviewer edited it is the review's business.
ANSWER_DATA_KEYS = frozenset({"solution"})


class _AskerTimelineIterable(ModelIterable):
    """Timeline lines without the answer texts their data holds, and an approval told as what it is
    to the asker: the answer arrived (已答复), not that a review happened. The selector's queryset
    yields these whoever reads it (the API's keyset pages, the portal's template), so no reader can
    forget to strip them; the lines are for reading, never saved back."""

    def __iter__(self):
        for line in super().__iter__():
            if isinstance(line.data, dict) and ANSWER_DATA_KEYS & line.data.keys():
                line.data = {key: value for key, value in line.data.items() if key not in ANSWER_DATA_KEYS}
            if line.kind == TicketEvent.Kind.REVIEWED:
                line.kind = TicketEvent.Kind.ANSWERED
            yield line


def ticket_timeline(*, user: User, ticket: Ticket) -> QuerySet[TicketEvent]:
    """The ticket's lines, oldest first. The asker (and anyone who is not the ticket's staff) reads
    neither a rejection nor any answer text in them: nothing of an unapproved answer or of its review."""
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
    if not ticket_capabilities(user=user, ticket=ticket) & STAFF_CAPABILITIES:
        events = events.exclude(kind__in=STAFF_ONLY_EVENT_KINDS)
        # QuerySet clones keep the iterable class, so filters and pages added later strip as well.
        events._iterable_class = _AskerTimelineIterable
    return events


def follow_ups_for(*, user: User, open_only: bool = False) -> QuerySet[FollowUp]:
    """Follow-ups of the units the user supervises (unit administrators, their subtrees)."""
    # The row shows the asker's unit (the school), not the answering unit the reader supervises.
    follow_ups = FollowUp.objects.select_related("ticket", "ticket__unit", "unit", "done_by")
    if not user.is_superuser:
        follow_ups = follow_ups.filter(scope_of(user).subtree_q("unit__path", Role.UNIT_ADMIN))
    if open_only:
        follow_ups = follow_ups.filter(done_at__isnull=True)
    # Open ones first (NULL done_at), soonest due first; PostgreSQL would put NULLs last by default.
    return follow_ups.order_by(F("done_at").asc(nulls_first=True), "due_at", "id")


FOLLOW_UP_TOMBSTONE_KIND = "follow_up"


def follow_up_delta_source(*, user: User, open_only: bool = False) -> DeltaSource:
    """A delta of ``follow_ups_for``: the follow-ups of the units the user supervises; with
    ``open_only`` a completed one leaves the list (``removed``). One whose ticket was deleted is a
    tombstone; a supervisor's role granted or removed asks for a fresh list (410)."""
    candidates = follow_ups_for(user=user).select_related(None).order_by()
    return DeltaSource(
        candidates=candidates,
        kinds=(FOLLOW_UP_TOMBSTONE_KIND,),
        user_id=user.pk,
        member=Q(done_at__isnull=True) if open_only else None,
    )


def follow_up_get(*, user: User, pk: int) -> FollowUp:
    """The follow-up if the user supervises its unit; Http404 otherwise."""
    try:
        return follow_ups_for(user=user).get(pk=pk)
    except (FollowUp.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def review_switch_units(*, user: User) -> list[OrgUnit]:
    """The units whose review switch the user's settings page shows: the top units it administers
    (those above every other unit it administers), in tree order."""
    return list(OrgUnit.objects.filter(path__in=scope_of(user).admin_paths).order_by("path"))


def review_required(*, unit_id: int | None) -> bool:
    """Whether answers from this unit go to its reviewers first (on unless the unit turned it off)."""
    if unit_id is None:
        return True
    settings_row = SupportSettings.objects.filter(unit_id=unit_id).first()
    return settings_row.review_required if settings_row else True


def transfer_candidates(*, ticket: Ticket, group: str | None = None) -> QuerySet[User]:
    """Whom the ticket may be transferred (转派) to: the other active, on-duty agents of its pool's unit
    who serve its type's handling group (or ``group``, another group of the same unit), by id (the
    rotation's order)."""
    # Imported here: services import the selectors, and GROUP_FOR_TYPE is routing's table.
    from ..services.routing import GROUP_FOR_TYPE

    if ticket.pool_unit_id is None:
        return User.objects.none()
    agent_ids = RoleAssignment.objects.filter(
        unit_id=ticket.pool_unit_id,
        role=Role.SUPPORT_AGENT,
        on_duty=True,
        handling_groups__code=group or GROUP_FOR_TYPE[ticket.type],
    ).values("user_id")
    return User.objects.filter(pk__in=agent_ids, is_active=True).exclude(pk=ticket.assignee_id or 0).order_by("pk")


def transfer_groups(*, ticket: Ticket) -> QuerySet[HandlingGroup]:
    """The other handling groups (pools) of the ticket's pool unit a transfer may go to: those with an
    active, on-duty agent there, other than the one handling it now."""
    from ..services.routing import GROUP_FOR_TYPE

    if ticket.pool_unit_id is None:
        return HandlingGroup.objects.none()
    staffed = RoleAssignment.objects.filter(
        unit_id=ticket.pool_unit_id, role=Role.SUPPORT_AGENT, on_duty=True, user__is_active=True
    ).exclude(user_id=ticket.assignee_id or 0)
    return (
        HandlingGroup.objects.filter(code__in=set(GROUP_FOR_TYPE.values()), roleassignment__in=staffed)
        .exclude(code=GROUP_FOR_TYPE[ticket.type])
        .distinct()
        .order_by("id")
    )


def merge_target_get(*, user: User, ticket: Ticket, ref: str | int) -> Ticket:
    """The ticket a duplicate may be merged into, by id or number, among those the user may see
    (Ticket.DoesNotExist otherwise, as for any ticket out of reach). The service checks the rest."""
    tickets = visible_tickets(user=user).select_related(*LIST_RELATED)
    text = str(ref).strip()
    if text.isdigit():
        return tickets.get(pk=int(text))
    return tickets.get(number=text.upper())


def reviewers_of(*, unit_id: int) -> list[int]:
    return list(
        RoleAssignment.objects.filter(unit_id=unit_id, role=Role.ANSWER_REVIEWER, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def _holders_by_unit(unit_ids: Iterable[int], **held) -> dict[int, list[int]]:
    """Active holders of a role in each unit: {unit id: [user ids]}."""
    result: dict[int, list[int]] = {}
    rows = RoleAssignment.objects.filter(unit_id__in=list(unit_ids), user__is_active=True, **held)
    for unit_id, user_id in rows.values_list("unit_id", "user_id"):
        result.setdefault(unit_id, []).append(user_id)
    return result


def supervisors_of(*, unit_ids: Iterable[int]) -> dict[int, list[int]]:
    """Unit administrators of each unit, for warnings and follow-ups: {unit id: [user ids]}."""
    return _holders_by_unit(unit_ids, role=Role.UNIT_ADMIN)


def pool_agents_of(*, unit_ids: Iterable[int]) -> dict[int, list[int]]:
    """The on-duty support agents of pools' units, who hear that a question arrived:
    {unit id: [user ids]}."""
    return _holders_by_unit(unit_ids, role=Role.SUPPORT_AGENT, on_duty=True)
