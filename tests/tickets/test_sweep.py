"""The beat's SLA sweep: unconfirmed assignments pass on, warnings before a breach, escalation one
pool up at a breach, to the top; idempotent when run twice or killed half way."""

from datetime import timedelta

import pytest

from tickets import services
from tickets.models import Ticket, TicketEvent, TicketState
from tickets.services import sweep

pytestmark = pytest.mark.django_db


def _accepted(ticket):
    return services.ticket_accept(ticket=ticket, agent=ticket.assignee)


def _events(ticket, kind):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("id"))


def test_unconfirmed_assignment_passes_to_the_next_agent_after_an_hour(new_ticket, staff):
    ticket = new_ticket(priority="P4")
    assert ticket.assignee == staff.agent and ticket.sla_check_at == ticket.ack_due_at
    assert services.sla_sweep(now=ticket.created_at + timedelta(minutes=59)) == {}
    counts = services.sla_sweep(now=ticket.created_at + timedelta(minutes=61))
    ticket.refresh_from_db()
    assert counts["reassigned"] == 1 and ticket.assignee == staff.agent2
    assert ticket.state == TicketState.NEW
    assert _events(ticket, TicketEvent.Kind.REASSIGNED)[0].data["from"] == staff.agent.pk
    # Another hour unconfirmed: round robin comes back to the first agent, never the same one twice.
    services.sla_sweep(now=ticket.created_at + timedelta(minutes=122))
    ticket.refresh_from_db()
    assert ticket.assignee == staff.agent


def test_reassignment_skips_agents_off_duty(new_ticket, staff):
    staff.agent2.roles.update(on_duty=False)
    ticket = new_ticket(priority="P4")
    counts = services.sla_sweep(now=ticket.created_at + timedelta(minutes=61))
    ticket.refresh_from_db()
    assert counts.get("reassigned", 0) == 0 and ticket.assignee == staff.agent
    assert ticket.ack_due_at > ticket.created_at + timedelta(minutes=61)


def test_warns_the_assignee_and_supervisors_once_before_the_breach(new_ticket, staff):
    ticket = services.ticket_accept(ticket=new_ticket(priority="P2"), agent=staff.agent)
    # P2: first response within 4 hours; the warning comes an hour before.
    assert ticket.warn_at == ticket.response_due_at - timedelta(hours=1)
    assert services.sla_sweep(now=ticket.created_at + timedelta(hours=2, minutes=59)) == {}
    moment = ticket.created_at + timedelta(hours=3, minutes=5)
    assert services.sla_sweep(now=moment)["warned"] == 1
    assert services.sla_sweep(now=moment) == {}
    assert services.sla_sweep(now=moment + timedelta(minutes=10)) == {}
    (warning,) = _events(ticket, TicketEvent.Kind.SLA_WARNING)
    assert warning.data["target"] == "first_response"


def test_a_breach_escalates_one_level_at_a_time_to_the_top(new_ticket, staff, tree):
    ticket = services.ticket_accept(ticket=new_ticket(priority="P2"), agent=staff.agent)
    breach = ticket.response_due_at + timedelta(minutes=1)
    assert services.sla_sweep(now=breach)["escalated"] == 1
    ticket.refresh_from_db()
    assert (ticket.pool_unit, ticket.assignee, ticket.state) == (tree.beijing, staff.city_agent, TicketState.NEW)
    assert ticket.escalation_level == 1
    # The new pool gets a fresh 4-hour window; rerunning at the same moment does nothing.
    assert services.sla_sweep(now=breach) == {}
    assert ticket.escalation_due_at == breach + timedelta(hours=4)
    services.sla_sweep(now=breach + timedelta(hours=4, minutes=1))
    ticket.refresh_from_db()
    assert (ticket.pool_unit, ticket.assignee, ticket.escalation_level) == (tree.root, staff.top_agent, 2)
    # At the top there is nowhere to go: recorded once, then the sweep leaves it alone.
    counts = services.sla_sweep(now=breach + timedelta(hours=8, minutes=2))
    assert counts["at_top"] == 1
    ticket.refresh_from_db()
    assert ticket.pool_unit == tree.root and ticket.escalation_exhausted
    services.sla_sweep(now=breach + timedelta(hours=20))
    escalations = _events(ticket, TicketEvent.Kind.ESCALATED)
    assert [e.data.get("level") for e in escalations] == [1, 2]
    # Nothing moved at the top: the line is a breach, not a third escalation, and says who was told.
    (breached,) = _events(ticket, TicketEvent.Kind.SLA_BREACHED)
    assert breached.data["at_top"] is True and breached.data["level"] == 2
    # The clock stays on the passed deadline: its pre-deadline warning is never sent after the breach.
    assert _events(ticket, TicketEvent.Kind.SLA_WARNING) == []
    ticket.refresh_from_db()
    # What is left to watch is the top agent's unconfirmed receipt, no warning.
    assert ticket.sla_check_at == ticket.ack_due_at


