from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import HandlingGroup, Role, RoleAssignment
from orgtree.models import OrgUnit
from tests.concurrency import require_postgres, run_at_once
from tests.factories import UserFactory, grant
from tickets import services
from tickets.models import Ticket, TicketEvent, TicketState

pytestmark = pytest.mark.django_db


def _create(asker, **extra):
    data = {
        "title": "投影仪无法开机",
        "description": "指示灯常亮，无报警声音",
        "type": "hardware",
        "contact_info": "13800000000",
    } | extra
    return services.ticket_create(asker=asker, **data)


@pytest.fixture
def agent(tree):
    user = UserFactory(username="hd_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    assignment = grant(user, tree.haidian, Role.SUPPORT_AGENT)
    assignment.handling_groups.set(HandlingGroup.objects.all())
    return user


def test_number_is_ts_date_serial_and_counts_up_per_day(teacher):
    today = timezone.localdate()
    first, second = _create(teacher), _create(teacher)
    prefix = f"TS{today:%Y%m%d}"
    assert (first.number, second.number) == (f"{prefix}001", f"{prefix}002")
    assert services.ticket_number_for(date(2023, 10, 27), 1) == "TS20231027001"
    assert services.ticket_number_for(date(2023, 10, 27), 1234) == "TS202310271234"


def test_a_rolled_back_create_leaves_no_gap(teacher):
    _create(teacher)
    with pytest.raises(RuntimeError), transaction.atomic():
        _create(teacher)
        raise RuntimeError("the request failed after numbering")
    third = _create(teacher)
    assert third.number.endswith("002")


def test_create_records_the_timeline_and_contact_defaults(teacher):
    ticket = _create(teacher, priority="P2")
    assert ticket.state == TicketState.NEW
    assert ticket.unit == teacher.unit
    assert ticket.contact_name == "张伟"
    event = ticket.events.get(kind=TicketEvent.Kind.CREATED)
    assert (event.kind, event.actor, event.to_state) == (TicketEvent.Kind.CREATED, teacher, TicketState.NEW)


@pytest.mark.parametrize(
    "contact", ["13800138000", "+86 138 0013 8000", "022-12345678", "(010) 8765 4321", "zhang.wei@hd.edu.cn"]
)
def test_contact_info_takes_a_phone_number_or_an_email_address(teacher, contact):
    assert _create(teacher, contact_info=f" {contact} ").contact_info == contact


def test_contact_info_is_optional_and_falls_back_to_the_account(teacher):
    """Seed 004's contact is the asker's phone or e-mail: left out, the account's is used, and an
    account with neither still files its question (with no contact info) instead of a 400."""
    assert (teacher.phone, teacher.email) == ("", "")
    assert _create(teacher, contact_info="").contact_info == ""
    teacher.phone = "13912345678"
    teacher.save(update_fields=["phone"])
    assert _create(teacher, contact_info="").contact_info == "13912345678"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"type": "weather"}, "type"),
        ({"priority": "P9"}, "priority"),
        ({"description": ""}, "description"),
        ({"contact_info": "abc"}, "contact_info"),
        ({"contact_info": "138"}, "contact_info"),
        ({"contact_info": "张老师@"}, "contact_info"),
    ],
)
def test_bad_input_is_a_field_error_and_takes_no_number(teacher, fields, bad_field):
    with pytest.raises(ValidationError) as exc:
        _create(teacher, **fields)
    assert bad_field in exc.value.message_dict
    assert not Ticket.objects.exists()
    assert _create(teacher).number.endswith("001")


