"""Delta sync of the ticket lists (issue 12): a phone keeps its lists and asks only for what changed
since its last sync (``updated_after``), with ``removed`` for what left them and a ``sync_token`` for
the next time. helpdesk/core/api/delta.py describes the protocol."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Role
from helpdesk.core.models import Tombstone
from orgtree.models import OrgUnit
from tickets import services
from tickets.models import Ticket
from tickets.services.sweep import sla_sweep


@pytest.fixture(autouse=True)
def no_settle(settings):
    # The window's settling time (writes still committing) is tested on its own below; elsewhere a
    # change made right after a sync must be in the next one.
    settings.DELTA_SYNC_SETTLE_SECONDS = 0


@pytest.fixture
def as_user():
    clients = {}

    def _client(user) -> APIClient:
        if user.pk not in clients:
            clients[user.pk] = APIClient()
            clients[user.pk].force_authenticate(user=user)
        return clients[user.pk]

    return _client


def _get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.json()
    return response.json()


def walk(client, *, after: str | None = None, page_size: int = 100, **params) -> dict:
    """A client's sync: every page of the list (changes since ``after``), as the app follows ``next``."""
    query = {"page_size": page_size, **params}
    if after is not None:
        query["updated_after"] = after
    body = _get(client, "/api/v1/tickets/", **query)
    tokens, rows, removed = {body["sync_token"]}, list(body["results"]), list(body["removed"])
    while body["next"]:
        body = _get(client, body["next"])
        tokens.add(body["sync_token"])
        rows += body["results"]
        removed += body["removed"]
    assert len(tokens) == 1, "every page of one walk carries the same sync_token"
    return {"ids": [row["id"] for row in rows], "rows": rows, "removed": removed, "token": tokens.pop()}


def test_a_sync_loop_sees_exactly_the_changes_since_the_last_one(as_user, new_ticket, staff, teacher):
    first, second, third = new_ticket(title="一"), new_ticket(title="二"), new_ticket(title="三")
    phone = as_user(staff.agent)
    initial = walk(phone, view="handled")
    assert set(initial["ids"]) == {first.pk, second.pk, third.pk}
    assert initial["removed"] == []

    services.ticket_change_priority(ticket=second, agent=staff.agent, priority="P1", reason="影响考试")
    fourth = new_ticket(title="四")
    services.ticket_change_priority(ticket=first, agent=staff.agent, priority="P4", reason="不急")

    delta = walk(phone, after=initial["token"], view="handled")
    # Oldest change first: the order they happened in, each once.
    assert delta["ids"] == [second.pk, fourth.pk, first.pk]
    assert [row["priority"] for row in delta["rows"]] == ["P1", "P2", "P4"]
    assert delta["removed"] == []

    again = walk(phone, after=delta["token"], view="handled")
    assert again["ids"] == [] and again["removed"] == []
    assert again["token"] >= delta["token"]


def test_a_ticket_handed_to_another_agent_leaves_the_first_agents_assigned_list(as_user, new_ticket, staff):
    ticket = new_ticket()
    first = staff.agent if ticket.assignee_id == staff.agent.pk else staff.agent2
    other = staff.agent2 if first is staff.agent else staff.agent
    mine = walk(as_user(first), view="assigned")
    assert mine["ids"] == [ticket.pk]
    everything = walk(as_user(first), view="handled")
    theirs = walk(as_user(other), view="assigned")

    services.ticket_transfer(ticket=ticket, actor=first, reason="对方更熟悉该设备", agent=other)

    after_mine = walk(as_user(first), after=mine["token"], view="assigned")
    assert after_mine["ids"] == [] and after_mine["removed"] == [ticket.pk]
    # Still the first agent's to see (its unit's ticket): changed, not removed, in the whole list.
    after_everything = walk(as_user(first), after=everything["token"], view="handled")
    assert after_everything["ids"] == [ticket.pk] and after_everything["removed"] == []
    after_theirs = walk(as_user(other), after=theirs["token"], view="assigned")
    assert after_theirs["ids"] == [ticket.pk] and after_theirs["removed"] == []