def test_waiting_on_the_asker_stops_the_clock_and_the_sweep(new_ticket, staff):
    ticket = services.ticket_accept(ticket=new_ticket(priority="P2"), agent=staff.agent)
    ticket = services.ticket_request_info(ticket=ticket, agent=staff.agent, question="型号？")
    assert ticket.sla_check_at is None and ticket.next_due_at is None
    assert services.sla_sweep(now=ticket.created_at + timedelta(days=3)) == {}


def test_an_answer_awaiting_review_is_warned_about_but_not_moved(new_ticket, staff):
    ticket = services.ticket_accept(ticket=new_ticket(priority="P4"), agent=staff.agent)
    services.ticket_request_info(ticket=ticket, agent=staff.agent, question="型号？")  # first response given
    services.ticket_reply(ticket=ticket, author=ticket.asker, body="EB-X41")
    ticket = services.ticket_submit_answer(ticket=Ticket.objects.get(pk=ticket.pk), agent=staff.agent, solution="答")
    counts = services.sla_sweep(now=ticket.resolution_due_at - timedelta(minutes=10))
    ticket.refresh_from_db()
    assert counts.get("escalated", 0) == 0 and counts["warned"] == 1
    assert ticket.state == TicketState.PENDING_REVIEW and ticket.escalation_level == 0
    # Past the deadline it stays with the reviewers, and nothing more is sent (it was warned).
    assert services.sla_sweep(now=ticket.resolution_due_at + timedelta(hours=1)) == {}


def test_an_answer_in_review_past_its_deadline_unwarned_is_a_breach_not_a_late_warning(new_ticket, staff):
    """The sweep ran late (or the warning window was missed): past the deadline, the line says the
    deadline was missed and who was told, never a pre-deadline 服务时限预警 after the fact."""
    ticket = services.ticket_accept(ticket=new_ticket(priority="P4"), agent=staff.agent)
    services.ticket_request_info(ticket=ticket, agent=staff.agent, question="型号？")
    services.ticket_reply(ticket=ticket, author=ticket.asker, body="EB-X41")
    ticket = services.ticket_submit_answer(ticket=Ticket.objects.get(pk=ticket.pk), agent=staff.agent, solution="答")
    late = ticket.resolution_due_at + timedelta(hours=1)
    assert services.sla_sweep(now=late) == {"breached": 1, "checked": 1}
    assert services.sla_sweep(now=late + timedelta(hours=5)) == {}
    assert _events(ticket, TicketEvent.Kind.SLA_WARNING) == []
    (breach,) = _events(ticket, TicketEvent.Kind.SLA_BREACHED)
    assert breach.data["in_review"] is True and breach.data["handler"] is True
    assert breach.data["supervisors"] == 1  # 海淀区's administrator
    ticket.refresh_from_db()
    assert ticket.state == TicketState.PENDING_REVIEW and ticket.escalation_level == 0


def test_a_sweep_killed_half_way_and_rerun_escalates_each_ticket_once(new_ticket, staff, monkeypatch):
    tickets = [_accepted(new_ticket(priority="P1")) for _ in range(3)]
    breach = max(t.response_due_at for t in tickets) + timedelta(minutes=1)
    real_batch = sweep._sweep_batch
    calls = []

    def dies_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(sweep, "_sweep_batch", dies_on_the_second_batch)
    with pytest.raises(SystemExit):
        services.sla_sweep(now=breach, batch_size=1)
    monkeypatch.setattr(sweep, "_sweep_batch", real_batch)
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATED).count() == 1
    counts = services.sla_sweep(now=breach, batch_size=1)
    assert counts["escalated"] == 2
    services.sla_sweep(now=breach, batch_size=1)
    for ticket in tickets:
        assert len(_events(ticket, TicketEvent.Kind.ESCALATED)) == 1