def test_transition_table_walks_the_manual_flow_and_refuses_the_rest(teacher, agent):
    ticket = _create(teacher)
    with pytest.raises(ValidationError) as exc:
        services.ticket_transition(ticket=ticket, actor=teacher, action="confirm")
    assert "state" in exc.value.message_dict
    ticket = services.ticket_accept(ticket=ticket, agent=agent)
    assert (ticket.state, ticket.assignee) == (TicketState.IN_PROGRESS, agent)
    for actor, action, state in [
        (agent, "request_info", TicketState.WAITING_ASKER),
        (teacher, "provide_info", TicketState.IN_PROGRESS),
        (agent, "submit_answer", TicketState.PENDING_REVIEW),
        (agent, "reject", TicketState.IN_PROGRESS),
        (agent, "submit_answer", TicketState.PENDING_REVIEW),
        (agent, "approve", TicketState.ANSWERED),
        (teacher, "reopen", TicketState.IN_PROGRESS),
        (agent, "submit_answer", TicketState.PENDING_REVIEW),
        (agent, "approve", TicketState.ANSWERED),
        (teacher, "confirm", TicketState.RESOLVED),
        (teacher, "close", TicketState.CLOSED),
    ]:
        ticket = services.ticket_transition(ticket=ticket, actor=actor, action=action)
        assert ticket.state == state, action
    assert ticket.closed_at is not None
    lifecycle = ticket.events.exclude(kind__in=["routed", "assigned"]).order_by("id")
    timeline = list(lifecycle.values_list("kind", "from_state", "to_state"))
    assert timeline[0] == ("created", "", "new")
    assert timeline[1] == ("accepted", "new", "in_progress")
    assert timeline[-1] == ("closed", "resolved", "closed")
    assert len(timeline) == 13
    with pytest.raises(ValidationError):
        services.ticket_transition(ticket=ticket, actor=teacher, action="reopen")
    with pytest.raises(ValidationError):
        services.ticket_transition(ticket=ticket, actor=teacher, action="teleport")


def test_only_an_agent_of_the_unit_or_above_accepts(tree, teacher, tianjin_teacher):
    ticket = _create(teacher)
    tianjin_agent = UserFactory(unit=tree.heping)
    grant(tianjin_agent, tree.heping, Role.SUPPORT_AGENT)
    with pytest.raises(ValidationError):
        services.ticket_accept(ticket=ticket, agent=tianjin_agent)
    with pytest.raises(ValidationError):
        services.ticket_accept(ticket=ticket, agent=tianjin_teacher)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.NEW and ticket.assignee is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creates_get_unique_gap_free_numbers(tree, teacher):
    require_postgres()
    results = []
    errors = run_at_once([lambda i=i: results.append(_create(teacher, title=f"问题{i}").number) for i in range(12)])
    assert errors == []
    serials = sorted(int(number[-3:]) for number in results)
    assert serials == list(range(1, 13))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_agents_accepting_at_once_leave_exactly_one_winner(tree, teacher, agent):
    require_postgres()
    second = UserFactory(username="hd_agent2", unit=tree.haidian)
    grant(second, tree.haidian, Role.SUPPORT_AGENT)
    ticket = _create(teacher)
    # Unassigned in the pool, so every agent may try to take it.
    Ticket.objects.filter(pk=ticket.pk).update(assignee=None)
    agents = [agent, second] * 3
    results = []
    errors = run_at_once(
        [lambda i=i: results.append(services.ticket_accept(ticket=ticket, agent=agents[i])) for i in range(6)]
    )
    # One agent wins; its own other tries are retries of what took effect (answered with the ticket),
    # the other agent's are refused.
    ticket.refresh_from_db()
    assert len(results) == 3 and all(result.assignee == ticket.assignee for result in results)
    assert len(errors) == 3 and all(isinstance(e, ValidationError) for e in errors)
    assert ticket.events.filter(kind="accepted").count() == 1


def _agent(tree, unit, username, groups=("hardware",), on_duty=True):
    user = UserFactory(username=username, unit=unit, user_type="staff")
    assignment = grant(user, unit, Role.SUPPORT_AGENT, on_duty=on_duty)
    assignment.handling_groups.set(HandlingGroup.objects.filter(code__in=groups))
    return user


