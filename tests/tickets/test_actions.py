"""Issue 17's ticket actions: withdraw by the asker, close as invalid, 转派 transfer, 上报 forward and
merge, each through the service, the API and the portal, with its timeline line, its realtime event
(checked against its declared schema: the tests run with HELPDESK_VALIDATE_EVENTS), its SLA effect on
the persisted clocks, and refusals that leave the database as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, RoleAssignment
from helpdesk.core import events as core_events
from tests.factories import UserFactory
from tickets import selectors, services
from tickets.models import CloseReason, FollowUp, Ticket, TicketEvent, TicketState

pytestmark = pytest.mark.django_db

SNAPSHOT_FIELDS = (
    "state",
    "assignee_id",
    "pool_unit_id",
    "close_reason",
    "merged_into_id",
    "closed_at",
    "ack_due_at",
    "response_due_at",
    "resolution_due_at",
    "next_due_at",
    "sla_check_at",
    "escalation_level",
)


def snapshot(ticket: Ticket) -> tuple:
    """What a refused action must leave alone: the ticket's row and its timeline."""
    row = Ticket.objects.values_list(*SNAPSHOT_FIELDS).get(pk=ticket.pk)
    return row, TicketEvent.objects.filter(ticket=ticket).count()


@pytest.fixture
def sent(monkeypatch):
    """Every realtime event sent (type, recipients, payload). send_events validates each payload
    against its declared schema before this sees it."""
    calls: list[tuple[str, set[int], dict]] = []
    real = core_events.send_events

    def spy(batch):
        batch = list(batch)
        for user_ids, event_type, payload in batch:
            calls.append((event_type, set(user_ids), payload))
        return real(batch)

    monkeypatch.setattr(core_events, "send_events", spy)
    return calls


def _of_type(sent, event_type):
    return [(users, payload) for kind, users, payload in sent if kind == event_type]


def _accepted(new_ticket, staff, **extra) -> Ticket:
    """A ticket accepted by staff.agent (round robin may have given it to the pool's other agent)."""
    ticket = new_ticket(**extra)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=staff.agent)
    ticket.refresh_from_db()
    return services.ticket_accept(ticket=ticket, agent=staff.agent)


def _last_line(ticket: Ticket) -> TicketEvent:
    return TicketEvent.objects.filter(ticket=ticket).order_by("-id").first()


def _window(before, after, minutes):
    return before + timedelta(minutes=minutes), after + timedelta(minutes=minutes)


# --- Withdraw ---------------------------------------------------------------------------------------
def test_the_asker_withdraws_and_every_clock_stops_for_good(new_ticket, staff, teacher, sent):
    ticket = _accepted(new_ticket, staff)
    response_due, resolution_due = ticket.response_due_at, ticket.resolution_due_at
    ticket = services.ticket_withdraw(ticket=ticket, asker=teacher, reason="已自行解决")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.close_reason) == (TicketState.CLOSED, CloseReason.WITHDRAWN)
    assert ticket.closed_at is not None
    # The clocks stop: nothing left for the sweep, no deadline shown as current; the deadlines stay.
    assert (ticket.next_due_at, ticket.sla_check_at, ticket.escalation_due_at, ticket.warn_at) == (None,) * 4
    assert (ticket.response_due_at, ticket.resolution_due_at) == (response_due, resolution_due)
    line = _last_line(ticket)
    assert (line.kind, line.actor, line.from_state, line.to_state, line.comment) == (
        "withdrawn",
        teacher,
        "in_progress",
        "closed",
        "已自行解决",
    )
    ((users, payload),) = _of_type(sent, "ticket.withdrawn")
    assert users == {teacher.pk, staff.agent.pk}
    assert {k: payload[k] for k in ("id", "number", "state")} == {
        "id": ticket.pk,
        "number": ticket.number,
        "state": "closed",
    }
    # Closed is final: no rating, no reply, no action at all.
    assert selectors.ticket_allowed_actions(user=teacher, ticket=ticket) == []
    with pytest.raises(ValidationError):
        services.ticket_rate(ticket=ticket, asker=teacher, rating="satisfied")