def test_a_ticket_forwarded_up_leaves_the_pool_list_below_and_enters_the_one_above(as_user, new_ticket, staff):
    ticket = new_ticket()
    accepted = new_ticket(title="已接收")
    below = walk(as_user(staff.agent), view="pool")
    assert set(below["ids"]) == {ticket.pk, accepted.pk}
    above = walk(as_user(staff.city_agent), view="pool")
    assert above["ids"] == []

    services.ticket_forward(ticket=ticket, actor=staff.supervisor, reason="需要市级协调")
    services.ticket_accept(ticket=accepted, agent=Ticket.objects.get(pk=accepted.pk).assignee)

    after_below = walk(as_user(staff.agent), after=below["token"], view="pool")
    assert after_below["ids"] == []
    # Forwarded: the pool's tombstone. Accepted: a change of its own, no longer new.
    assert sorted(after_below["removed"]) == sorted([ticket.pk, accepted.pk])
    after_above = walk(as_user(staff.city_agent), after=above["token"], view="pool")
    assert after_above["ids"] == [ticket.pk] and after_above["removed"] == []


def test_an_escalation_by_the_sweep_is_reported_like_a_forward(as_user, new_ticket, staff):
    ticket = new_ticket(priority="P1")
    handler = Ticket.objects.get(pk=ticket.pk).assignee
    assigned = walk(as_user(handler), view="assigned")
    pool = walk(as_user(staff.agent), view="pool")

    # Its deadline passed a minute ago (the sweep stamps what it writes with the real time).
    past = timezone.now() - timedelta(minutes=1)
    Ticket.objects.filter(pk=ticket.pk).update(escalation_due_at=past, sla_check_at=past)
    sla_sweep()

    ticket.refresh_from_db()
    assert ticket.pool_unit_id != staff.agent.unit_id
    assert walk(as_user(handler), after=assigned["token"], view="assigned")["removed"] == [ticket.pk]
    assert walk(as_user(staff.agent), after=pool["token"], view="pool")["removed"] == [ticket.pk]
    # The sweep stamps the change when it writes it, so the whole list shows it as a change.
    assert walk(as_user(staff.agent), after=pool["token"], view="handled")["ids"] == [ticket.pk]


def test_a_deleted_ticket_is_removed_from_everyones_lists(as_user, new_ticket, staff, teacher):
    ticket, kept = new_ticket(), new_ticket(title="保留")
    asker = walk(as_user(teacher), view="mine")
    agent = walk(as_user(staff.agent), view="handled")

    Ticket.objects.filter(pk=ticket.pk).delete()

    for user, synced, view in ((teacher, asker, "mine"), (staff.agent, agent, "handled")):
        delta = walk(as_user(user), after=synced["token"], view=view)
        assert delta["removed"] == [ticket.pk] and delta["ids"] == []
    assert kept.pk not in Tombstone.objects.values_list("object_id", flat=True)


def test_paging_while_tickets_change_misses_nothing_and_repeats_nothing(as_user, new_ticket, staff):
    tickets = [new_ticket(title=f"问题{i}") for i in range(6)]
    phone = as_user(staff.agent)
    start = walk(phone, view="handled")["token"]
    for ticket in tickets:
        services.ticket_change_priority(ticket=ticket, agent=staff.agent, priority="P1", reason="批量调整")

    page = _get(phone, "/api/v1/tickets/", view="handled", updated_after=start, page_size=2)
    seen = [row["id"] for row in page["results"]]
    assert seen == [tickets[0].pk, tickets[1].pk]
    # Meanwhile: a row already read changes, a row not read yet changes, a ticket is filed.
    services.ticket_change_priority(ticket=tickets[0], agent=staff.agent, priority="P3", reason="再调整")
    services.ticket_change_priority(ticket=tickets[4], agent=staff.agent, priority="P4", reason="再调整")
    late = new_ticket(title="分页时新建")
    while page["next"]:
        page = _get(phone, page["next"])
        seen += [row["id"] for row in page["results"]]

    # This sync: each row once, as of the window; what changed during the walk comes next time.
    assert len(seen) == len(set(seen))
    assert seen == [t.pk for t in tickets if t is not tickets[4]]
    following = walk(phone, after=page["sync_token"], view="handled")
    assert following["ids"] == [tickets[0].pk, tickets[4].pk, late.pk]
    assert {row["priority"] for row in following["rows"] if row["id"] == tickets[4].pk} == {"P4"}