def test_routes_to_nearest_pool_serving_the_type_and_rotates_skipping_the_absent(tree, teacher):
    county_a = _agent(tree, tree.haidian, "hd_a")
    county_b = _agent(tree, tree.haidian, "hd_b")
    county_off = _agent(tree, tree.haidian, "hd_off", on_duty=False)
    _agent(tree, tree.beijing, "bj_hw")
    province_sw = _agent(tree, tree.beijing, "bj_sw", groups=("software",))
    hardware = [_create(teacher) for _ in range(5)]
    assert {t.pool_unit for t in hardware} == {tree.haidian}
    assert [t.assignee for t in hardware] == [county_a, county_b, county_a, county_b, county_a]
    assert county_off not in [t.assignee for t in hardware]
    # No software agent in 海淀区: the question climbs to 北京市.
    software = _create(teacher, type="software")
    assert (software.pool_unit, software.assignee) == (tree.beijing, province_sw)
    routed = software.events.get(kind="routed")
    assert routed.data["pool"] == tree.beijing.pk


def test_rotation_survives_a_restart_and_a_school_agent_serves_its_own_school(tree, teacher):
    first = _agent(tree, tree.haidian, "hd_a")
    second = _agent(tree, tree.haidian, "hd_b")
    assert _create(teacher).assignee == first
    # A new process knows nothing in memory: the turn comes from the database.
    from tickets.models import PoolTurn

    assert PoolTurn.objects.get(unit=tree.haidian).last_agent == first
    assert _create(teacher).assignee == second
    school_agent = _agent(tree, tree.school_a, "school_it")
    assert _create(teacher).assignee == school_agent


def test_no_pool_anywhere_leaves_the_ticket_unassigned_with_a_note(teacher):
    ticket = _create(teacher, type="complaint")
    assert ticket.pool_unit is None and ticket.assignee is None
    assert ticket.events.get(kind="routed").data == {"pool": None}


def test_escalation_helper_finds_the_pool_one_level_up(tree, teacher):
    _agent(tree, tree.haidian, "hd_a")
    province = _agent(tree, tree.beijing, "bj_a")
    ticket = _create(teacher)
    escalated = services.ticket_route(ticket=ticket, above=True)
    assert (escalated.pool_unit, escalated.assignee) == (tree.beijing, province)
    top = services.ticket_route(ticket=escalated, above=True)
    assert top.pool_unit == tree.beijing  # nobody above serves it: it stays where it is


def test_moving_a_school_in_the_tree_moves_its_tickets_scope(tree, teacher):
    """The admin's drag and drop rewrites the subtree's paths; the tickets' copies follow, so the old
    county's agents lose the ticket and the new county's agents find it."""
    from tickets import selectors

    haidian_agent = _agent(tree, tree.haidian, "hd_a")
    heping_agent = _agent(tree, tree.heping, "hp_a")
    ticket = _create(teacher)
    other = _create(UserFactory(username="teacher_b", unit=tree.school_b))
    assert selectors.ticket_get(user=haidian_agent, pk=ticket.pk) == ticket

    OrgUnit.objects.move(tree.school_a, tree.heping, pos="last-child")
    school = OrgUnit.objects.get(pk=tree.school_a.pk)
    assert school.path.startswith(tree.heping.path)
    assert Ticket.objects.get(pk=ticket.pk).unit_path == school.path
    assert Ticket.objects.get(pk=other.pk).unit_path == tree.school_b.path  # the sibling stays
    with pytest.raises(Http404):
        selectors.ticket_get(user=haidian_agent, pk=ticket.pk)
    assert selectors.ticket_get(user=heping_agent, pk=ticket.pk) == ticket
    assert ticket.pk in set(selectors.ticket_list(user=heping_agent, view="handled").values_list("pk", flat=True))
    # New questions from the moved school go to its new county's pool.
    assert _create(UserFactory(username="moved_teacher", unit=school)).pool_unit_id == tree.heping.pk