def test_a_withdrawal_while_waiting_on_the_asker_counts_the_pause(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    ticket = services.ticket_request_info(ticket=ticket, agent=staff.agent, question="型号？")
    Ticket.objects.filter(pk=ticket.pk).update(paused_at=timezone.now() - timedelta(minutes=30))
    ticket = services.ticket_withdraw(ticket=ticket, asker=teacher)
    ticket.refresh_from_db()
    assert ticket.paused_at is None and ticket.paused_wall_minutes >= 30


def test_only_the_asker_withdraws_and_not_after_an_approved_answer(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    before = snapshot(ticket)
    with pytest.raises(ValidationError):
        services.ticket_withdraw(ticket=ticket, asker=staff.agent)
    assert snapshot(ticket) == before
    # A draft under review is no answer yet: still possible there.
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="更换灯泡")
    assert "withdraw" in selectors.ticket_allowed_actions(user=teacher, ticket=Ticket.objects.get(pk=ticket.pk))
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    ticket.refresh_from_db()
    assert "withdraw" not in selectors.ticket_allowed_actions(user=teacher, ticket=ticket)
    before = snapshot(ticket)
    with pytest.raises(ValidationError):
        services.ticket_withdraw(ticket=ticket, asker=teacher)
    assert snapshot(ticket) == before


def test_a_draft_under_review_stays_hidden_when_the_asker_withdraws(new_ticket, staff, teacher, auth_client):
    """Closed is an answer-visible state for a rated ticket, not for one closed early: the draft that
    was waiting for review is neither shown to the asker nor put in the search index."""
    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="请重新插拔电源适配器")
    services.ticket_withdraw(ticket=ticket, asker=teacher)
    body = auth_client(teacher).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert (body["state"], body["solution"]) == ("closed", "")
    found = auth_client(teacher).get("/api/v1/tickets/", {"view": "mine", "q": "电源适配器"}).json()
    assert found["results"] == []


def test_api_withdraw(new_ticket, teacher, tianjin_teacher, auth_client):
    ticket = new_ticket()
    before = snapshot(ticket)
    # Not yours: 404, nothing changed.
    response = auth_client(tianjin_teacher).post(f"/api/v1/tickets/{ticket.pk}/withdraw/", {}, format="json")
    assert response.status_code == 404
    assert snapshot(ticket) == before
    response = auth_client(teacher).post(
        f"/api/v1/tickets/{ticket.pk}/withdraw/", {"reason": "重复提问"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["close_reason"], body["allowed_actions"]) == ("closed", "withdrawn", [])
    again = auth_client(teacher).post(f"/api/v1/tickets/{ticket.pk}/withdraw/", {}, format="json")
    assert again.status_code == 400


def test_portal_withdraw(client, new_ticket, teacher):
    ticket = new_ticket()
    client.force_login(teacher)
    page = client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert 'data-action="withdraw"' in page.content.decode()
    response = client.post(reverse("tickets:action", args=[ticket.pk, "withdraw"]), {"withdraw-reason": ""})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.close_reason == CloseReason.WITHDRAWN


# --- Close as invalid -------------------------------------------------------------------------------
def test_the_handler_closes_as_invalid_with_a_reason_no_rating_no_follow_up(new_ticket, staff, teacher, sent):
    ticket = _accepted(new_ticket, staff)
    with pytest.raises(ValidationError) as refused:
        services.ticket_close_invalid(ticket=ticket, actor=staff.agent, reason="  ")
    assert "reason" in refused.value.message_dict
    ticket = services.ticket_close_invalid(ticket=ticket, actor=staff.agent, reason="测试提交，非真实问题")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.close_reason, ticket.rating) == ("closed", "invalid", "")
    assert ticket.next_due_at is None and ticket.sla_check_at is None and ticket.closed_at is not None
    assert not FollowUp.objects.exists()
    line = _last_line(ticket)
    assert (line.kind, line.actor, line.comment) == ("closed_invalid", staff.agent, "测试提交，非真实问题")
    # The asker reads the reason in the timeline.
    assert "测试提交，非真实问题" in [e.comment for e in selectors.ticket_timeline(user=teacher, ticket=ticket)]
    ((users, _payload),) = _of_type(sent, "ticket.closed_invalid")
    assert {teacher.pk, staff.agent.pk} <= users
    assert selectors.ticket_allowed_actions(user=teacher, ticket=ticket) == []


def test_close_invalid_is_for_the_handler_or_a_supervisor(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    before = snapshot(ticket)
    for outsider in (staff.agent2, teacher, staff.reviewer):
        with pytest.raises(ValidationError):
            services.ticket_close_invalid(ticket=ticket, actor=outsider, reason="无效")
    assert snapshot(ticket) == before
    services.ticket_close_invalid(ticket=ticket, actor=staff.supervisor, reason="无效")
    assert Ticket.objects.get(pk=ticket.pk).close_reason == CloseReason.INVALID


def test_api_close_invalid(new_ticket, staff, tianjin_teacher, auth_client):
    ticket = _accepted(new_ticket, staff)
    url = f"/api/v1/tickets/{ticket.pk}/close-invalid/"
    before = snapshot(ticket)
    assert auth_client(staff.tianjin_agent).post(url, {"reason": "x"}, format="json").status_code == 404
    response = auth_client(staff.agent2).post(url, {"reason": "x"}, format="json")
    assert response.status_code == 400 and "actor" in response.json()["fields"]
    assert auth_client(staff.agent).post(url, {}, format="json").status_code == 400
    assert snapshot(ticket) == before
    response = auth_client(staff.agent).post(url, {"reason": "重复的测试数据"}, format="json")
    assert response.status_code == 200 and response.json()["close_reason"] == "invalid"


def test_portal_close_invalid_needs_a_reason(client, new_ticket, staff):
    ticket = _accepted(new_ticket, staff)
    client.force_login(staff.agent)
    url = reverse("tickets:action", args=[ticket.pk, "close_invalid"])
    assert client.post(url, {"close_invalid-reason": ""}).status_code == 400
    assert client.post(url, {"close_invalid-reason": "垃圾信息"}).status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).close_reason == CloseReason.INVALID