def test_the_sweep_costs_the_same_queries_for_3_or_12_due_tickets(new_ticket, staff, django_assert_num_queries):
    def queries_for(count):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        Ticket.objects.all().delete()
        made = [_accepted(new_ticket(priority="P1")) for _ in range(count)]
        breach = max(t.response_due_at for t in made) + timedelta(minutes=1)
        with CaptureQueriesContext(connection) as captured:
            assert services.sla_sweep(now=breach)["escalated"] == count
        return len(captured)

    assert queries_for(3) == queries_for(12)


def test_an_escalation_records_its_timeline_and_asks_the_new_agent_to_confirm(new_ticket, staff, tree):
    ticket = services.ticket_accept(ticket=new_ticket(priority="P2"), agent=staff.agent)
    assert ticket.accepted_at is not None
    breach = ticket.response_due_at + timedelta(minutes=1)
    services.sla_sweep(now=breach)
    ticket.refresh_from_db()
    # Receipt is confirmed again by the new pool's agent, within the priority's hour.
    assert ticket.accepted_at is None and ticket.ack_due_at == breach + timedelta(hours=1)
    assert ticket.updated_at == breach and ticket.escalated_at == breach
    (escalated,) = _events(ticket, TicketEvent.Kind.ESCALATED)
    assert (escalated.actor, escalated.comment) == (None, "")
    assert (escalated.from_state, escalated.to_state) == (TicketState.IN_PROGRESS, TicketState.NEW)
    assert escalated.data == {"from_pool": tree.haidian.pk, "pool": tree.beijing.pk, "pool_name": "北京市", "level": 1}
    (assigned,) = _events(ticket, TicketEvent.Kind.ASSIGNED)[-1:]
    assert assigned.data == {"assignee": staff.city_agent.pk, "assignee_name": staff.city_agent.name}
    assert assigned.created_at is not None and assigned.id > escalated.id


def test_batches_take_each_due_ticket_once(new_ticket, staff):
    tickets = [_accepted(new_ticket(priority="P1")) for _ in range(3)] + [new_ticket(priority="P4") for _ in range(2)]
    moment = max(t.created_at for t in tickets) + timedelta(hours=2, minutes=30)
    counts = services.sla_sweep(now=moment, batch_size=2)
    assert counts == {"checked": 5, "escalated": 3, "reassigned": 2}
    assert services.sla_sweep(now=moment, batch_size=2) == {}
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.REASSIGNED).count() == 2


def test_the_due_read_gives_the_same_aware_clock_values_as_the_orm(new_ticket, staff):
    # On PostgreSQL the sweep reads due rows with psycopg's compiled timestamp loader (helpdesk.core.db), not Django's.
    ticket = services.ticket_accept(ticket=new_ticket(priority="P2"), agent=staff.agent)
    (due,) = sweep._lock_due(now=ticket.sla_check_at, after=None, batch_size=10)
    stored = Ticket.objects.values(*sweep.READ_FIELDS).get(pk=ticket.pk)
    for name in sweep.READ_FIELDS:
        assert getattr(due, name) == stored[name], name
    for name in ("accepted_at", "ack_due_at", "response_due_at", "resolution_due_at", "warn_at", "sla_check_at"):
        value = getattr(due, name)
        assert value is not None and value.utcoffset() == timedelta(0), name


class _RollBack(Exception):
    pass