def test_an_agent_cannot_accept_a_ticket_assigned_to_a_colleague(tree, teacher):
    _agent(tree, tree.haidian, "hd_a")
    colleague = _agent(tree, tree.haidian, "hd_b")
    ticket = _create(teacher)
    with pytest.raises(ValidationError):
        services.ticket_accept(ticket=ticket, agent=colleague)


def test_ticket_admin_lists_searches_and_shows_the_timeline(client, tree, teacher):
    from django.urls import reverse

    ticket = _create(teacher)
    operator = UserFactory(username="ops", unit=tree.root, is_staff=True, is_superuser=True)
    client.force_login(operator)
    changelist = reverse("admin:tickets_ticket_changelist")
    assert ticket.number in client.get(changelist, {"q": ticket.number}).content.decode()
    page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert ticket.number in page and "已创建" in page


# --- Writing a new ticket: one prepared statement on PostgreSQL, the ORM step by step elsewhere ----------
def _stored(ticket: Ticket) -> dict:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return {
        "fields": {
            f.attname: getattr(ticket, f.attname)
            for f in Ticket._meta.concrete_fields
            if f.attname not in {"id", "number", "title"}
        },
        "search": ticket.search.text,
        "timeline": [
            (e.actor_id, e.kind, e.from_state, e.to_state, e.comment, e.data) for e in ticket.events.order_by("id")
        ],
    }


@pytest.mark.parametrize("way", ["step_by_step", "in_one_statement"])
@pytest.mark.parametrize("routed", [True, False], ids=["routed", "no pool"])
def test_both_ways_of_writing_a_new_ticket_store_the_same_rows(way, routed, tree, teacher, agent, monkeypatch):
    from tickets.services import intake

    if way == "in_one_statement":
        require_postgres()
    written = []
    chosen = getattr(intake, f"_write_{way}")

    def write(ticket, **kwargs):
        written.append(way)
        chosen(ticket, **kwargs)

    # Both created at the same moment, so that their clocks compare equal.
    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)
    kind = "hardware" if routed else "complaint"
    if not routed:  # nobody serves complaints
        RoleAssignment.objects.get(user=agent).handling_groups.remove(HandlingGroup.objects.get(code="complaints"))
    reference = _create(teacher, title="投影仪无法开机 A", type=kind)  # the database's own way
    monkeypatch.setattr(intake, "_write_routed_and_numbered", write)
    ticket = _create(teacher, title="投影仪无法开机 B", type=kind)
    assert written == [way]
    prefix = f"TS{timezone.localdate():%Y%m%d}"
    assert (reference.number, ticket.number) == (f"{prefix}001", f"{prefix}002")
    assert Ticket.objects.get(number=ticket.number).pk == ticket.pk and not ticket._state.adding
    stored, expected = _stored(ticket), _stored(reference)
    assert stored["fields"] == expected["fields"]
    assert stored["search"].replace(" b", " a") == expected["search"]
    assert stored["timeline"] == expected["timeline"]
    assert {e.created_at for e in Ticket.objects.get(pk=ticket.pk).events.all()} == {moment}
    # What the service hands back (the API's answer, the events) is what was stored.
    for made in (ticket, reference):
        kept = Ticket.objects.get(pk=made.pk)
        assert (made.pool_unit_id, made.assignee_id) == (kept.pool_unit_id, kept.assignee_id)
        assert (made.ack_due_at, made.sla_check_at) == (kept.ack_due_at, kept.sla_check_at)
    timeline = stored["timeline"]
    assert timeline[0][1:] == ("created", "", "new", "", {"priority": "P3", "type": kind})
    if routed:
        # The same agent twice: the pool has one agent, whose turn comes round again.
        assert stored["fields"]["assignee_id"] == agent.pk and stored["fields"]["pool_unit_id"] == tree.haidian.pk
        assert [line[1] for line in timeline] == ["created", "routed", "assigned"]
        assert timeline[2][5] == {"assignee": agent.pk, "assignee_name": "刘洋"}
        assert ticket.pool_unit.name == tree.haidian.name and ticket.assignee.name == "刘洋"
        assert stored["fields"]["ack_due_at"] == moment + timedelta(hours=1)
        assert stored["fields"]["sla_check_at"] <= stored["fields"]["ack_due_at"]
    else:
        assert stored["fields"]["assignee_id"] is None and stored["fields"]["pool_unit_id"] is None
        assert timeline[1][1:] == ("routed", "", "", "", {"pool": None})
        assert len(timeline) == 2 and stored["fields"]["ack_due_at"] is None
    assert isinstance(stored["fields"]["sla_check_at"], datetime)