def test_the_window_ends_before_writes_still_committing(as_user, new_ticket, staff, settings):
    settings.DELTA_SYNC_SETTLE_SECONDS = 5
    ticket = new_ticket()
    phone = as_user(staff.agent)
    before = timezone.now()
    synced = walk(phone, view="handled")
    settled = timezone.localtime(timezone.now() - timedelta(seconds=5)).isoformat()
    assert timezone.localtime(before - timedelta(seconds=5)).isoformat() <= synced["token"] <= settled
    # A transaction that stamped the row 2 s before that sync and committed only after it: behind a
    # window ending at the sync's own moment it would never be seen. This one is in the next sync.
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=before - timedelta(seconds=2), priority="P1")
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=before - timedelta(seconds=2))
    later = _get(phone, "/api/v1/tickets/", view="handled", updated_after=synced["token"])
    assert later["results"] == []  # still inside the settling time: held back, not lost
    settings.DELTA_SYNC_SETTLE_SECONDS = 0
    assert walk(phone, after=synced["token"], view="handled")["ids"] == [ticket.pk]


def test_a_role_granted_or_removed_since_the_last_sync_asks_for_a_fresh_list(as_user, new_ticket, staff, tree):
    new_ticket()
    phone = as_user(staff.agent)
    synced = walk(phone, view="handled")
    account_services.role_grant(actor=staff.supervisor, user=staff.agent, unit=tree.school_b, role=Role.ANSWER_REVIEWER)

    response = phone.get("/api/v1/tickets/", {"view": "handled", "updated_after": synced["token"]})
    assert response.status_code == 410
    assert response.json()["code"] == "resync_required"
    # Afresh: a new token, and deltas from it work again.
    fresh = walk(phone, view="handled")
    assert walk(phone, after=fresh["token"], view="handled")["ids"] == []