def test_both_ways_of_writing_a_sweep_batch_store_the_same_rows(new_ticket, staff, monkeypatch):
    """The sweep writes a batch as one JSON/array statement on PostgreSQL and row by row elsewhere
    (tickets.sql). Both run here on PostgreSQL, from the same state, and must store the same."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from tests.concurrency import require_postgres
    from tickets.models import PoolTurn

    require_postgres()
    unconfirmed = new_ticket(priority="P4")  # passes to the next agent
    breached = [_accepted(new_ticket(priority="P2")) for _ in range(2)]
    moment = breached[0].response_due_at + timedelta(minutes=1)  # both escalate one pool up
    ids = [unconfirmed.pk, *(ticket.pk for ticket in breached)]

    class AsSqlite:
        """The database connection, saying it is not PostgreSQL: the sweep takes its other path."""

        vendor = "sqlite"

        def __getattr__(self, name):
            return getattr(connection, name)

    def stored() -> dict:
        fields = [f.attname for f in Ticket._meta.concrete_fields if f.attname != "updated_at"]
        return {
            "tickets": list(Ticket.objects.filter(pk__in=ids).order_by("pk").values_list(*fields)),
            "timeline": sorted(
                TicketEvent.objects.filter(ticket_id__in=ids)
                .order_by()
                .values_list("ticket_id", "kind", "from_state", "to_state", "comment", "data", "actor_id")
                .distinct(),
                key=repr,
            ),
            "turns": sorted(PoolTurn.objects.values_list("unit_id", "group_id", "last_agent_id")),
        }

    results = []
    for way in ("postgresql", "row_by_row"):
        if way == "row_by_row":
            monkeypatch.setattr(sweep, "connection", AsSqlite())
        try:
            with transaction.atomic(), CaptureQueriesContext(connection) as queries:
                counts = services.sla_sweep(now=moment + timedelta(minutes=61))
                results.append((counts, stored()))
                batched = any("json_to_recordset" in query["sql"] for query in queries.captured_queries)
                assert batched == (way == "postgresql")
                raise _RollBack
        except _RollBack:
            pass
    (counts, rows), (other_counts, other_rows) = results
    assert counts == other_counts and counts["reassigned"] == 1 and counts["escalated"] == 2
    assert rows == other_rows


def test_a_breach_with_no_pool_above_says_who_was_told_and_no_warning_follows(new_ticket, staff, tree):
    """Nobody on duty above 海淀区: nothing escalates. The line is a breach (已超时), not 已升级, and
    names exactly who was told: the handler and 海淀区's one administrator. The warning that the
    sweep had not yet given for that deadline is never given afterwards."""
    for agent in (staff.city_agent, staff.top_agent):
        agent.roles.update(on_duty=False)
    ticket = services.ticket_accept(ticket=new_ticket(priority="P2"), agent=staff.agent)
    breach = ticket.response_due_at + timedelta(minutes=1)
    assert services.sla_sweep(now=breach) == {"at_top": 1, "checked": 1}
    for later in (timedelta(minutes=1), timedelta(hours=1), timedelta(days=2)):
        assert services.sla_sweep(now=breach + later) == {}
    assert _events(ticket, TicketEvent.Kind.ESCALATED) == []
    assert _events(ticket, TicketEvent.Kind.SLA_WARNING) == []
    (line,) = _events(ticket, TicketEvent.Kind.SLA_BREACHED)
    assert (line.data["supervisors"], line.data["handler"]) == (1, True)
    ticket.refresh_from_db()
    assert (ticket.pool_unit, ticket.escalation_level, ticket.escalation_exhausted) == (tree.haidian, 0, True)


def test_a_breach_at_the_top_after_an_escalation_gets_no_late_warning(new_ticket, staff, tree):
    """Escalated once (a fresh window in 北京市), then nothing above: the clock falls back on the
    first deadline, whose warning the refresh would schedule again. It is spent, not sent."""
    staff.top_agent.roles.update(on_duty=False)
    ticket = services.ticket_accept(ticket=new_ticket(priority="P2"), agent=staff.agent)
    breach = ticket.response_due_at + timedelta(minutes=1)
    assert services.sla_sweep(now=breach)["escalated"] == 1
    services.ticket_accept(ticket=Ticket.objects.get(pk=ticket.pk), agent=staff.city_agent)
    window_end = breach + timedelta(hours=4)
    assert services.sla_sweep(now=window_end - timedelta(minutes=30))["warned"] == 1  # before: fine
    assert services.sla_sweep(now=window_end + timedelta(minutes=1))["at_top"] == 1
    assert services.sla_sweep(now=window_end + timedelta(minutes=2)) == {}
    lines = list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", flat=True))
    assert lines[-1] == TicketEvent.Kind.SLA_BREACHED
    assert lines.count(TicketEvent.Kind.SLA_WARNING) == 1
    assert lines.index(TicketEvent.Kind.SLA_WARNING) < lines.index(TicketEvent.Kind.SLA_BREACHED)
    (line,) = _events(ticket, TicketEvent.Kind.SLA_BREACHED)
    # 北京市 has no administrator in the test tree: the line does not claim one was told.
    assert (line.data["supervisors"], line.data["handler"]) == (0, True)
