"""The workbench's lists, portal and API: tab counts (capped), nearest deadline first by default (the
nearer of 确认接收 and the SLA deadline), each filter, bad filter values refused as a 400 or a form
error, and the due-soon / overdue marking."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tickets import selectors
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

API = "/api/v1/tickets/"
PORTAL = "/tickets/"


@pytest.fixture
def queue(staff, new_ticket, tree, tianjin_teacher):
    """Four tickets assigned to the county agent, with deadlines set directly (the lists read the
    persisted clocks):

    - ``late``: accepted, first response 30 minutes overdue;
    - ``receipt``: not yet accepted, receipt due in 20 minutes though the response is due in 3 hours;
    - ``soon``: accepted, response due in 90 minutes;
    - ``later``: accepted, response due in 5 hours, a software question of priority P3.
    """
    now = timezone.now()
    made = {}
    for name, extra in (
        ("late", {}),
        ("receipt", {}),
        ("soon", {}),
        ("later", {"type": "software", "priority": "P3", "title": "教室电脑蓝屏"}),
    ):
        made[name] = new_ticket(**extra)
    accepted = {"assignee": staff.agent, "state": "in_progress", "accepted_at": now, "ack_due_at": now}
    Ticket.objects.filter(pk=made["late"].pk).update(**accepted, next_due_at=now - timedelta(minutes=30))
    Ticket.objects.filter(pk=made["soon"].pk).update(**accepted, next_due_at=now + timedelta(minutes=90))
    Ticket.objects.filter(pk=made["later"].pk).update(**accepted, next_due_at=now + timedelta(hours=5))
    Ticket.objects.filter(pk=made["receipt"].pk).update(
        assignee=staff.agent,
        state="new",
        accepted_at=None,
        ack_due_at=now + timedelta(minutes=20),
        next_due_at=now + timedelta(hours=3),
    )
    return made


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def portal_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-ticket-id="(\d+)"', response.content.decode())]


# --- Order ------------------------------------------------------------------------------------------
def test_work_lists_are_nearest_deadline_first_by_default(staff, queue):
    expected = [queue["late"].pk, queue["receipt"].pk, queue["soon"].pk, queue["later"].pk]
    assert ids(api(staff.agent).get(API, {"view": "assigned"})) == expected
    # Paged two at a time, the (deadline, id) cursor walks the same order.
    first = api(staff.agent).get(API, {"view": "assigned", "page_size": 2}).json()
    second = api(staff.agent).get(first["next"]).json()
    assert [row["id"] for row in first["results"] + second["results"]] == expected
    assert ids(api(staff.agent).get(API, {"view": "assigned", "sort": "new"})) == sorted(expected, reverse=True)


def test_the_portal_shows_the_nearest_deadline_first(client, staff, queue):
    client.force_login(staff.agent)
    response = client.get(PORTAL, {"view": "assigned"})
    assert portal_ids(response) == [queue["late"].pk, queue["receipt"].pk, queue["soon"].pk, queue["later"].pk]
    # 截止时间 of the unaccepted ticket is its receipt deadline, not the later first-response one.
    receipt = Ticket.objects.get(pk=queue["receipt"].pk)
    shown = timezone.localtime(receipt.ack_due_at).strftime("%Y-%m-%d %H:%M")
    row = re.search(rf'data-ticket-id="{receipt.pk}".*?</tr>', response.content.decode(), re.S).group(0)
    assert shown in row


def test_the_portal_pages_a_deadline_list_by_its_cursor(client, staff, queue, monkeypatch):
    monkeypatch.setattr("tickets.views.tickets.PAGE_SIZE", 3)
    client.force_login(staff.agent)
    first = client.get(PORTAL, {"view": "assigned"})
    assert portal_ids(first) == [queue["late"].pk, queue["receipt"].pk, queue["soon"].pk]
    more = re.search(r'class="pager".*?href="\?([^"]+)"', first.content.decode(), re.S).group(1).replace("&amp;", "&")
    assert portal_ids(client.get(f"{PORTAL}?{more}")) == [queue["later"].pk]
    # A cursor that does not parse is the first page, not an error.
    assert client.get(PORTAL, {"view": "assigned", "due_after": "yesterday", "after": "x"}).status_code == 200


# --- Marking ----------------------------------------------------------------------------------------
def test_due_soon_and_overdue_are_marked_in_api_and_portal(client, staff, queue):
    rows = {row["id"]: row for row in api(staff.agent).get(API, {"view": "assigned"}).json()["results"]}
    assert rows[queue["late"].pk]["due_status"] == "overdue"
    assert rows[queue["receipt"].pk]["due_status"] == "due_soon"
    assert rows[queue["soon"].pk]["due_status"] == "due_soon"
    assert rows[queue["later"].pk]["due_status"] == ""
    receipt = Ticket.objects.get(pk=queue["receipt"].pk)
    assert rows[receipt.pk]["due_at"] is not None
    assert rows[receipt.pk]["due_at"].startswith(timezone.localtime(receipt.ack_due_at).strftime("%Y-%m-%dT%H:%M"))
    client.force_login(staff.agent)
    page = client.get(PORTAL, {"view": "assigned"}).content.decode()
    assert f'data-ticket-id="{queue["late"].pk}" data-state="in_progress" class="is-overdue" data-due="overdue"' in page
    assert (
        f'data-ticket-id="{queue["soon"].pk}" data-state="in_progress" class="is-duesoon" data-due="due_soon"' in page
    )
    assert "已超时" in page and "即将到期" in page


def test_the_due_lists_follow_the_nearest_deadline(staff, queue):
    agent = api(staff.agent)
    assert ids(agent.get(API, {"view": "breached"})) == [queue["late"].pk]
    # The unaccepted ticket is due soon by its receipt deadline, though its response is 3 hours away.
    assert ids(agent.get(API, {"view": "due_soon"})) == [queue["receipt"].pk, queue["soon"].pk]


# --- Counts -----------------------------------------------------------------------------------------
def test_every_tab_shows_its_count(client, staff, queue):
    counts = selectors.ticket_list_counts(
        user=staff.agent, views=("mine", "assigned", "pool", "due_soon", "breached", "handled")
    )
    # The pool's list is its new tickets, the unconfirmed assignment among them.
    assert counts == {"mine": 0, "assigned": 4, "pool": 1, "due_soon": 2, "breached": 1, "handled": 4}
    client.force_login(staff.agent)
    page = client.get(PORTAL, {"view": "pool"}).content.decode()
    for view, count in (("assigned", 4), ("due_soon", 2), ("breached", 1), ("mine", 0)):
        assert re.search(rf'data-view="{view}".*?data-count="{count}">{count}</span>', page), view
    # The live refresh (htmx) sends the tabs again out of band, so the counts follow ticket events.
    fragment = client.get(PORTAL, {"view": "pool"}, headers={"HX-Request": "true"}).content.decode()
    assert 'id="ticket-tabs"' in fragment and 'hx-swap-oob="true"' in fragment


def test_counts_stop_at_the_cap(client, staff, queue, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    assert selectors.ticket_list_counts(user=staff.agent, views=["assigned"]) == {"assigned": 3}
    client.force_login(staff.agent)
    page = client.get(PORTAL, {"view": "assigned"}).content.decode()
    assert re.search(r'data-view="assigned".*?data-count="3">2\+</span>', page)


def test_counts_are_a_bounded_number_of_queries(client, staff, queue, django_assert_max_num_queries):
    client.force_login(staff.agent)
    client.get(PORTAL)  # sessions, scope caches
    with django_assert_max_num_queries(20):
        assert client.get(PORTAL, {"view": "assigned"}).status_code == 200


# --- Filters ----------------------------------------------------------------------------------------
def filters(staff, queue, tree):
    """Each filter with the tickets of the agent's queue it keeps."""
    today = timezone.localdate()
    everything = {queue[name].pk for name in queue}
    return [
        ({"type": "software"}, {queue["later"].pk}),
        ({"priority": "P3"}, {queue["later"].pk}),
        ({"state": "new"}, {queue["receipt"].pk}),
        ({"created_from": today, "created_to": today}, everything),
        ({"created_to": today - timedelta(days=1)}, set()),
    ]


