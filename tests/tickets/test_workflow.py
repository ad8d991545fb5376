"""问题回答 → 答案审核 → 接收答案: replies, notes, review (on and off), confirmation, rating and the
follow-up a poor rating opens."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tickets import selectors, services
from tickets.models import FollowUp, Ticket, TicketEvent, TicketMessage, TicketState

pytestmark = pytest.mark.django_db


def _accepted(new_ticket, staff, **extra):
    ticket = new_ticket(**extra)
    assert ticket.assignee == staff.agent
    return services.ticket_accept(ticket=ticket, agent=staff.agent)


def _kinds(ticket):
    return list(ticket.events.order_by("id").values_list("kind", flat=True))


def test_the_manual_flow_from_question_to_rating(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    ticket = services.ticket_request_info(ticket=ticket, agent=staff.agent, question="请提供投影仪型号")
    assert ticket.state == TicketState.WAITING_ASKER and ticket.paused_at is not None
    services.ticket_reply(ticket=ticket, author=teacher, body="型号是 EB-X41")
    ticket.refresh_from_db()
    assert ticket.state == TicketState.IN_PROGRESS and ticket.paused_at is None
    services.ticket_add_note(ticket=ticket, author=staff.agent, body="疑似灯泡老化，需上门")
    ticket = services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="更换灯泡后恢复正常")
    assert ticket.state == TicketState.PENDING_REVIEW
    ticket = services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    assert ticket.state == TicketState.ANSWERED and ticket.first_response_at is not None
    ticket = services.ticket_confirm(ticket=ticket, asker=teacher)
    assert ticket.state == TicketState.RESOLVED and ticket.resolved_at is not None
    ticket = services.ticket_rate(ticket=ticket, asker=teacher, rating="very_satisfied", feedback="很快")
    assert (ticket.state, ticket.rating, ticket.feedback) == (TicketState.CLOSED, "very_satisfied", "很快")
    assert ticket.closed_at is not None
    assert not FollowUp.objects.exists()
    assert _kinds(ticket) == [
        "created",
        "routed",
        "assigned",
        "accepted",
        "info_requested",
        "info_provided",
        "answer_submitted",
        "reviewed",
        "confirmed",
        "rated",
    ]
    # The asker sees the question and the reply, never the internal note.
    asker_view = [m.body for m in selectors.ticket_messages(user=teacher, ticket=ticket)]
    assert asker_view == ["请提供投影仪型号", "型号是 EB-X41"]
    staff_view = [m.body for m in selectors.ticket_messages(user=staff.reviewer, ticket=ticket)]
    assert "疑似灯泡老化，需上门" in staff_view


def test_reviewer_edits_and_approves_and_the_timeline_says_so(new_ticket, staff):
    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="重启")
    ticket = services.ticket_approve(ticket=ticket, reviewer=staff.reviewer, solution="请长按电源键 5 秒重启投影仪")
    assert ticket.solution == "请长按电源键 5 秒重启投影仪"
    reviewed = ticket.events.get(kind=TicketEvent.Kind.REVIEWED)
    assert reviewed.actor == staff.reviewer and reviewed.data["solution"] == ticket.solution
    assert "电源 源键" in ticket.search.text


def test_reject_sends_the_answer_back_with_the_reason(new_ticket, staff):
    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="不知道")
    with pytest.raises(ValidationError) as exc:
        services.ticket_reject(ticket=ticket, reviewer=staff.reviewer, reason=" ")
    assert "reason" in exc.value.message_dict
    ticket = services.ticket_reject(ticket=ticket, reviewer=staff.reviewer, reason="答案不完整")
    assert ticket.state == TicketState.IN_PROGRESS
    assert ticket.events.get(kind=TicketEvent.Kind.REJECTED).comment == "答案不完整"


def test_only_a_reviewer_of_the_answering_unit_reviews(new_ticket, staff, tree):
    from accounts.models import Role
    from tests.factories import UserFactory, grant

    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="答案")
    city_reviewer = UserFactory(username="bj_rev", unit=tree.beijing)
    grant(city_reviewer, tree.beijing, Role.ANSWER_REVIEWER)
    for outsider in (city_reviewer, staff.agent, staff.agent2):
        with pytest.raises(ValidationError) as exc:
            services.ticket_approve(ticket=ticket, reviewer=outsider)
        assert "reviewer" in exc.value.message_dict
    assert Ticket.objects.get(pk=ticket.pk).state == TicketState.PENDING_REVIEW


def test_a_unit_that_turned_review_off_answers_the_asker_directly(new_ticket, staff, tree):
    services.support_settings_set(unit=tree.haidian, admin=staff.supervisor, review_required=False)
    ticket = _accepted(new_ticket, staff)
    ticket = services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="已远程修复")
    assert ticket.state == TicketState.ANSWERED and ticket.first_response_at is not None


def test_only_the_units_administrators_switch_review(staff, tree, teacher):
    for outsider in (staff.agent, teacher):
        with pytest.raises(ValidationError):
            services.support_settings_set(unit=tree.haidian, admin=outsider, review_required=False)
    assert selectors.review_required(unit_id=tree.haidian.pk) is True


def test_only_the_handler_answers_and_asks(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    for other in (staff.agent2, teacher):
        with pytest.raises(ValidationError):
            services.ticket_submit_answer(ticket=ticket, agent=other, solution="x")
        with pytest.raises(ValidationError):
            services.ticket_request_info(ticket=ticket, agent=other, question="x")


def test_the_asker_cannot_write_internal_notes_and_outsiders_cannot_reply(new_ticket, staff, teacher, tianjin_teacher):
    ticket = new_ticket()
    with pytest.raises(ValidationError):
        services.ticket_add_note(ticket=ticket, author=teacher, body="内部")
    with pytest.raises(ValidationError):
        services.ticket_reply(ticket=ticket, author=tianjin_teacher, body="插一句")
    with pytest.raises(ValidationError):
        services.ticket_add_note(ticket=ticket, author=staff.tianjin_agent, body="插一句")
    assert not TicketMessage.objects.exists()


@pytest.mark.parametrize("rating", ["neutral", "dissatisfied"])
def test_a_poor_rating_opens_a_follow_up_due_in_24_hours(new_ticket, staff, teacher, rating):
    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="答案")
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    services.ticket_confirm(ticket=ticket, asker=teacher)
    before = timezone.now()
    ticket = services.ticket_rate(ticket=ticket, asker=teacher, rating=rating, feedback="等了很久")
    follow_up = FollowUp.objects.get(ticket=ticket)
    assert follow_up.unit == ticket.pool_unit
    assert before + timedelta(hours=24) <= follow_up.due_at <= timezone.now() + timedelta(hours=24)
    assert list(selectors.follow_ups_for(user=staff.supervisor, open_only=True)) == [follow_up]
    assert not selectors.follow_ups_for(user=staff.agent).exists()
    with pytest.raises(ValidationError):
        services.follow_up_complete(follow_up=follow_up, user=staff.agent, outcome="回访")
    with pytest.raises(ValidationError) as exc:
        services.follow_up_complete(follow_up=follow_up, user=staff.supervisor, outcome="")
    assert "outcome" in exc.value.message_dict
    done = services.follow_up_complete(follow_up=follow_up, user=staff.supervisor, outcome="已电话回访，致歉")
    assert done.done_at is not None and done.done_by == staff.supervisor
    with pytest.raises(ValidationError):
        services.follow_up_complete(follow_up=follow_up, user=staff.supervisor, outcome="再次")
    assert {"follow_up", "follow_up_done"} <= set(_kinds(ticket))


def test_rating_is_checked_and_only_the_asker_rates_once(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="答案")
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    with pytest.raises(ValidationError) as exc:
        services.ticket_rate(ticket=ticket, asker=teacher, rating="satisfied")
    assert "state" in exc.value.message_dict  # not confirmed yet
    services.ticket_confirm(ticket=ticket, asker=teacher)
    with pytest.raises(ValidationError) as exc:
        services.ticket_rate(ticket=ticket, asker=teacher, rating="great")
    assert "rating" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.ticket_rate(ticket=ticket, asker=staff.agent, rating="satisfied")
    services.ticket_rate(ticket=ticket, asker=teacher, rating="satisfied")
    with pytest.raises(ValidationError):
        services.ticket_rate(ticket=ticket, asker=teacher, rating="dissatisfied")
    assert Ticket.objects.get(pk=ticket.pk).rating == "satisfied"


def test_the_asker_reopens_an_answer_that_did_not_help(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="答案")
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    with pytest.raises(ValidationError):
        services.ticket_reopen(ticket=ticket, asker=teacher, reason="")
    ticket = services.ticket_reopen(ticket=ticket, asker=teacher, reason="还是打不开")
    assert ticket.state == TicketState.IN_PROGRESS and ticket.assignee == staff.agent
    assert "reopen" not in selectors.ticket_allowed_actions(user=teacher, ticket=ticket)
    assert "answer" in selectors.ticket_allowed_actions(user=staff.agent, ticket=ticket)


def test_resolved_tickets_left_unrated_are_archived_after_a_week(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="答案")
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    services.ticket_confirm(ticket=ticket, asker=teacher)
    assert services.tickets_archive_resolved(now=timezone.now() + timedelta(days=6)) == 0
    assert services.tickets_archive_resolved(now=timezone.now() + timedelta(days=8)) == 1
    assert services.tickets_archive_resolved(now=timezone.now() + timedelta(days=8)) == 0
    assert Ticket.objects.get(pk=ticket.pk).state == TicketState.CLOSED


def test_allowed_actions_follow_role_and_state(new_ticket, staff, teacher, tianjin_teacher):
    ticket = new_ticket()
    assert selectors.ticket_allowed_actions(user=staff.agent, ticket=ticket)[:1] == ["accept"]
    assert "accept" not in selectors.ticket_allowed_actions(user=staff.agent2, ticket=ticket)
    assert "note" not in selectors.ticket_allowed_actions(user=teacher, ticket=ticket)
    assert selectors.ticket_allowed_actions(user=tianjin_teacher, ticket=ticket) == []


# What a page offers in each state to someone who is asker, handling agent, reviewer and supervisor
# at once, of a ticket not yet rated: the behaviour before the actions were read off the table.
OFFERED_TO_EVERYONE = {
    TicketState.NEW: [
        "accept",
        "priority",
        "transfer",
        "forward",
        "merge",
        "close_invalid",
        "withdraw",
        "reply",
        "attach",
        "note",
    ],
    TicketState.IN_PROGRESS: [
        "request_info",
        "answer",
        "priority",
        "transfer",
        "forward",
        "merge",
        "close_invalid",
        "withdraw",
        "reply",
        "attach",
        "note",
    ],
    TicketState.WAITING_ASKER: ["priority", "merge", "close_invalid", "withdraw", "reply", "attach", "note"],
    TicketState.PENDING_REVIEW: [
        "priority",
        "approve",
        "reject",
        "merge",
        "close_invalid",
        "withdraw",
        "reply",
        "attach",
        "note",
    ],
    TicketState.ANSWERED: ["priority", "confirm", "reopen", "reply", "attach", "note"],
    TicketState.RESOLVED: ["priority", "reopen", "rate", "reply", "attach", "note"],
    TicketState.CLOSED: [],
}


def test_allowed_actions_are_read_off_the_transition_table(monkeypatch):
    from accounts.models import User

    assert set(selectors.PAGE_TRANSITIONS.values()) <= set(services.TRANSITIONS)
    assert set(selectors.FINAL_STATES) == {TicketState.CLOSED.value}
    user = User(pk=1, username="everyone")
    monkeypatch.setattr(selectors, "ticket_capabilities", lambda **kwargs: {"asker", "agent", "reviewer", "supervisor"})
    for state in TicketState.values:
        ticket = Ticket(state=state, assignee_id=user.pk, rating="")
        offered = selectors.ticket_allowed_actions(user=user, ticket=ticket)
        assert offered == OFFERED_TO_EVERYONE[state], state
        # Walk the table: a transition the page offers is one the table lets start here, and the
        # other way round (for the actions a page offers at all).
        for page_action, action in selectors.PAGE_TRANSITIONS.items():
            starts, _to = services.TRANSITIONS[action]
            assert (page_action in offered) == (state in starts), (state, page_action)
    rated = Ticket(state=TicketState.RESOLVED, assignee_id=user.pk, rating="satisfied")
    assert "rate" not in selectors.ticket_allowed_actions(user=user, ticket=rated)


def test_admin_shows_follow_ups_and_support_settings(client, new_ticket, staff, teacher, tree):
    from django.urls import reverse

    from tests.factories import UserFactory

    ticket = _accepted(new_ticket, staff)
    services.ticket_add_note(ticket=ticket, author=staff.agent, body="内部备注")
    services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="答案")
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    services.ticket_confirm(ticket=ticket, asker=teacher)
    services.ticket_rate(ticket=ticket, asker=teacher, rating="dissatisfied")
    services.support_settings_set(unit=tree.haidian, admin=staff.supervisor, review_required=False)
    client.force_login(UserFactory(username="root_admin", is_staff=True, is_superuser=True))
    # Pool turns are internal state and stay out of the back office (tests/helpdesk/test_admin.py).
    for name in ("followup", "supportsettings"):
        page = client.get(reverse(f"admin:tickets_{name}_changelist"))
        assert page.status_code == 200, name
    assert ticket.number in client.get(reverse("admin:tickets_followup_changelist")).content.decode()
    detail = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "内部备注" in detail


def test_the_agents_first_public_reply_is_the_first_response(new_ticket, staff, teacher):
    ticket = _accepted(new_ticket, staff)
    services.ticket_add_note(ticket=ticket, author=staff.agent, body="内部备注")
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None
    services.ticket_reply(ticket=ticket, author=teacher, body="还在等")
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None
    services.ticket_reply(ticket=ticket, author=staff.agent, body="已收到，正在排查")
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None and ticket.next_due_at == ticket.resolution_due_at