# --- Transfer (转派) ----------------------------------------------------------------------------------
def test_a_transfer_restarts_the_acknowledgement_and_keeps_the_response_deadline(new_ticket, staff, teacher, sent):
    ticket = _accepted(new_ticket, staff, priority="P2")
    response_due, resolution_due = ticket.response_due_at, ticket.resolution_due_at
    before = timezone.now()
    ticket = services.ticket_transfer(ticket=ticket, actor=staff.agent, agent=staff.agent2, reason="对方熟悉该型号")
    after = timezone.now()
    ticket.refresh_from_db()
    assert (ticket.state, ticket.assignee, ticket.accepted_at) == (TicketState.NEW, staff.agent2, None)
    low, high = _window(before, after, 60)
    assert low <= ticket.ack_due_at <= high
    assert (ticket.response_due_at, ticket.resolution_due_at, ticket.next_due_at) == (
        response_due,
        resolution_due,
        response_due,
    )
    # The sweep watches the new hour: unconfirmed by then, it passes the ticket on.
    assert ticket.sla_check_at <= ticket.ack_due_at
    line = _last_line(ticket)
    assert (line.kind, line.actor, line.from_state, line.to_state, line.comment) == (
        "transferred",
        staff.agent,
        "in_progress",
        "new",
        "对方熟悉该型号",
    )
    assert (line.data["from"], line.data["assignee"]) == (staff.agent.pk, staff.agent2.pk)
    ((users, _payload),) = _of_type(sent, "ticket.transferred")
    assert users == {teacher.pk, staff.agent.pk, staff.agent2.pk}
    # The new agent accepts as after any assignment.
    services.ticket_accept(ticket=ticket, agent=staff.agent2)


def test_a_transfer_goes_only_to_another_on_duty_agent_of_the_pool(new_ticket, staff):
    ticket = _accepted(new_ticket, staff)
    before = snapshot(ticket)
    for agent in (staff.agent, staff.city_agent, staff.tianjin_agent):
        with pytest.raises(ValidationError) as refused:
            services.ticket_transfer(ticket=ticket, actor=staff.agent, agent=agent, reason="换人")
        assert "agent" in refused.value.message_dict
    RoleAssignment.objects.filter(user=staff.agent2, role=Role.SUPPORT_AGENT).update(on_duty=False)
    with pytest.raises(ValidationError):
        services.ticket_transfer(ticket=ticket, actor=staff.agent, agent=staff.agent2, reason="换人")
    with pytest.raises(ValidationError):
        services.ticket_transfer(ticket=ticket, actor=staff.agent2, agent=staff.agent, reason="不是我的")
    assert snapshot(ticket) == before


def test_a_transfer_to_the_pool_takes_the_next_agent_in_turn(new_ticket, staff, tree, auth_client):
    from tickets.models import PoolTurn

    ticket = _accepted(new_ticket, staff)
    ticket = services.ticket_transfer(ticket=ticket, actor=staff.agent, reason="轮换")
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.state) == (staff.agent2, TicketState.NEW)
    assert _last_line(ticket).data["in_turn"] is True
    # The rotation moved on, as the sweep's pass-on moves it.
    assert PoolTurn.objects.get(unit=tree.haidian, group__code="hardware").last_agent == staff.agent2
    # Back over the API without an agent: the only other one is staff.agent again.
    response = auth_client(staff.agent2).post(
        f"/api/v1/tickets/{ticket.pk}/transfer/", {"reason": "换回"}, format="json"
    )
    assert response.status_code == 200 and response.json()["assignee"]["id"] == staff.agent.pk
    # Nobody else on duty: refused, nothing changed.
    RoleAssignment.objects.filter(user=staff.agent2, role=Role.SUPPORT_AGENT).update(on_duty=False)
    ticket.refresh_from_db()
    before = snapshot(ticket)
    with pytest.raises(ValidationError) as refused:
        services.ticket_transfer(ticket=ticket, actor=staff.agent, reason="再换")
    assert "agent" in refused.value.message_dict
    assert snapshot(ticket) == before