def test_each_filter_in_the_api(staff, queue, tree):
    agent = api(staff.agent)
    for params, expected in filters(staff, queue, tree):
        assert set(ids(agent.get(API, {"view": "assigned", **params}))) == expected, params
    assert set(ids(agent.get(API, {"view": "assigned", "unit": tree.school_a.pk}))) == {
        queue[name].pk for name in queue
    }
    assert ids(agent.get(API, {"view": "assigned", "unit": tree.school_b.pk})) == []
    assert len(ids(agent.get(API, {"view": "assigned", "handler": staff.agent.pk}))) == 4
    assert ids(agent.get(API, {"view": "assigned", "handler": staff.agent2.pk})) == []
    # A filtered work list keeps the deadline order.
    assert ids(agent.get(API, {"view": "assigned", "type": "hardware"})) == [
        queue["late"].pk,
        queue["receipt"].pk,
        queue["soon"].pk,
    ]
    supervisor = api(staff.supervisor)
    assert len(ids(supervisor.get(API, {"view": "handled", "handler": staff.agent.pk}))) == 4


def test_each_filter_in_the_portal(client, staff, queue, tree):
    client.force_login(staff.agent)
    for params, expected in filters(staff, queue, tree):
        response = client.get(PORTAL, {"view": "assigned", **params})
        assert response.status_code == 200
        assert set(portal_ids(response)) == expected, params
    assert len(portal_ids(client.get(PORTAL, {"view": "assigned", "unit": tree.school_a.code}))) == 4
    assert portal_ids(client.get(PORTAL, {"view": "assigned", "unit": tree.school_b.code})) == []
    assert len(portal_ids(client.get(PORTAL, {"view": "assigned", "handler": staff.agent.username}))) == 4
    assert portal_ids(client.get(PORTAL, {"view": "assigned", "handler": staff.agent2.username})) == []
    assert portal_ids(client.get(PORTAL, {"view": "assigned", "handler": "nobody-at-all"})) == []
    newest = client.get(PORTAL, {"view": "assigned", "sort": "new"})
    assert portal_ids(newest) == sorted((queue[name].pk for name in queue), reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "printer"}, "type"),
        ({"priority": "P9"}, "priority"),
        ({"state": "lost"}, "state"),
        ({"unit": "abc"}, "unit"),
        ({"handler": "abc"}, "handler"),
        ({"handler": "0"}, "handler"),
        ({"created_from": "2024-13-45"}, "created_from"),
        ({"created_from": "2024-05-02", "created_to": "2024-05-01"}, "created_to"),
        ({"sort": "oldest"}, "sort"),
    ],
)
def test_bad_filters_are_a_400_in_the_api(staff, queue, params, field):
    response = api(staff.agent).get(API, {"view": "assigned", **params})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "printer"}, "type"),
        ({"priority": "P9"}, "priority"),
        ({"state": "lost"}, "state"),
        ({"unit": "NO-SUCH-UNIT"}, "unit"),
        ({"created_from": "2024-13-45"}, "created_from"),
        ({"created_from": "2024-05-02", "created_to": "2024-05-01"}, "created_to"),
        ({"sort": "oldest"}, "sort"),
        ({"handler": "x" * 200}, "handler"),
    ],
)
def test_bad_filters_are_form_errors_in_the_portal(client, staff, queue, params, field):
    client.force_login(staff.agent)
    response = client.get(PORTAL, {"view": "assigned", **params})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert portal_ids(response) == []
    assert 'class="errorlist"' in response.content.decode()


