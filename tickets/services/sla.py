"""SLA clocks: deadlines from the priority's policy, pauses while waiting on the asker, and the
schedule of what the beat sweep must look at next (warnings, breaches, unconfirmed assignments)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from .. import config_cache
from ..models import ACTIVE_STATES, Priority, SLAPolicy, Ticket
from ..working_time import DeadlineCalendar

# --- SLA clocks ---------------------------------------------------------------------------------
# Seed 004's targets (minutes, in working hours?) for a priority whose policy row is missing; the
# migration creates the rows, which administrators then tune.
DEFAULT_SLA = {
    Priority.P1: (120, False, 8 * 60, False),
    Priority.P2: (240, False, 24 * 60, False),
    Priority.P3: (480, True, 3 * 480, True),
    Priority.P4: (24 * 60, False, 5 * 24 * 60, False),
}


def sla_policy_for(priority: str) -> SLAPolicy:
    policy = config_cache.policies().get(priority)
    if policy is None:
        response, response_wh, resolution, resolution_wh = DEFAULT_SLA[priority]
        policy = SLAPolicy(
            priority=priority,
            response_minutes=response,
            response_in_working_hours=response_wh,
            resolution_minutes=resolution,
            resolution_in_working_hours=resolution_wh,
        )
    return policy


def ticket_compute_deadlines(
    *, ticket: Ticket, policy: SLAPolicy | None = None, calendar: DeadlineCalendar | None = None
) -> Ticket:
    """Set the response and resolution deadlines from the priority's policy, the creation time and
    the time spent waiting on the asker. Called at creation, on a priority change and on resume."""
    policy = policy or sla_policy_for(ticket.priority)
    calendar = calendar or DeadlineCalendar()

    def due(minutes: int, in_working_hours: bool) -> datetime:
        paused = ticket.paused_working_minutes if in_working_hours else ticket.paused_wall_minutes
        return calendar.deadline(ticket.created_at, minutes + paused, in_working_hours=in_working_hours)

    if ticket.first_response_at is None:
        ticket.response_due_at = due(policy.response_minutes, policy.response_in_working_hours)
    if ticket.resolved_at is None:
        ticket.resolution_due_at = due(policy.resolution_minutes, policy.resolution_in_working_hours)
    return ticket


# Actions that close a ticket before it was answered: all clocks stop.
CLOSING_ACTIONS = frozenset({"withdraw", "close_invalid", "merge"})


def apply_clock_effects(ticket: Ticket, *, action: str, now: datetime) -> None:
    """What an action of the transition table does to the SLA clocks, then the sweep's schedule."""
    if action == "accept":
        # ack_due_at stays, so the SLA view can say whether receipt was confirmed in time.
        ticket.accepted_at = now
    elif action == "request_info":
        ticket.paused_at = now
        ticket.first_response_at = ticket.first_response_at or now
    elif action == "provide_info" and ticket.paused_at is not None:
        calendar = DeadlineCalendar()
        ticket.paused_wall_minutes += int((now - ticket.paused_at).total_seconds() // 60)
        ticket.paused_working_minutes += calendar.working_minutes(ticket.paused_at, now)
        ticket.paused_at = None
        ticket_compute_deadlines(ticket=ticket, calendar=calendar)
    elif action in ("approve", "answer_direct"):
        # The asker receives the answer: that is the handler's response if none came before.
        ticket.first_response_at = ticket.first_response_at or now
    elif action == "confirm":
        ticket.resolved_at = now
    elif action == "reopen":
        ticket.resolved_at = None
        ticket_compute_deadlines(ticket=ticket)
    elif action in ("close", "rate"):
        ticket.closed_at = now
    elif action in CLOSING_ACTIONS:
        # Withdrawn, invalid or merged: every clock stops for good. The deadlines stay as they were,
        # for the record; a pause still running is counted in so the SLA view's totals are final.
        ticket.closed_at = now
        if ticket.paused_at is not None:
            ticket.paused_wall_minutes += int((now - ticket.paused_at).total_seconds() // 60)
            ticket.paused_working_minutes += DeadlineCalendar().working_minutes(ticket.paused_at, now)
            ticket.paused_at = None
    elif action == "transfer":
        # Seed 004: the handler confirms receipt within the policy's time (1 hour). A new handler is a
        # new receipt, so the acknowledgement clock starts again for them; the response and resolution
        # deadlines count from the question's filing and do not move (a transfer buys no time).
        ticket.accepted_at = None
        ticket.ack_due_at = now + timedelta(minutes=sla_policy_for(ticket.priority).acknowledge_minutes)
    # "forward" sets its clocks in sweep.escalate_one, as a breach's escalation does.
    refresh_sla_schedule(ticket)


def ticket_sla(*, ticket: Ticket, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each target with its deadline, what is left (negative: overdue) and the time paused."""
    now = now or timezone.now()
    paused_now = int((now - ticket.paused_at).total_seconds() // 60) if ticket.paused_at else 0
    rows = []
    for target, due, met_at in (
        ("acknowledge", ticket.ack_due_at, ticket.accepted_at),
        ("first_response", ticket.response_due_at, ticket.first_response_at),
        ("resolution", ticket.resolution_due_at, ticket.resolved_at),
    ):
        if due is None:
            continue
        reference = met_at or (ticket.paused_at if ticket.paused_at else now)
        left: timedelta = due - reference
        rows.append(
            {
                "target": target,
                "due_at": due,
                "met_at": met_at,
                "met": met_at is not None and met_at <= due,
                "seconds_left": int(left.total_seconds()),
                "overdue": left.total_seconds() < 0,
                "paused": ticket.paused_at is not None,
                "paused_minutes": ticket.paused_wall_minutes + paused_now,
            }
        )
    return rows


# States in which a breach moves the ticket to the pool above; an answer waiting for review is the
# reviewers' to finish, so it is warned about but not moved.
ESCALATING_STATES = frozenset({"new", "in_progress"})


def _warning_lead(policy: SLAPolicy, *, first_response: bool) -> timedelta:
    """How long before a deadline the assignee and supervisors are warned: a quarter of the target,
    between 5 minutes and 1 hour."""
    minutes = policy.response_minutes if first_response else policy.resolution_minutes
    return timedelta(minutes=max(5, min(60, minutes // 4)))


def refresh_sla_schedule(
    ticket: Ticket, *, policy: SLAPolicy | None = None, calendar: DeadlineCalendar | None = None
) -> Ticket:
    """Derive what the sweep watches from the persisted clocks: the current deadline, when to warn,
    when to escalate and the earliest of these (``sla_check_at``). Pure computation on the ticket;
    the caller saves it. Called after every change of state, priority, pause or assignment."""
    policy = policy or sla_policy_for(ticket.priority)
    running = ticket.state in ACTIVE_STATES and ticket.paused_at is None
    awaiting_response = ticket.first_response_at is None
    if not running:
        next_due = None
    elif awaiting_response:
        next_due = ticket.response_due_at
    elif ticket.resolved_at is None:
        next_due = ticket.resolution_due_at
    else:
        next_due = None
    ticket.next_due_at = next_due

    escalation_due = None
    if next_due is not None and ticket.state in ESCALATING_STATES and not ticket.escalation_exhausted:
        escalation_due = next_due
        if ticket.escalated_at is not None:
            # The pool a breach moved the ticket to gets a fresh window of the same target.
            minutes, in_working_hours = (
                (policy.response_minutes, policy.response_in_working_hours)
                if awaiting_response
                else (policy.resolution_minutes, policy.resolution_in_working_hours)
            )
            window_end = (calendar or DeadlineCalendar()).deadline(
                ticket.escalated_at, minutes, in_working_hours=in_working_hours
            )
            escalation_due = max(escalation_due, window_end)
    watched = escalation_due or next_due
    warn_at = watched - _warning_lead(policy, first_response=awaiting_response) if watched else None
    if warn_at != ticket.warn_at:
        # A new deadline deserves a new warning.
        ticket.warned_at = None
    ticket.escalation_due_at, ticket.warn_at = escalation_due, warn_at

    checks = [escalation_due]
    if warn_at is not None and ticket.warned_at is None:
        checks.append(warn_at)
    if ticket.state == "new" and ticket.assignee_id is not None and ticket.ack_due_at is not None:
        checks.append(ticket.ack_due_at)
    due = [moment for moment in checks if moment is not None]
    ticket.sla_check_at = min(due) if due else None
    return ticket


SLA_FIELDS = [
    "ack_due_at",
    "response_due_at",
    "resolution_due_at",
    "next_due_at",
    "escalation_due_at",
    "warn_at",
    "warned_at",
    "sla_check_at",
]