def test_api_transfer(new_ticket, staff, auth_client):
    ticket = _accepted(new_ticket, staff)
    url = f"/api/v1/tickets/{ticket.pk}/transfer/"
    before = snapshot(ticket)
    payload = {"agent": staff.agent2.pk, "reason": "轮休"}
    assert auth_client(staff.tianjin_agent).post(url, payload, format="json").status_code == 404
    assert (
        auth_client(staff.agent).post(url, {"agent": staff.city_agent.pk, "reason": "x"}, format="json").status_code
        == 400
    )
    assert snapshot(ticket) == before
    response = auth_client(staff.agent).post(url, payload, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == staff.agent2.pk


def test_portal_transfer_offers_the_pools_other_agents(client, new_ticket, staff):
    ticket = _accepted(new_ticket, staff)
    client.force_login(staff.agent)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-action="transfer"' in page and staff.agent2.name in page and staff.city_agent.name not in page
    # The panel speaks Chinese.
    for words in ("转派给其他坐席或处理组", "上报到上一级", "合并到其他工单", "作为无效问题关闭"):
        assert words in page, words
    url = reverse("tickets:action", args=[ticket.pk, "transfer"])
    assert client.post(url, {"transfer-agent": staff.agent2.pk, "transfer-reason": ""}).status_code == 400
    response = client.post(url, {"transfer-agent": staff.agent2.pk, "transfer-reason": "请陈静处理"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).assignee == staff.agent2
    # The empty choice is the pool's next agent in turn.
    client.force_login(staff.agent2)
    response = client.post(url, {"transfer-agent": "", "transfer-reason": "轮换"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).assignee == staff.agent


# --- Forward up (上报) --------------------------------------------------------------------------------
def test_forwarding_follows_the_sweeps_escalation_with_a_fresh_window(new_ticket, staff, tree, teacher, sent):
    ticket = _accepted(new_ticket, staff, priority="P2")
    response_due = ticket.response_due_at
    before = timezone.now()
    ticket = services.ticket_forward(ticket=ticket, actor=staff.agent, reason="需要市级协调")
    after = timezone.now()
    ticket.refresh_from_db()
    assert (ticket.pool_unit, ticket.assignee, ticket.state) == (tree.beijing, staff.city_agent, TicketState.NEW)
    assert ticket.escalation_level == 1 and before <= ticket.escalated_at <= after
    assert ticket.accepted_at is None
    low, high = _window(before, after, 60)
    assert low <= ticket.ack_due_at <= high
    # The response deadline is the question's; the pool above gets a fresh 4 hours (P2) from now.
    assert ticket.response_due_at == response_due
    low, high = _window(before, after, 240)
    assert low <= ticket.escalation_due_at <= high
    kinds = list(TicketEvent.objects.filter(ticket=ticket).order_by("-id").values_list("kind", flat=True)[:2])
    assert kinds == ["assigned", "forwarded"]
    line = TicketEvent.objects.get(ticket=ticket, kind="forwarded")
    assert (line.actor, line.comment, line.data["pool"], line.data["from_pool"]) == (
        staff.agent,
        "需要市级协调",
        tree.beijing.pk,
        tree.haidian.pk,
    )
    ((users, _payload),) = _of_type(sent, "ticket.forwarded")
    assert {teacher.pk, staff.agent.pk, staff.city_agent.pk} <= users
    # The city agent may pass it on again; at the ministry there is nothing above.
    services.ticket_forward(ticket=ticket, actor=staff.city_agent, reason="需要部级支持")
    ticket.refresh_from_db()
    assert (ticket.pool_unit, ticket.assignee, ticket.escalation_level) == (tree.root, staff.top_agent, 2)
    before_top = snapshot(ticket)
    with pytest.raises(ValidationError):
        services.ticket_forward(ticket=ticket, actor=staff.top_agent, reason="再上报")
    assert snapshot(ticket) == before_top


def test_api_and_portal_forward(client, new_ticket, staff, tree, auth_client):
    first, second = _accepted(new_ticket, staff), _accepted(new_ticket, staff)
    url = f"/api/v1/tickets/{first.pk}/forward/"
    before = snapshot(first)
    assert auth_client(staff.tianjin_agent).post(url, {"reason": "x"}, format="json").status_code == 404
    assert auth_client(staff.agent2).post(url, {"reason": "x"}, format="json").status_code == 400
    assert auth_client(staff.agent).post(url, {}, format="json").status_code == 400
    assert snapshot(first) == before
    response = auth_client(staff.agent).post(url, {"reason": "上报"}, format="json")
    assert response.status_code == 200 and response.json()["pool_unit"]["id"] == tree.beijing.pk
    client.force_login(staff.agent)
    response = client.post(reverse("tickets:action", args=[second.pk, "forward"]), {"forward-reason": "上报"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=second.pk).pool_unit == tree.beijing


# --- Merge ------------------------------------------------------------------------------------------
def test_merging_a_duplicate_closes_it_with_a_link_and_tells_its_asker(new_ticket, staff, tree, teacher, sent):
    target = _accepted(new_ticket, staff)
    colleague = UserFactory(username="teacher_ls", name="李四", unit=tree.school_a)
    duplicate = new_ticket(asker=colleague)
    services.ticket_reply(ticket=duplicate, author=colleague, body="同一台投影仪")
    duplicate = services.ticket_merge(ticket=duplicate, actor=staff.supervisor, into=target, reason="同一故障")
    duplicate.refresh_from_db()
    assert (duplicate.state, duplicate.close_reason, duplicate.merged_into) == ("closed", "merged", target)
    assert duplicate.next_due_at is None and duplicate.sla_check_at is None
    # The duplicate's asker reads the line; its thread stays.
    asker_lines = list(selectors.ticket_timeline(user=colleague, ticket=duplicate))
    assert asker_lines[-1].kind == "merged" and asker_lines[-1].data["merged_into_number"] == target.number
    assert [m.body for m in selectors.ticket_messages(user=colleague, ticket=duplicate)] == ["同一台投影仪"]
    received = _last_line(target)
    assert (received.kind, received.actor, received.data["duplicate"]) == (
        "merge_received",
        staff.supervisor,
        duplicate.pk,
    )
    ((users, payload),) = _of_type(sent, "ticket.merged")
    assert {colleague.pk, teacher.pk, staff.agent.pk, staff.supervisor.pk} <= users
    assert payload["merged_into"] == {"id": target.pk, "number": target.number}
    # The target carries on untouched.
    target.refresh_from_db()
    assert target.state == TicketState.IN_PROGRESS


def test_merge_rules_refuse_and_leave_both_tickets_unchanged(new_ticket, staff, tree, tianjin_teacher):
    target = _accepted(new_ticket, staff)
    duplicate = new_ticket()
    other_school = new_ticket(asker=UserFactory(username="school_b_t", unit=tree.school_b))
    tianjin = new_ticket(asker=tianjin_teacher)
    closed = new_ticket()
    services.ticket_withdraw(ticket=closed, asker=closed.asker)
    states = [snapshot(t) for t in (target, duplicate, other_school, tianjin)]
    for into in (duplicate, other_school, closed):
        with pytest.raises(ValidationError):
            services.ticket_merge(ticket=duplicate, actor=staff.supervisor, into=into)
    # A ticket the actor does not support; an actor who neither handles nor supervises the duplicate.
    with pytest.raises(ValidationError):
        services.ticket_merge(ticket=duplicate, actor=staff.supervisor, into=tianjin)
    with pytest.raises(ValidationError):
        services.ticket_merge(ticket=duplicate, actor=staff.city_agent, into=target)
    assert [snapshot(t) for t in (target, duplicate, other_school, tianjin)] == states


def test_api_merge(new_ticket, staff, tianjin_teacher, auth_client):
    target = _accepted(new_ticket, staff)
    duplicate = _accepted(new_ticket, staff)
    tianjin = new_ticket(asker=tianjin_teacher)
    url = f"/api/v1/tickets/{duplicate.pk}/merge/"
    before = snapshot(duplicate)
    assert auth_client(staff.agent).post(url, {"into": tianjin.pk}, format="json").status_code == 404
    assert auth_client(staff.agent).post(url, {"into": duplicate.pk}, format="json").status_code == 400
    assert auth_client(staff.tianjin_agent).post(url, {"into": tianjin.pk}, format="json").status_code == 404
    assert snapshot(duplicate) == before
    response = auth_client(staff.agent).post(url, {"into": target.pk, "reason": "重复"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["close_reason"], body["merged_into"]) == ("merged", {"id": target.pk, "number": target.number})


def test_portal_merge_by_number_and_the_link_on_the_duplicate(client, new_ticket, staff, teacher):
    target = _accepted(new_ticket, staff)
    duplicate = _accepted(new_ticket, staff)
    client.force_login(staff.agent)
    url = reverse("tickets:action", args=[duplicate.pk, "merge"])
    assert client.post(url, {"merge-into": "TS19990101001"}).status_code == 400
    response = client.post(url, {"merge-into": target.number.lower(), "merge-reason": "重复"})
    assert response.status_code == 302
    client.force_login(teacher)
    page = client.get(reverse("tickets:detail", args=[duplicate.pk])).content.decode()
    assert reverse("tickets:detail", args=[target.pk]) in page and target.number in page
    assert "关闭原因" in page and "已合并到其他工单" in page
    assert f"已合并到 {target.number}" in page  # the timeline line the asker reads


def test_a_handler_whose_ticket_was_transferred_away_can_no_longer_close_it(new_ticket, staff):
    """The permission is checked again on the locked row: the caller's copy may be stale."""
    stale = _accepted(new_ticket, staff)
    services.ticket_transfer(ticket=stale, actor=staff.supervisor, agent=staff.agent2, reason="主管调整")
    before = snapshot(stale)
    with pytest.raises(ValidationError) as refused:
        services.ticket_close_invalid(ticket=stale, actor=staff.agent, reason="无效")
    assert "actor" in refused.value.message_dict
    assert snapshot(stale) == before


# --- The sweep follows the clocks each action set ----------------------------------------------------
def test_the_sweep_follows_a_transfer_and_a_forward(new_ticket, staff, tree):
    """After 转派 the sweep passes the ticket on when the new agent lets the new hour pass; after 上报
    it escalates again only when the fresh window in the pool above has passed, not at the old deadline."""
    ticket = _accepted(new_ticket, staff, priority="P2")
    ticket = services.ticket_transfer(ticket=ticket, actor=staff.agent, agent=staff.agent2, reason="转给陈静")
    ticket.refresh_from_db()
    assert services.sla_sweep(now=ticket.ack_due_at - timedelta(minutes=1)).get("reassigned", 0) == 0
    assert services.sla_sweep(now=ticket.ack_due_at + timedelta(minutes=1))["reassigned"] == 1
    ticket.refresh_from_db()
    assert ticket.assignee == staff.agent

    # Filed three hours ago (P2: 4 hours to respond), forwarded now: one hour is left of the
    # question's deadline, and the pool above gets a fresh four from now.
    filed = _accepted(new_ticket, staff, priority="P2")
    Ticket.objects.filter(pk=filed.pk).update(response_due_at=filed.response_due_at - timedelta(hours=3))
    filed.refresh_from_db()
    forwarded = services.ticket_forward(ticket=filed, actor=staff.agent, reason="上报")
    forwarded.refresh_from_db()
    assert forwarded.escalation_due_at - forwarded.response_due_at > timedelta(hours=2, minutes=59)
    services.ticket_accept(ticket=forwarded, agent=staff.city_agent)
    forwarded.refresh_from_db()
    # The question's own deadline passes first: no escalation yet, the pool above has its window.
    assert forwarded.escalation_due_at > forwarded.response_due_at
    services.sla_sweep(now=forwarded.response_due_at + timedelta(minutes=1))
    forwarded.refresh_from_db()
    assert (forwarded.pool_unit, forwarded.escalation_level) == (tree.beijing, 1)
    services.sla_sweep(now=forwarded.escalation_due_at + timedelta(minutes=1))
    forwarded.refresh_from_db()
    assert (forwarded.pool_unit, forwarded.assignee, forwarded.escalation_level) == (tree.root, staff.top_agent, 2)


def test_the_sweep_leaves_a_closed_ticket_alone(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff, priority="P1")
    services.ticket_close_invalid(ticket=ticket, actor=staff.agent, reason="无效")
    ticket.refresh_from_db()
    assert services.sla_sweep(now=ticket.resolution_due_at + timedelta(days=1)) == {}
    assert TicketEvent.objects.filter(ticket=ticket).order_by("-id").first().kind == "closed_invalid"


# --- Races ------------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_racing_actions_leave_one_winner(tree, handling_groups):
    """The asker withdraws while the handler closes as invalid, on two connections: the row lock lets
    one win; the other finds the ticket closed and is refused with a clear message."""
    from tests.concurrency import require_postgres, run_at_once
    from tests.tickets.conftest import Staff

    require_postgres()
    Staff(tree)  # the agents the ticket is routed to
    teacher = UserFactory(username="race_t", unit=tree.school_a)
    question = {"title": "投影仪", "description": "无法开机", "type": "hardware", "contact_info": "13800000000"}
    ticket = services.ticket_create(asker=teacher, **question)
    ticket = services.ticket_accept(ticket=ticket, agent=ticket.assignee)
    errors = run_at_once(
        [
            lambda: services.ticket_withdraw(ticket=ticket, asker=teacher),
            lambda: services.ticket_close_invalid(ticket=ticket, actor=ticket.assignee, reason="无效"),
        ]
    )
    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert "state" in errors[0].message_dict
    kinds = TicketEvent.objects.filter(ticket=ticket, kind__in=["withdrawn", "closed_invalid"])
    assert kinds.count() == 1


# --- OpenAPI ----------------------------------------------------------------------------------------
def test_the_action_endpoints_are_documented_with_their_bodies(client):
    schema = client.get("/api/schema/?format=json").json()
    bodies = {
        "withdraw": "Withdraw",
        "close-invalid": "Reason",
        "transfer": "Transfer",
        "forward": "Reason",
        "merge": "Merge",
    }
    for path, component in bodies.items():
        operation = schema["paths"][f"/api/v1/tickets/{{id}}/{path}/"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body.endswith(f"/{component}Request") or body.endswith(f"/{component}"), (path, body)
        assert {"200", "400", "404"} <= set(operation["responses"]), path
    detail = schema["components"]["schemas"]["TicketDetail"]["properties"]
    assert {"close_reason", "merged_into"} <= set(detail)


def test_a_ticket_closed_early_misses_no_deadline_after_its_close(new_ticket, staff, teacher, haidian_admin, tree):
    """Reports count a deadline as missed only while the clock ran: a question withdrawn before its
    deadlines is neither met nor breached, however long ago the deadlines passed."""
    from tickets.selectors import reports

    ticket = new_ticket(priority="P1")
    services.ticket_withdraw(ticket=ticket, asker=teacher)
    ticket.refresh_from_db()
    later = ticket.resolution_due_at + timedelta(days=30)
    totals = reports.ticket_report(user=haidian_admin, unit=tree.haidian, now=later).totals
    assert (totals["total"], totals["backlog"]) == (1, 0)
    assert (totals["response_breached"], totals["resolution_breached"]) == (0, 0)


def test_the_back_office_shows_but_cannot_change_how_a_ticket_closed(client, new_ticket, staff, teacher):
    from django.contrib.auth import get_user_model

    ticket = new_ticket()
    services.ticket_withdraw(ticket=ticket, asker=teacher)
    root = get_user_model().objects.create_superuser(username="root_actions", password="x-Secret-123")
    client.force_login(root)
    page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "提问人撤回" in page
    assert 'name="close_reason"' not in page and 'name="merged_into"' not in page


def test_the_table_refuses_a_close_reason_on_an_open_ticket_and_a_merge_without_target(new_ticket):
    from django.db import IntegrityError, transaction

    ticket = new_ticket()
    with transaction.atomic(), pytest.raises(IntegrityError):
        Ticket.objects.filter(pk=ticket.pk).update(close_reason=CloseReason.INVALID)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Ticket.objects.filter(pk=ticket.pk).update(state=TicketState.CLOSED, close_reason=CloseReason.MERGED)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_lookup_for_duplicates_merged_into_a_ticket_is_indexed():
    """Deleting or archiving a ticket looks for duplicates merged into it (PROTECT, and PostgreSQL's
    deferred foreign-key check at commit): without the partial index that is a scan of the whole table
    per ticket; the bench's clean-up of 18,000 tickets took minutes in its COMMIT."""
    from django.db import connection

    from tests.concurrency import require_postgres

    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT 1 FROM tickets_ticket WHERE merged_into_id = %s", [1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_merged_into" in plan, plan


# --- 转派 to another handling group (pool) of the same unit ----------------------------------------
@pytest.fixture
def software_agent(staff, tree):
    """An agent of 海淀区 in the software group only (the staff's agents serve every group)."""
    from accounts.models import HandlingGroup
    from tests.factories import grant

    user = UserFactory(username="sw_agent", name="软件坐席", unit=tree.haidian, user_type="staff")
    grant(user, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.filter(code="software"))
    return user


def test_a_transfer_to_another_group_moves_the_pool_and_keeps_the_deadlines(
    new_ticket, staff, tree, software_agent, sent
):
    """A 设备故障 that is a software fault goes to 海淀区's software group: its agent must confirm
    receipt within the hour, the question counts as 软件异常 from now on, and the response and
    resolution deadlines stay where they were (a transfer buys no time, seed 004)."""
    ticket = _accepted(new_ticket, staff, priority="P2")
    response_due, resolution_due = ticket.response_due_at, ticket.resolution_due_at
    before = timezone.now()
    ticket = services.ticket_transfer(
        ticket=ticket, actor=staff.agent, agent=software_agent, group="software", reason="是软件问题"
    )
    after = timezone.now()
    ticket.refresh_from_db()
    assert (ticket.type, ticket.pool_unit, ticket.assignee) == ("software", tree.haidian, software_agent)
    assert (ticket.state, ticket.accepted_at) == (TicketState.NEW, None)
    low, high = _window(before, after, 60)
    assert low <= ticket.ack_due_at <= high
    assert (ticket.response_due_at, ticket.resolution_due_at) == (response_due, resolution_due)
    line = _last_line(ticket)
    assert (line.kind, line.actor, line.comment) == ("transferred", staff.agent, "是软件问题")
    assert (line.data["from_type"], line.data["type"], line.data["group"]) == ("hardware", "software", "software")
    assert (line.data["from"], line.data["assignee"]) == (staff.agent.pk, software_agent.pk)
    assert any(t == "ticket.transferred" and software_agent.pk in who for t, who, _p in sent)
    # The software agent may now act on it as its handler; the hardware agent no longer can.
    services.ticket_accept(ticket=ticket, agent=software_agent)
    with pytest.raises(ValidationError):
        services.ticket_close_invalid(ticket=Ticket.objects.get(pk=ticket.pk), actor=staff.agent, reason="x")


def test_a_transfer_to_a_group_without_an_agent_named_takes_its_next_in_turn(new_ticket, staff, software_agent):
    ticket = _accepted(new_ticket, staff)
    staff.agent2.roles.update(on_duty=False)  # the only other software agent on duty is software_agent
    ticket = services.ticket_transfer(ticket=ticket, actor=staff.agent, group="software", reason="软件组处理")
    assert (ticket.assignee_id, ticket.type) == (software_agent.pk, "software")
    assert _last_line(ticket).data["in_turn"] is True


def test_a_group_transfer_is_refused_without_an_agent_of_that_group_and_changes_nothing(
    new_ticket, staff, teacher, software_agent
):
    ticket = _accepted(new_ticket, staff)
    before = snapshot(ticket)
    staff.agent2.roles.update(on_duty=False)
    # Nobody of the training group on duty at 海淀区 but the current handler.
    with pytest.raises(ValidationError) as refused:
        services.ticket_transfer(ticket=ticket, actor=staff.agent, group="training", reason="培训组")
    assert "group" in refused.value.message_dict
    # A named agent must be of that group.
    with pytest.raises(ValidationError) as refused:
        services.ticket_transfer(
            ticket=ticket, actor=staff.agent, agent=software_agent, group="complaints", reason="投诉组"
        )
    assert "agent" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.ticket_transfer(ticket=ticket, actor=staff.agent, group="weather", reason="x")
    assert "group" in refused.value.message_dict
    # Only the handler or a supervisor transfers: not the asker, not the pool's other agent.
    for actor in (teacher, staff.agent2):
        with pytest.raises(ValidationError):
            services.ticket_transfer(ticket=ticket, actor=actor, group="software", reason="x")
    assert snapshot(ticket) == before
    assert Ticket.objects.get(pk=ticket.pk).type == "hardware"


def test_a_supervisor_transfers_to_another_group(new_ticket, staff, software_agent):
    ticket = _accepted(new_ticket, staff)
    ticket = services.ticket_transfer(
        ticket=ticket, actor=staff.supervisor, agent=software_agent, group="software", reason="主管调度"
    )
    assert (ticket.assignee_id, ticket.type) == (software_agent.pk, "software")


def test_the_sweep_passes_a_group_transfer_on_within_the_new_group(new_ticket, staff, software_agent):
    """Unconfirmed within the hour, the ticket passes to the next agent of the software group, never
    back to a hardware-only agent."""
    from accounts.models import HandlingGroup

    hardware_only = UserFactory(username="hw_only", name="硬件坐席", unit=staff.agent.unit, user_type="staff")
    RoleAssignment.objects.create(
        user=hardware_only, unit=staff.agent.unit, role=Role.SUPPORT_AGENT
    ).handling_groups.set(HandlingGroup.objects.filter(code="hardware"))
    ticket = _accepted(new_ticket, staff)
    ticket = services.ticket_transfer(
        ticket=ticket, actor=staff.agent, agent=software_agent, group="software", reason="软件组"
    )
    services.sla_sweep(now=ticket.ack_due_at + timedelta(minutes=1))
    ticket.refresh_from_db()
    assert ticket.assignee_id in {staff.agent.pk, staff.agent2.pk}  # they serve software too
    assert ticket.assignee_id != hardware_only.pk and ticket.type == "software"


def test_api_transfer_to_another_group(new_ticket, staff, software_agent, auth_client):
    ticket = _accepted(new_ticket, staff)
    url = f"/api/v1/tickets/{ticket.pk}/transfer/"
    before = snapshot(ticket)
    response = auth_client(staff.agent).post(url, {"group": "weather", "reason": "x"}, format="json")
    assert response.status_code == 400 and "group" in response.json()["fields"]
    assert (
        auth_client(staff.tianjin_agent).post(url, {"group": "software", "reason": "x"}, format="json").status_code
        == 404
    )
    assert snapshot(ticket) == before
    response = auth_client(staff.agent).post(
        url, {"group": "software", "agent": software_agent.pk, "reason": "软件问题"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["assignee"]["id"], body["type"], body["state"]) == (software_agent.pk, "software", "new")


def test_portal_transfer_to_another_group(client, new_ticket, staff, software_agent):
    ticket = _accepted(new_ticket, staff)
    client.force_login(staff.agent)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'id="id_transfer-group"' in page and "或转派给本单位其他处理组" in page
    assert '<option value="software">' in page and '<option value="hardware">' not in page
    url = reverse("tickets:action", args=[ticket.pk, "transfer"])
    # An agent of this group and another group at once contradict each other.
    both = {"transfer-agent": staff.agent2.pk, "transfer-group": "software", "transfer-reason": "x"}
    response = client.post(url, both)
    assert response.status_code == 400 and 'id="id_transfer-group_errors"' in response.content.decode()
    staff.agent2.roles.update(on_duty=False)
    response = client.post(url, {"transfer-agent": "", "transfer-group": "software", "transfer-reason": "软件问题"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.type) == (software_agent, "software")
    client.force_login(software_agent)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "问题类型随之改为该组处理的类型" in page  # the timeline line