# --- Bulk 确认接收 ---------------------------------------------------------------------------------
@pytest.fixture
def pool_tickets(staff, new_ticket, tianjin_teacher):
    """Two new tickets in 海淀区's pool nobody holds, one held by the other agent, and one of 天津."""
    free = [new_ticket(), new_ticket()]
    Ticket.objects.filter(pk__in=[t.pk for t in free]).update(assignee=None, ack_due_at=None)
    taken = new_ticket()
    Ticket.objects.filter(pk=taken.pk).update(assignee=staff.agent2)
    elsewhere = new_ticket(asker=tianjin_teacher)
    return {"free": free, "taken": taken, "elsewhere": elsewhere}


def test_bulk_accept_in_the_api(staff, pool_tickets):
    free, taken, elsewhere = pool_tickets["free"], pool_tickets["taken"], pool_tickets["elsewhere"]
    response = api(staff.agent).post(
        f"{API}bulk-accept/", {"ids": [free[0].pk, free[1].pk, taken.pk, elsewhere.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == [free[0].pk, free[1].pk]
    assert [row["id"] for row in body["refused"]] == [taken.pk]
    assert body["not_found"] == [elsewhere.pk]
    for ticket in free:
        ticket.refresh_from_db()
        assert (ticket.state, ticket.assignee_id) == ("in_progress", staff.agent.pk)
        assert ticket.accepted_at is not None
    taken.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (taken.state, taken.assignee_id) == ("new", staff.agent2.pk)
    assert elsewhere.state == "new" and elsewhere.assignee_id != staff.agent.pk


@pytest.mark.parametrize(
    "body", [{}, {"ids": []}, {"ids": ["x"]}, {"ids": list(range(1, 52))}, {"ids": [1], "extra": 1}]
)
def test_bad_bulk_requests_are_a_400(staff, body):
    assert api(staff.agent).post(f"{API}bulk-accept/", body, format="json").status_code == 400


def test_bulk_accept_in_the_portal(client, staff, pool_tickets):
    free, taken, elsewhere = pool_tickets["free"], pool_tickets["taken"], pool_tickets["elsewhere"]
    client.force_login(staff.agent)
    page = client.get(PORTAL, {"view": "pool"}).content.decode()
    assert 'id="bulk-accept-form"' in page
    # A checkbox for the tickets the agent may accept, none for the one the other agent holds.
    assert f'name="ticket" value="{free[0].pk}"' in page
    assert f'name="ticket" value="{taken.pk}"' not in page
    response = client.post(
        "/tickets/bulk-accept/",
        {"ticket": [free[0].pk, free[1].pk, taken.pk, elsewhere.pk], "next": "/tickets/?view=pool"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/tickets/?view=pool"
    text = response.content.decode()
    assert "已确认接收 2 张工单。" in text
    assert taken.number in text
    assert "所选工单中有 1 张已不存在或您无权查看。" in text
    assert set(Ticket.objects.filter(assignee=staff.agent, state="in_progress").values_list("pk", flat=True)) >= {
        free[0].pk,
        free[1].pk,
    }
    assert Ticket.objects.get(pk=elsewhere.pk).state == "new"
    # A "next" elsewhere is not followed.
    response = client.post("/tickets/bulk-accept/", {"ticket": [], "next": "https://example.com/"})
    assert response.status_code == 302 and response["Location"] == "/tickets/?view=pool"


# --- Bulk 转派 --------------------------------------------------------------------------------------
@pytest.fixture
def held(staff, new_ticket, tianjin_teacher):
    """Two tickets the county agent handles (accepted), and one of 天津."""
    mine = [new_ticket(), new_ticket(type="software")]
    Ticket.objects.filter(pk__in=[t.pk for t in mine]).update(
        assignee=staff.agent, state="in_progress", accepted_at=timezone.now()
    )
    return {"mine": mine, "elsewhere": new_ticket(asker=tianjin_teacher)}


def test_bulk_transfer_in_the_portal(client, staff, held):
    mine, elsewhere = held["mine"], held["elsewhere"]
    client.force_login(staff.agent)
    page = client.get(PORTAL, {"view": "assigned"}).content.decode()
    assert 'formaction="/tickets/bulk-transfer/"' in page
    ids = [t.pk for t in mine] + [elsewhere.pk]
    # Without a reason nothing moves.
    response = client.post("/tickets/bulk-transfer/", {"ticket": ids, "agent": staff.agent2.username}, follow=True)
    assert re.search(r'<li class="error">原因：[^<]+</li>', response.content.decode())
    assert set(Ticket.objects.filter(pk__in=ids[:2]).values_list("assignee_id", flat=True)) == {staff.agent.pk}
    response = client.post(
        "/tickets/bulk-transfer/",
        {"ticket": ids, "agent": staff.agent2.username, "reason": "下周休假", "next": "/tickets/?view=assigned"},
        follow=True,
    )
    text = response.content.decode()
    assert "已转派 2 张工单。" in text
    assert "所选工单中有 1 张已不存在或您无权查看。" in text
    for ticket in mine:
        ticket.refresh_from_db()
        assert (ticket.assignee_id, ticket.state) == (staff.agent2.pk, "new")
    assert Ticket.objects.get(pk=elsewhere.pk).assignee_id != staff.agent2.pk
    # An unknown account: a message, nothing moves.
    response = client.post("/tickets/bulk-transfer/", {"ticket": ids, "agent": "nobody", "reason": "x"}, follow=True)
    assert "没有账号为“nobody”的坐席。" in response.content.decode()


def test_bulk_transfer_in_the_api(staff, held):
    mine, elsewhere = held["mine"], held["elsewhere"]
    client = api(staff.agent)
    ids = [t.pk for t in mine] + [elsewhere.pk]
    assert client.post(f"{API}bulk-transfer/", {"ids": ids}, format="json").status_code == 400
    bad_agent = client.post(f"{API}bulk-transfer/", {"ids": ids, "reason": "x", "agent": 10**9}, format="json")
    assert bad_agent.status_code == 400 and "agent" in bad_agent.json()["fields"]
    # An agent of another unit is refused per ticket by the transfer's own rule.
    outsider = client.post(
        f"{API}bulk-transfer/", {"ids": ids, "reason": "x", "agent": staff.tianjin_agent.pk}, format="json"
    ).json()
    assert outsider["transferred"] == [] and len(outsider["refused"]) == 2
    body = client.post(
        f"{API}bulk-transfer/", {"ids": ids, "reason": "下周休假", "agent": staff.agent2.pk}, format="json"
    )
    assert body.status_code == 200, body.content
    assert body.json()["transferred"] == [t.pk for t in mine]
    assert body.json()["not_found"] == [elsewhere.pk]
    assert set(Ticket.objects.filter(pk__in=ids[:2]).values_list("assignee_id", flat=True)) == {staff.agent2.pk}
