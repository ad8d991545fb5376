"""The ticket portal pages through Django's test client: what each role sees, forms and their errors,
actions that change the state, and nothing of another unit's tickets."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from tickets import services
from tickets.models import FollowUp, SupportSettings, Ticket, TicketAttachment, TicketEvent, TicketState

pytestmark = pytest.mark.django_db


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (30, 90, 168)).save(buffer, format="PNG")
    return buffer.getvalue()


def text_of(response) -> str:
    return response.content.decode()


def listed(response) -> set[int]:
    """The tickets a list or search result shows, by their rows."""
    return {int(pk) for pk in re.findall(r'<tr data-ticket-id="(\d+)"', text_of(response))}


def signed_in(client, user):
    client.force_login(user)
    return client


def detail_url(ticket: Ticket, part: str = "") -> str:
    url = reverse("tickets:detail", args=[ticket.pk])
    return f"{url}?part={part}" if part else url


def act(client, ticket: Ticket, action: str, **fields):
    """POST one action's form as the page does (fields carry the action's prefix)."""
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return client.post(reverse("tickets:action", args=[ticket.pk, action]), data)


def refresh(ticket: Ticket) -> Ticket:
    ticket.refresh_from_db()
    return ticket


VALID_QUESTION = {
    "title": "投影仪无法开机",
    "description": "三年级二班的投影仪指示灯常亮，无法开机",
    "type": "hardware",
    "priority": "P2",
    "contact_name": "张伟",
    "contact_info": "13800138000",
}


# --- Pages for each role ----------------------------------------------------------------------------
def test_signed_out_users_are_sent_to_the_login_page(client):
    response = client.get(reverse("tickets:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_navigation_leads_to_support_requests(client, teacher):
    page = text_of(signed_in(client, teacher).get(reverse("home")))
    assert f'href="{reverse("tickets:index")}"' in page


def test_a_teacher_sees_only_their_own_lists(client, teacher, new_ticket):
    ticket = new_ticket()
    response = signed_in(client, teacher).get(reverse("tickets:index"))
    assert response.status_code == 200
    page = text_of(response)
    assert ticket.number in page
    views = set(re.findall(r'data-view="(\w+)"', page))
    assert views == {"mine", "search"}
    for staff_view in ("assigned", "pool", "review", "handled"):
        assert client.get(reverse("tickets:index"), {"view": staff_view}).status_code == 404


def test_an_agent_gets_the_workbench_with_their_queue_first(client, staff, new_ticket):
    ticket = new_ticket()
    assert ticket.assignee == staff.agent
    response = signed_in(client, staff.agent).get(reverse("tickets:index"))
    page = text_of(response)
    assert response.status_code == 200
    assert {"mine", "assigned", "pool", "due_soon", "breached", "handled"} <= set(
        re.findall(r'data-view="(\w+)"', page)
    )
    assert 'aria-current="page">' in page and 'data-view="assigned" aria-current="page"' in page
    assert ticket.number in page
    for view in ("pool", "due_soon", "breached", "handled"):
        assert client.get(reverse("tickets:index"), {"view": view}).status_code == 200


def test_lists_mask_the_contact_info(client, staff, new_ticket):
    new_ticket(contact_info="13800138000")
    page = text_of(signed_in(client, staff.agent).get(reverse("tickets:index"), {"view": "handled"}))
    assert "138****8000" in page
    assert "13800138000" not in page


def test_a_reviewer_starts_on_the_review_queue(client, staff, new_ticket):
    ticket = new_ticket()
    signed_in(client, staff.agent)
    act(client, ticket, "accept")
    act(client, ticket, "answer", solution="请检查电源线。")
    client.force_login(staff.reviewer)
    page = text_of(client.get(reverse("tickets:index")))
    assert 'data-view="review" aria-current="page"' in page
    assert ticket.number in page


def test_the_list_refresh_is_just_the_list(client, teacher, new_ticket):
    ticket = new_ticket()
    response = signed_in(client, teacher).get(reverse("tickets:index"), headers={"HX-Request": "true"})
    page = text_of(response)
    assert ticket.number in page
    assert "<html" not in page


def test_supervisor_pages_are_for_unit_administrators(client, staff, teacher):
    signed_in(client, staff.supervisor)
    assert client.get(reverse("tickets:follow_ups")).status_code == 200
    assert client.get(reverse("tickets:settings")).status_code == 200
    client.force_login(teacher)
    assert client.get(reverse("tickets:follow_ups")).status_code == 403
    assert client.get(reverse("tickets:settings")).status_code == 403


# --- 问题咨询 ----------------------------------------------------------------------------------------
def test_the_question_form_offers_the_manual_fields_with_contact_defaults(client, teacher):
    teacher.phone = "13911112222"
    teacher.save()
    page = text_of(signed_in(client, teacher).get(reverse("tickets:create")))
    for name in ("title", "description", "type", "priority", "contact_name", "contact_info", "attachments"):
        assert f'name="{name}"' in page
    for value in ("hardware", "software", "consultation", "complaint", "P1", "P2", "P3", "P4"):
        assert f'value="{value}"' in page
    assert 'value="13911112222"' in page
    assert 'value="张伟"' in page


def test_asking_files_the_ticket_with_its_attachment_and_opens_it(client, teacher, staff):
    upload = SimpleUploadedFile("截图.png", png_bytes(), content_type="image/png")
    response = signed_in(client, teacher).post(reverse("tickets:create"), {**VALID_QUESTION, "attachments": [upload]})
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(ticket)
    assert (ticket.asker, ticket.priority, ticket.contact_info) == (teacher, "P2", "13800138000")
    assert ticket.number.startswith("TS")
    attachment = TicketAttachment.objects.get()
    assert (attachment.ticket, attachment.original_name, attachment.internal) == (ticket, "截图.png", False)
    page = text_of(client.get(response["Location"]))
    assert ticket.number in page
    assert "截图.png" in page
    assert reverse("tickets:attachment", args=[ticket.pk, attachment.pk]) in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": ""}, "description"),
        ({"type": "weather"}, "type"),
        ({"priority": "P9"}, "priority"),
        ({"contact_info": "abc"}, "contact_info"),
        ({"contact_info": "138"}, "contact_info"),
    ],
)
def test_bad_questions_show_errors_and_file_nothing(client, teacher, changes, field):
    response = signed_in(client, teacher).post(reverse("tickets:create"), {**VALID_QUESTION, **changes})
    assert response.status_code == 400
    assert f'id="id_{field}_errors"' in text_of(response)
    assert not Ticket.objects.exists()


def test_a_disguised_file_is_refused_before_the_question_is_filed(client, teacher):
    fake = SimpleUploadedFile("截图.png", b"MZ\x90\x00" + bytes(100), content_type="image/png")
    response = signed_in(client, teacher).post(reverse("tickets:create"), {**VALID_QUESTION, "attachments": [fake]})
    assert response.status_code == 400
    assert 'id="id_attachments_errors"' in text_of(response)
    assert not Ticket.objects.exists()


def test_a_user_without_a_unit_is_told_why_not_crashed(client, tree):
    from tests.factories import UserFactory

    nobody = UserFactory(username="no_unit", unit=None)
    response = signed_in(client, nobody).post(reverse("tickets:create"), VALID_QUESTION)
    assert response.status_code == 400
    assert 'class="errorlist nonfield"' in text_of(response)


# --- Another unit's ticket is not found -------------------------------------------------------------
def test_another_units_ticket_is_a_404_everywhere(client, staff, new_ticket, tianjin_teacher):
    ticket = new_ticket()
    for outsider in (tianjin_teacher, staff.tianjin_agent):
        client.force_login(outsider)
        assert client.get(detail_url(ticket)).status_code == 404
        assert client.get(detail_url(ticket, "main")).status_code == 404
        assert client.get(reverse("tickets:sla", args=[ticket.pk])).status_code == 404
        assert act(client, ticket, "reply", body="我来看看").status_code == 404
        assert act(client, ticket, "accept").status_code == 404
    assert refresh(ticket).state == TicketState.NEW
    assert not ticket.messages.exists()


def test_unknown_actions_and_parts_are_404(client, teacher, new_ticket):
    ticket = new_ticket()
    signed_in(client, teacher)
    assert client.post(reverse("tickets:action", args=[ticket.pk, "delete"])).status_code == 404
    assert client.get(detail_url(ticket, "secrets")).status_code == 404
    assert client.get(reverse("tickets:action", args=[ticket.pk, "accept"])).status_code == 405


# --- The manual's flow through the forms ------------------------------------------------------------
def test_accept_answer_approve_confirm_and_rate_through_the_page(client, teacher, staff, new_ticket):
    ticket = new_ticket()
    signed_in(client, staff.agent)
    page = text_of(client.get(detail_url(ticket)))
    assert 'data-action="accept"' in page
    assert 'data-action="answer"' not in page

    assert act(client, ticket, "accept").status_code == 302
    assert refresh(ticket).state == TicketState.IN_PROGRESS
    assert 'data-action="answer"' in text_of(client.get(detail_url(ticket)))

    assert act(client, ticket, "answer", solution="请检查投影仪电源线是否松动。").status_code == 302
    assert refresh(ticket).state == TicketState.PENDING_REVIEW

    # The asker does not read the answer before review.
    client.force_login(teacher)
    page = text_of(client.get(detail_url(ticket)))
    assert "请检查投影仪电源线是否松动" not in page
    assert 'data-action="confirm"' not in page

    client.force_login(staff.reviewer)
    page = text_of(client.get(detail_url(ticket)))
    assert 'data-action="approve"' in page and 'data-action="reject"' in page
    assert act(client, ticket, "approve", solution="请检查投影仪电源线是否松动，并重新插紧。").status_code == 302
    ticket = refresh(ticket)
    assert ticket.state == TicketState.ANSWERED
    assert ticket.solution == "请检查投影仪电源线是否松动，并重新插紧。"

    client.force_login(teacher)
    page = text_of(client.get(detail_url(ticket)))
    assert "并重新插紧" in page
    assert 'data-action="confirm"' in page and 'data-action="reopen"' in page
    assert act(client, ticket, "confirm").status_code == 302
    assert refresh(ticket).state == TicketState.RESOLVED
    assert act(client, ticket, "rate", rating="very_satisfied", feedback="很快就解决了").status_code == 302
    ticket = refresh(ticket)
    assert (ticket.state, ticket.rating) == (TicketState.CLOSED, "very_satisfied")

    page = text_of(client.get(detail_url(ticket)))
    kinds = re.findall(r'<li data-kind="(\w+)">', page)
    assert kinds[0] == "created"
    assert {"accepted", "answered", "confirmed", "rated"} <= set(kinds)
    # The asker's timeline: the approved answer arrived (已答复); nothing of the draft or its review.
    assert not {"answer_submitted", "reviewed"} & set(kinds) and kinds.count("answered") == 1
    assert 'data-action="' not in page  # nothing left to do on a closed ticket


def test_an_action_the_user_may_not_take_changes_nothing(client, teacher, new_ticket):
    ticket = new_ticket()
    response = act(signed_in(client, teacher), ticket, "accept")
    assert response.status_code == 302
    assert refresh(ticket).state == TicketState.NEW
    page = text_of(client.get(response["Location"]))
    assert 'class="error"' in page


def test_a_second_agent_accepting_a_taken_ticket_is_told_so(client, staff, new_ticket):
    ticket = new_ticket()
    act(signed_in(client, staff.agent), ticket, "accept")
    client.force_login(staff.agent2)
    response = act(client, ticket, "accept")
    assert response.status_code == 302
    assert refresh(ticket).assignee == staff.agent


@pytest.mark.parametrize(
    ("action", "fields", "field"),
    [
        ("answer", {"solution": "   "}, "solution"),
        ("request_info", {"question": ""}, "question"),
        ("priority", {"priority": "P1", "reason": ""}, "reason"),
        ("priority", {"priority": "P0", "reason": "影响全校"}, "priority"),
        ("reply", {"body": ""}, "body"),
        ("note", {"body": "x" * 10001}, "body"),
    ],
)
def test_bad_action_input_shows_the_error_on_the_page(client, staff, new_ticket, action, fields, field):
    ticket = new_ticket()
    act(signed_in(client, staff.agent), ticket, "accept")
    response = act(client, ticket, action, **fields)
    assert response.status_code == 400
    page = text_of(response)
    assert f'id="id_{action}-{field}_errors"' in page
    assert refresh(ticket).state == TicketState.IN_PROGRESS


def test_rejecting_needs_a_reason_and_sends_the_answer_back(client, staff, new_ticket):
    ticket = new_ticket()
    signed_in(client, staff.agent)
    act(client, ticket, "accept")
    act(client, ticket, "answer", solution="重启试试。")
    client.force_login(staff.reviewer)
    response = act(client, ticket, "reject", reason="")
    assert response.status_code == 400
    assert 'id="id_reject-reason_errors"' in text_of(response)
    assert act(client, ticket, "reject", reason="请写明具体步骤。").status_code == 302
    assert refresh(ticket).state == TicketState.IN_PROGRESS
    assert ticket.events.filter(kind=TicketEvent.Kind.REJECTED, comment="请写明具体步骤。").exists()


def test_asking_for_information_pauses_and_the_askers_reply_resumes(client, teacher, staff, new_ticket):
    ticket = new_ticket()
    signed_in(client, staff.agent)
    act(client, ticket, "accept")
    assert act(client, ticket, "request_info", question="请问是哪个型号？").status_code == 302
    assert refresh(ticket).state == TicketState.WAITING_ASKER

    client.force_login(teacher)
    page = text_of(client.get(detail_url(ticket)))
    assert "请问是哪个型号？" in page
    assert act(client, ticket, "reply", body="爱普生 CB-X05").status_code == 302
    assert refresh(ticket).state == TicketState.IN_PROGRESS


def test_changing_the_priority_needs_a_reason_and_is_on_the_timeline(client, staff, new_ticket):
    ticket = new_ticket(priority="P3")
    signed_in(client, staff.agent)
    assert act(client, ticket, "priority", priority="P1", reason="全校停课").status_code == 302
    assert refresh(ticket).priority == "P1"
    page = text_of(client.get(detail_url(ticket)))
    assert "全校停课" in page
    assert "P3 → P1" in page


def test_internal_notes_and_their_files_are_hidden_from_the_asker(client, teacher, staff, new_ticket):
    ticket = new_ticket()
    signed_in(client, staff.agent)
    act(client, ticket, "accept")
    act(client, ticket, "reply", body="我们已收到，马上处理。")
    client.post(
        reverse("tickets:action", args=[ticket.pk, "note"]),
        {"note-body": "疑似灯泡老化，需要更换", "note-attachments": [SimpleUploadedFile("内部.png", png_bytes())]},
    )
    assert TicketAttachment.objects.get().internal

    staff_page = text_of(client.get(detail_url(ticket)))
    assert "疑似灯泡老化" in staff_page and "内部.png" in staff_page

    client.force_login(teacher)
    asker_page = text_of(client.get(detail_url(ticket)))
    assert "我们已收到，马上处理。" in asker_page
    assert "疑似灯泡老化" not in asker_page
    assert "内部.png" not in asker_page
    assert 'data-action="note"' not in asker_page
    assert "疑似灯泡老化" not in text_of(client.get(detail_url(ticket, "main")))


def test_the_asker_cannot_write_notes_even_by_posting(client, teacher, new_ticket):
    ticket = new_ticket()
    act(signed_in(client, teacher), ticket, "note", body="我想偷偷写")
    assert not ticket.messages.exists()


# --- Live parts -------------------------------------------------------------------------------------
def test_each_live_part_is_a_fragment_marked_with_its_ticket(client, teacher, new_ticket):
    ticket = new_ticket()
    signed_in(client, teacher)
    for part, element_id in (
        ("main", "ticket-main"),
        ("side", "ticket-side"),
        ("actions", "ticket-actions"),
        ("compose", "ticket-compose"),
    ):
        page = text_of(client.get(detail_url(ticket, part)))
        assert "<html" not in page
        assert f'id="{element_id}" data-live-ticket="{ticket.pk}"' in page
    full = text_of(client.get(detail_url(ticket)))
    assert "js/tickets.js" in full


def test_the_sla_view_lists_each_target(client, teacher, staff, new_ticket):
    ticket = new_ticket(priority="P1")
    page = text_of(signed_in(client, teacher).get(reverse("tickets:sla", args=[ticket.pk])))
    assert set(re.findall(r'data-target="(\w+)"', page)) == {"acknowledge", "first_response", "resolution"}


# --- 答案查询 ----------------------------------------------------------------------------------------
def test_search_by_number_and_words_within_what_the_user_may_see(client, teacher, tianjin_teacher, new_ticket):
    ticket = new_ticket(title="投影仪无法开机")
    other = new_ticket(title="打印机卡纸", description="打印机卡纸，无法打印", type="hardware")
    search = reverse("tickets:search")
    signed_in(client, teacher)
    assert listed(client.get(search, {"number": ticket.number})) == {ticket.pk}
    assert listed(client.get(search, {"number": ticket.number[:-3]})) == {ticket.pk, other.pk}
    assert listed(client.get(search, {"q": "打印机"})) == {other.pk}
    assert listed(client.get(search, {"type": "software"})) == set()

    client.force_login(tianjin_teacher)
    assert listed(client.get(search, {"number": ticket.number})) == set()


def test_staff_search_by_unit_and_state(client, staff, new_ticket, tree):
    ticket = new_ticket()
    search = reverse("tickets:search")
    signed_in(client, staff.agent)
    assert listed(client.get(search, {"unit": tree.school_a.code, "state": "new"})) == {ticket.pk}
    assert listed(client.get(search, {"unit": tree.school_b.code})) == set()
    assert listed(client.get(search, {"scope": "mine"})) == set()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"created_from": "2024-05-02", "created_to": "2024-05-01"}, "created_to"),
        ({"created_from": "not-a-date"}, "created_from"),
        ({"state": "lost"}, "state"),
        ({"unit": "NOPE"}, "unit"),
    ],
)
def test_bad_search_input_is_a_form_error(client, staff, query, field):
    response = signed_in(client, staff.agent).get(reverse("tickets:search"), query)
    assert response.status_code == 400
    assert f'id="id_{field}_errors"' in text_of(response)


# --- Follow-ups and the review switch ---------------------------------------------------------------
def _closed_with_rating(client, teacher, staff, new_ticket, rating: str) -> Ticket:
    ticket = new_ticket()
    signed_in(client, staff.agent)
    act(client, ticket, "accept")
    act(client, ticket, "answer", solution="已更换灯泡。")
    client.force_login(staff.reviewer)
    act(client, ticket, "approve", solution="已更换灯泡。")
    client.force_login(teacher)
    act(client, ticket, "confirm")
    act(client, ticket, "rate", rating=rating, feedback="等了很久")
    return refresh(ticket)


def _follow_up_row(page: str, follow_up: FollowUp) -> str:
    row = page[page.index(f'data-follow-up-id="{follow_up.pk}"') :]
    return row[: row.index("</tr>")]


def test_a_follow_up_row_names_the_askers_school_and_is_a_live_region(client, teacher, staff, tree, new_ticket):
    """The supervisor follows up with the asker: the row names the asker's school (and contact), not
    the answering unit they supervise; the list refreshes itself when a ticket event arrives (the
    follow-up event, tickets.js), fetching its rows alone."""
    ticket = _closed_with_rating(client, teacher, staff, new_ticket, "neutral")
    follow_up = FollowUp.objects.get(ticket=ticket)
    client.force_login(staff.supervisor)
    page = text_of(client.get(reverse("tickets:follow_ups")))
    row = _follow_up_row(page, follow_up)
    assert tree.school_a.name in row and teacher.name in row and tree.haidian.name not in row
    region = page[page.index('id="follow-up-list"') - 5 :]
    region = region[: region.index(">")]
    assert "data-live-list" in region and 'hx-trigger="ticket-changed"' in region
    assert f'hx-get="{reverse("tickets:follow_ups")}"' in region
    # A second poor rating: the live region's own request brings its row, and nothing of the page around.
    other = new_ticket(title="电子白板无响应")
    other = services.ticket_accept(ticket=other, agent=other.assignee)
    other = services.ticket_submit_answer(ticket=other, agent=other.assignee, solution="重新校准。")
    other = services.ticket_approve(ticket=other, reviewer=staff.reviewer)
    other = services.ticket_confirm(ticket=other, asker=teacher)
    other = services.ticket_rate(ticket=other, asker=teacher, rating="dissatisfied", feedback="没解决")
    part = text_of(client.get(reverse("tickets:follow_ups"), HTTP_HX_REQUEST="true"))
    assert part.lstrip().startswith('<div id="follow-up-list"') and "<html" not in part
    assert _follow_up_row(part, FollowUp.objects.get(ticket=other)) and other.number in part


def test_a_poor_rating_lands_on_the_supervisors_follow_ups(client, teacher, staff, new_ticket):
    ticket = _closed_with_rating(client, teacher, staff, new_ticket, "dissatisfied")
    follow_up = FollowUp.objects.get(ticket=ticket)
    client.force_login(staff.supervisor)
    page = text_of(client.get(reverse("tickets:follow_ups")))
    assert ticket.number in page and "等了很久" in page

    url = reverse("tickets:follow_up_complete", args=[follow_up.pk])
    response = client.post(url, {"outcome": ""})
    assert response.status_code == 400
    assert 'id="id_outcome_errors"' in text_of(response)
    assert client.post(url, {"outcome": "已电话回访，老师表示理解。"}).status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.done_by == staff.supervisor
    assert f'data-follow-up-id="{follow_up.pk}"' not in text_of(client.get(reverse("tickets:follow_ups")))
    page = text_of(client.get(reverse("tickets:follow_ups"), {"done": "1"}))
    assert f'data-follow-up-id="{follow_up.pk}"' in page and "已电话回访" in page


def test_another_supervisors_follow_up_is_a_404(client, teacher, staff, new_ticket, tree):
    from accounts.models import Role
    from tests.factories import UserFactory, grant

    ticket = _closed_with_rating(client, teacher, staff, new_ticket, "neutral")
    outsider = UserFactory(username="tj_admin", unit=tree.tianjin, user_type="staff")
    grant(outsider, tree.tianjin, Role.UNIT_ADMIN)
    client.force_login(outsider)
    response = client.post(reverse("tickets:follow_up_complete", args=[ticket.follow_up.pk]), {"outcome": "看看"})
    assert response.status_code == 404


def test_a_unit_admin_turns_review_off_and_answers_go_straight_to_the_asker(client, teacher, staff, new_ticket, tree):
    signed_in(client, staff.supervisor)
    page = text_of(client.get(reverse("tickets:settings")))
    assert f'data-unit-id="{tree.haidian.pk}" data-review="on"' in page
    assert client.post(reverse("tickets:settings"), {"unit": tree.haidian.pk}).status_code == 302
    assert SupportSettings.objects.get(unit=tree.haidian).review_required is False
    assert f'data-unit-id="{tree.haidian.pk}" data-review="off"' in text_of(client.get(reverse("tickets:settings")))

    ticket = new_ticket()
    client.force_login(staff.agent)
    act(client, ticket, "accept")
    act(client, ticket, "answer", solution="已远程重启。")
    assert refresh(ticket).state == TicketState.ANSWERED


def test_a_unit_admin_cannot_switch_a_unit_they_do_not_administer(client, staff, tree):
    response = signed_in(client, staff.supervisor).post(
        reverse("tickets:settings"), {"unit": tree.tianjin.pk, "review_required": "on"}
    )
    assert response.status_code == 400
    assert not SupportSettings.objects.exists()


def test_files_refused_by_a_limit_are_reported_not_crashed(client, settings, teacher, new_ticket):
    settings.TICKET_ATTACHMENT_MAX_PER_TICKET = 1
    ticket = new_ticket()
    signed_in(client, teacher)
    # Files alone, from the reply box's one file control: attached to the ticket, no message.
    url = reverse("tickets:action", args=[ticket.pk, "reply"])
    response = client.post(url, {"reply-attachments": [SimpleUploadedFile("一.png", png_bytes())]}, follow=True)
    assert 'class="success"' in text_of(response)
    response = client.post(url, {"reply-attachments": [SimpleUploadedFile("二.png", png_bytes())]}, follow=True)
    page = text_of(response)
    assert response.status_code == 200
    assert "二.png" in page and 'class="error"' in page and 'class="success"' not in page
    assert list(ticket.attachments.values_list("original_name", flat=True)) == ["一.png"]
    assert not ticket.messages.exists()


def test_a_reply_with_neither_text_nor_file_is_a_form_error(client, teacher, new_ticket):
    ticket = new_ticket()
    response = act(signed_in(client, teacher), ticket, "reply", body="  ")
    assert response.status_code == 400
    assert 'id="id_reply-body_errors"' in text_of(response)
    assert "请写下消息或添加附件" in text_of(response)
    assert not ticket.messages.exists()


def test_each_compose_box_has_one_file_control(client, staff, teacher, new_ticket):
    """The reply box and the note box each carry one file input; there is no separate attach form."""
    ticket = new_ticket()
    for user, boxes in ((teacher, ("reply",)), (staff.agent, ("reply", "note"))):
        page = text_of(signed_in(client, user).get(reverse("tickets:detail", args=[ticket.pk])))
        compose = page[page.index('id="ticket-compose"') :]
        assert compose.count('type="file"') == len(boxes), user
        for box in boxes:
            form = compose[compose.index(f'data-action="{box}"') :]
            form = form[: form.index("</form>")]
            assert form.count('type="file"') == 1
        assert 'data-action="attach"' not in page
    # The retired attach form's address is gone from the portal (the API keeps its attach endpoint).
    assert client.post(reverse("tickets:action", args=[ticket.pk, "attach"])).status_code == 404


# --- Nothing of a draft answer or its review reaches the asker (issue 10, item 2) -------------------------
def test_the_askers_page_and_search_show_nothing_of_a_draft_or_its_review(client, teacher, staff, new_ticket):
    ticket = new_ticket()
    agent = staff.agent if ticket.assignee_id == staff.agent.pk else staff.agent2
    signed_in(client, agent)
    act(client, ticket, "accept")
    act(client, ticket, "answer", solution="请重启交换机后再试")
    client.force_login(staff.reviewer)
    act(client, ticket, "reject", reason="步骤不完整，请补充型号核对方法")
    client.force_login(agent)
    act(client, ticket, "answer", solution="请检查路由器的电源")
    assert refresh(ticket).state == TicketState.PENDING_REVIEW

    client.force_login(teacher)
    pages = [client.get(detail_url(ticket))] + [client.get(detail_url(ticket, part)) for part in ("main", "side")]
    for page in pages:
        assert page.status_code == 200
        html = text_of(page)
        for secret in ("交换机", "路由器", "步骤不完整", 'data-kind="rejected"'):
            assert secret not in html, secret
    assert 'id="ticket-solution"' not in text_of(pages[0])
    search = reverse("tickets:search")
    assert listed(client.get(search, {"q": "交换机"})) == set()
    assert listed(client.get(search, {"q": "路由器"})) == set()
    assert listed(client.get(search, {"q": "投影仪"})) == {ticket.pk}

    # The reviewer sees the rejection and its reason, and the draft to approve.
    client.force_login(staff.reviewer)
    html = text_of(client.get(detail_url(ticket)))
    assert "步骤不完整，请补充型号核对方法" in html and "请检查路由器的电源" in html

    # Approved with an edit: the asker reads the approved text, not that it was edited.
    act(client, ticket, "approve", solution="请更换三层教室的网线接头后再试")
    client.force_login(teacher)
    html = text_of(client.get(detail_url(ticket)))
    assert "请更换三层教室的网线接头后再试" in html
    for secret in ("交换机", "路由器", "步骤不完整"):
        assert secret not in html, secret
    with translation.override("en"):
        assert "Answer edited by the reviewer." not in text_of(client.get(detail_url(ticket, "side")))
    assert listed(client.get(search, {"q": "网线接头"})) == {ticket.pk}


# --- Lists follow the scope of the detail (issue 10, item 6) ----------------------------------------------
def test_an_agent_whose_role_was_removed_no_longer_lists_its_tickets_on_the_workbench(
    client, teacher, staff, new_ticket, tree
):
    from accounts import services as account_services
    from accounts.models import Role, RoleAssignment
    from tests.factories import UserFactory, grant
    from tickets import services

    ticket = new_ticket()
    agent = staff.agent if ticket.assignee_id == staff.agent.pk else staff.agent2
    services.ticket_accept(ticket=ticket, agent=agent)
    grant(agent, tree.heping, Role.SUPPORT_AGENT)  # still an agent elsewhere: the workbench stays
    signed_in(client, agent)
    assert listed(client.get(reverse("tickets:index"), {"view": "assigned"})) == {ticket.pk}
    operator = UserFactory(username="ops_root", unit=tree.root, is_staff=True, is_superuser=True)
    account_services.role_revoke(
        actor=operator, assignment=RoleAssignment.objects.get(user=agent, unit=tree.haidian, role=Role.SUPPORT_AGENT)
    )
    assert client.get(detail_url(ticket)).status_code == 404
    assert listed(client.get(reverse("tickets:index"), {"view": "assigned"})) == set()
    assert listed(client.get(reverse("tickets:search"), {"q": "投影仪"})) == set()
    assert listed(client.get(reverse("tickets:search"), {"number": ticket.number})) == set()


# --- Searches of only symbols (issue 10, item 6) -------------------------------------------------------
@pytest.mark.parametrize("words", ["😀😀", "！？……"])
def test_a_search_of_only_emoji_or_punctuation_says_so_and_lists_nothing(client, teacher, new_ticket, words):
    new_ticket()
    response = signed_in(client, teacher).get(reverse("tickets:search"), {"q": words})
    assert response.status_code == 400
    assert 'id="id_q_errors"' in text_of(response)
    assert listed(response) == set()


# --- Two asker replies at once (issue 10, item 6) ---------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_replies_sent_at_once_from_the_askers_pages_are_both_kept(teacher, staff):
    from django.test import Client

    from tests.concurrency import require_postgres, run_at_once
    from tickets import services
    from tickets.models import TicketMessage

    require_postgres()
    ticket = services.ticket_create(
        asker=teacher, title="投影仪无法开机", description="指示灯常亮", type="hardware", contact_info="13800000000"
    )
    agent = staff.agent if ticket.assignee_id == staff.agent.pk else staff.agent2
    services.ticket_accept(ticket=ticket, agent=agent)
    services.ticket_request_info(ticket=ticket, agent=agent, question="请提供投影仪型号")
    answers = []

    def reply(body):
        # Two tabs of the asker's, each with the page loaded while the ticket waited on the asker.
        client = Client()
        client.force_login(teacher)
        response = act(client, ticket, "reply", body=body)
        answers.append(response.status_code)

    errors = run_at_once([lambda body=body: reply(body) for body in ("型号是 EB-X41", "指示灯是橙色的")])
    assert errors == [] and answers == [302, 302]
    bodies = set(TicketMessage.objects.filter(ticket=ticket).values_list("body", flat=True))
    assert {"型号是 EB-X41", "指示灯是橙色的"} <= bodies
    assert refresh(ticket).state == TicketState.IN_PROGRESS
    assert TicketEvent.objects.filter(ticket=ticket, kind="info_provided").count() == 1
    client = Client()
    client.force_login(agent)
    page = text_of(client.get(detail_url(ticket)))
    assert "型号是 EB-X41" in page and "指示灯是橙色的" in page


# --- Avatars: the name's first character (issue 17) ---------------------------------------------------
def test_avatars_show_the_first_character_of_the_name_not_of_the_nickname(client, teacher, new_ticket):
    teacher.nickname = "小伟老师"
    teacher.save(update_fields=["nickname"])
    ticket = new_ticket()
    signed_in(client, teacher)
    act(client, ticket, "reply", body="补充：型号 EB-X41")
    page = text_of(client.get(reverse("tickets:detail", args=[ticket.pk])))
    avatars = re.findall(r'<span class="avatar[^"]*" aria-hidden="true">([^<]*)</span>', page)
    assert avatars and set(avatars) == {"张"}  # 张伟: the surname, as Chinese apps show it


# --- Timeline wording (issue 17) ----------------------------------------------------------------------
def test_the_timeline_says_what_happened_to_the_answer_and_at_a_breach(client, teacher, staff, new_ticket):
    """An answer sent to review is 提交答案待审核 (staff only), not 已答复; a breach with no pool above is
    已超时 with who was told, not 已升级."""
    for agent in (staff.city_agent, staff.top_agent):
        agent.roles.update(on_duty=False)
    ticket = new_ticket(priority="P2")
    ticket = services.ticket_accept(ticket=ticket, agent=ticket.assignee)
    services.sla_sweep(now=ticket.response_due_at + timedelta(minutes=1))
    services.ticket_submit_answer(ticket=refresh(ticket), agent=ticket.assignee, solution="请更换灯泡。")

    page = text_of(signed_in(client, staff.supervisor).get(detail_url(ticket)))
    timeline = page[page.index('id="ticket-timeline"') :]
    assert "提交答案待审核" in timeline and "已答复" not in timeline
    assert "已超时，已通知主管" in timeline and "已通知处理人和本单位管理员。" in timeline
    assert "已升级" not in timeline

    client.force_login(teacher)
    page = text_of(client.get(detail_url(ticket)))
    timeline = page[page.index('id="ticket-timeline"') :]
    # The asker: nothing of the draft, no 已答复 before an answer reached them.
    assert "提交答案待审核" not in timeline and "已答复" not in timeline and "请更换灯泡" not in page