def test_a_sync_older_than_the_tombstones_is_told_to_start_afresh(as_user, staff):
    old = timezone.localtime(timezone.now() - timedelta(days=31)).isoformat()
    response = as_user(staff.agent).get("/api/v1/tickets/", {"updated_after": old})
    assert response.status_code == 410
    assert response.json()["code"] == "resync_required"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"updated_after": "yesterday"}, "Datetime has wrong format"),
        ({"updated_after": "2999-01-01T00:00:00+08:00"}, "in the future"),
        ({"updated_after": "2026-01-01T00:00:00+08:00", "q": "投影仪"}, "without search filters"),
        ({"updated_after": "2026-01-01T00:00:00+08:00", "sort": "new", "view": "pool"}, "without search filters"),
        ({"updated_after": "2026-01-01T00:00:00+08:00", "view": "due_soon"}, "changes with the clock"),
        ({"updated_afterr": "2026-01-01T00:00:00+08:00"}, "Unknown field"),
    ],
)
def test_bad_delta_parameters_are_a_400_naming_the_field(as_user, staff, params, message):
    response = as_user(staff.agent).get("/api/v1/tickets/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    fields = response.json()["fields"]
    name = next(iter(name for name in params if name in fields))
    assert any(message in text for text in fields[name]), fields


def test_an_unescaped_plus_in_the_token_is_read_as_the_offset_it_was(as_user, new_ticket, staff):
    phone = as_user(staff.agent)
    token = walk(phone, view="handled")["token"]
    ticket = new_ticket()
    # "…+08:00" pasted into a URL without escaping arrives as "… 08:00".
    response = phone.get(f"/api/v1/tickets/?view=handled&updated_after={token.replace('+', '%20')}")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [ticket.pk]


def test_a_cursor_of_another_sync_is_a_404(as_user, new_ticket, staff):
    for i in range(3):
        new_ticket(title=f"问题{i}")
    phone = as_user(staff.agent)
    old = timezone.localtime(timezone.now() - timedelta(hours=1)).isoformat()
    page = _get(phone, "/api/v1/tickets/", view="handled", updated_after=old, page_size=1)
    cursor = page["next"].split("cursor=")[1].split("&")[0]
    other = timezone.localtime(timezone.now() - timedelta(hours=2)).isoformat()
    response = phone.get("/api/v1/tickets/", {"updated_after": other, "cursor": cursor, "view": "handled"})
    assert response.status_code == 404


def test_search_and_clock_lists_offer_no_token(as_user, staff):
    phone = as_user(staff.agent)
    assert _get(phone, "/api/v1/tickets/", view="due_soon")["sync_token"] is None
    assert _get(phone, "/api/v1/tickets/", q="投影仪")["sync_token"] is None
    assert _get(phone, "/api/v1/tickets/", view="assigned")["sync_token"] is not None


def test_a_school_moved_to_another_county_resyncs_the_staff_who_lose_it(as_user, new_ticket, staff, tree):
    ticket = new_ticket()
    losing = walk(as_user(staff.agent), view="handled")
    gaining = walk(as_user(staff.tianjin_agent), view="handled")
    assert gaining["ids"] == []

    OrgUnit.objects.move(tree.school_a, tree.heping, pos="last-child")

    assert (
        as_user(staff.agent).get("/api/v1/tickets/", {"view": "handled", "updated_after": losing["token"]}).status_code
        == 410
    )
    # The new county's staff receive the tickets as changes.
    assert walk(as_user(staff.tianjin_agent), after=gaining["token"], view="handled")["ids"] == [ticket.pk]


# --- The follow-up list ---------------------------------------------------------------------------
def _poorly_rated(new_ticket, staff, teacher, title: str) -> Ticket:
    ticket = new_ticket(title=title)
    ticket = services.ticket_accept(ticket=ticket, agent=ticket.assignee)
    ticket = services.ticket_submit_answer(ticket=ticket, agent=ticket.assignee, solution="重启即可")
    ticket = services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    ticket = services.ticket_confirm(ticket=ticket, asker=teacher)
    return services.ticket_rate(ticket=ticket, asker=teacher, rating="dissatisfied", feedback="没解决")


def follow_up_walk(client, *, after: str | None = None, **params) -> dict:
    query = {"page_size": 100, **params}
    if after is not None:
        query["updated_after"] = after
    body = _get(client, "/api/v1/tickets/follow-ups/", **query)
    rows, removed, token = list(body["results"]), list(body["removed"]), body["sync_token"]
    while body["next"]:
        body = _get(client, body["next"])
        rows += body["results"]
        removed += body["removed"]
    return {"ids": [row["id"] for row in rows], "rows": rows, "removed": removed, "token": token}


def test_the_follow_up_list_syncs_completions_new_ones_and_deletions(as_user, new_ticket, staff, teacher):
    first = _poorly_rated(new_ticket, staff, teacher, "一").follow_up
    gone = _poorly_rated(new_ticket, staff, teacher, "二").follow_up
    phone = as_user(staff.supervisor)
    everything = follow_up_walk(phone)
    open_only = follow_up_walk(phone, open="true")
    assert set(everything["ids"]) == set(open_only["ids"]) == {first.pk, gone.pk}

    services.follow_up_complete(follow_up=first, user=staff.supervisor, outcome="已回访，已解决")
    third = _poorly_rated(new_ticket, staff, teacher, "三").follow_up
    Ticket.objects.filter(pk=gone.ticket_id).delete()

    delta = follow_up_walk(phone, after=everything["token"])
    assert delta["ids"] == [first.pk, third.pk]
    assert delta["rows"][0]["outcome"] == "已回访，已解决"
    assert delta["removed"] == [gone.pk]
    # The open list loses the completed one as well.
    open_delta = follow_up_walk(phone, after=open_only["token"], open="true")
    assert open_delta["ids"] == [third.pk]
    assert sorted(open_delta["removed"]) == sorted([first.pk, gone.pk])
    # Nobody else's: a teacher's delta of the list is empty.
    teacher_token = follow_up_walk(as_user(teacher))["token"]
    assert follow_up_walk(as_user(teacher), after=teacher_token)["ids"] == []