@pytest.mark.postgres
def test_the_hot_statements_are_prepared_once_per_connection(teacher, agent):
    from django.db import connection

    require_postgres()
    for _ in range(3):
        _create(teacher)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    create = [row for row in prepared if "tickets_poolturn" in row[0] and "tickets_ticketdaycounter" in row[0]]
    # Prepared once and planned once: every later create reuses the generic plan.
    assert len(create) == 1 and create[0][1] >= 3 and create[0][2] == 0


def test_the_create_statement_is_converted_once_however_long_it_is(tree, teacher):
    """psycopg converts a statement's placeholders on every execution and caches the result only under
    4 kB; the create's statement is longer (it stores its events too), and converting it on every
    create cost 8% of a create's CPU (measured). fetch_prepared converts each text once itself."""
    from helpdesk.core.db import _numbered_placeholders
    from tests.concurrency import require_postgres

    require_postgres()
    _create(teacher)
    before = _numbered_placeholders.cache_info()
    _create(teacher)
    _create(teacher)
    after = _numbered_placeholders.cache_info()
    assert after.misses == before.misses and after.hits >= before.hits + 2


def test_a_routed_create_updates_its_pools_turn_in_place(tree, teacher):
    """Every routed ticket updates its pool's turn row. With no index on the column it changes, the
    update is heap-only (HOT): no new entry in each of the table's indexes per ticket, no dead ones
    for the next routing to walk past. The test's transaction counts its own updates."""
    from django.db import connection

    require_postgres()
    for name in "ab":
        _agent(tree, tree.haidian, f"hot_{name}")
    _create(teacher)  # the pool's first ticket inserts its turn row

    def updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), "
                "pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
                ["tickets_poolturn", "tickets_poolturn"],
            )
            return cursor.fetchone()

    before = updates()
    assignees = {_create(teacher).assignee_id for _ in range(4)}
    updated, hot = (after - earlier for after, earlier in zip(updates(), before, strict=True))
    assert len(assignees) == 2  # the turn went round
    assert updated >= 4 and hot == updated


def test_creation_and_the_sweep_take_turns_in_a_pool_the_same_way(tree, teacher):
    """分级轮巡 is written twice: in SQL for a new ticket (tickets.sql, the pool's turn upsert) and in
    Python for the sweep's batches (sweep._Rotation). From the same turn, both name the same agents
    in the same order: by id, starting after the last one served, round and round."""
    from tickets.models import PoolTurn
    from tickets.services import sweep

    agents = sorted((_agent(tree, tree.haidian, f"hd_{n}") for n in "abc"), key=lambda user: user.pk)
    routed = [_create(teacher).assignee_id for _ in range(5)]
    rotation = sweep._Rotation(None, None, [sweep.Agent(user.pk, user.username) for user in agents])
    assert routed == [rotation.next().pk for _ in range(5)]
    # And from a turn left half way round (the last agent served kept in the pool's turn row).
    turn = PoolTurn.objects.get(unit=tree.haidian)
    rotation = sweep._Rotation(turn.pk, turn.last_agent_id, [sweep.Agent(user.pk, user.username) for user in agents])
    assert [_create(teacher).assignee_id for _ in range(4)] == [rotation.next().pk for _ in range(4)]
