"""The notification centre: who is told of what, the API's list / count / mark read, preferences,
push devices and delivery (e-mail through Django's mail backend, push through the outbox)."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Notification, PushMessage
from accounts.services.notifications import notifications_deliver
from tickets import services

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=user).key}")
    return client


def kinds_of(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("kind", flat=True))


def accepted(new_ticket, staff):
    ticket = new_ticket()
    agent = staff.agent if ticket.assignee_id == staff.agent.pk else staff.agent2
    services.ticket_accept(ticket=ticket, agent=agent)
    return ticket, agent


def test_an_info_request_reaches_the_askers_bell_not_the_agents(new_ticket, staff, teacher):
    ticket, agent = accepted(new_ticket, staff)
    services.ticket_request_info(ticket=ticket, agent=agent, question="请提供投影仪型号")
    (note,) = Notification.objects.filter(user=teacher)
    assert note.kind == "ticket.info_requested"
    assert ticket.number in note.title and note.body == "请提供投影仪型号"
    assert note.url == f"/tickets/{ticket.pk}/" and (note.subject_type, note.subject_id) == ("ticket", ticket.pk)
    assert "ticket.info_requested" not in kinds_of(agent)


def test_new_tickets_are_told_to_their_pool_once_a_few_seconds_after_filing(new_ticket, staff, teacher):
    from datetime import timedelta

    from django.utils import timezone

    earlier = new_ticket()
    # The first run starts from what exists: tickets filed before it are not news.
    assert services.tickets_notify_new() == 0
    ticket = new_ticket(title="机房电脑无法开机")
    # Not yet: a ticket only a moment old may have a neighbour still committing.
    assert services.tickets_notify_new() == 0
    later = timezone.now() + timedelta(seconds=5)
    assert services.tickets_notify_new(now=later) > 0
    assert kinds_of(ticket.assignee) == ["ticket.assigned"]
    others = [a for a in (staff.agent, staff.agent2) if a.pk != ticket.assignee_id]
    assert others and all(kinds_of(agent) == ["ticket.new_in_pool"] for agent in others)
    assert kinds_of(teacher) == []
    assert not Notification.objects.filter(subject_id=earlier.pk).exists()
    # A second run (or one overlapping it) writes nothing twice.
    assert services.tickets_notify_new(now=later) == 0
    assert Notification.objects.filter(subject_id=ticket.pk).count() == 1 + len(others)


def test_an_answer_and_a_reopen_reach_the_asker_and_the_handler(new_ticket, staff, teacher):
    ticket, agent = accepted(new_ticket, staff)
    services.ticket_submit_answer(ticket=ticket, agent=agent, solution="请更换灯泡")
    # Under review: nothing in the asker's bell yet.
    assert kinds_of(teacher) == []
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    assert kinds_of(teacher) == ["ticket.answered"]
    services.ticket_reopen(ticket=ticket, asker=teacher, reason="还是不亮")
    assert "ticket.reopened" in kinds_of(agent)


def test_the_list_count_and_mark_read_are_the_users_own(new_ticket, staff, teacher):
    ticket, agent = accepted(new_ticket, staff)
    services.ticket_request_info(ticket=ticket, agent=agent, question="型号？")
    mine = Notification.objects.get(user=teacher)
    client = api(teacher)
    listed = client.get("/api/v1/notifications/").json()
    assert [item["id"] for item in listed["results"]] == [mine.pk]
    assert listed["results"][0]["read"] is False
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread_count": 1}
    # Another user neither sees it nor marks it read.
    other = api(agent)
    assert mine.pk not in [item["id"] for item in other.get("/api/v1/notifications/").json()["results"]]
    assert other.post("/api/v1/notifications/read/", {"ids": [mine.pk]}, format="json").json()["marked"] == 0
    assert client.post("/api/v1/notifications/read/", {"ids": [mine.pk]}, format="json").json() == {
        "marked": 1,
        "unread_count": 0,
    }
    assert client.get("/api/v1/notifications/?unread=true").json()["results"] == []
    assert client.post("/api/v1/notifications/read/", {}, format="json").status_code == 400
    assert client.get("/api/v1/notifications/?unread=maybe").status_code == 400


def test_preferences_choose_email_per_kind_and_delivery_follows_them(new_ticket, staff, teacher):
    client = api(teacher)
    prefs = {p["kind"]: p for p in client.get("/api/v1/notifications/preferences/").json()}
    assert prefs["ticket.info_requested"]["portal"] is True
    response = client.put(
        "/api/v1/notifications/preferences/",
        [{"kind": "ticket.info_requested", "email": False, "push": True}],
        format="json",
    )
    assert response.status_code == 200
    assert (
        client.put("/api/v1/notifications/preferences/", [{"kind": "nope", "email": True}], format="json").json()[
            "code"
        ]
        == "invalid"
    )
    teacher.email = "teacher@example.edu.cn"
    teacher.save(update_fields=["email"])
    ticket, agent = accepted(new_ticket, staff)
    services.ticket_request_info(ticket=ticket, agent=agent, question="型号？")
    note = Notification.objects.get(user=teacher)
    mail.outbox.clear()
    notifications_deliver([note.pk])
    assert mail.outbox == []
    client.put("/api/v1/notifications/preferences/", [{"kind": "ticket.info_requested", "email": True}], format="json")
    services.ticket_reply(ticket=ticket, author=teacher, body="型号是 EB-X51")
    services.ticket_request_info(ticket=ticket, agent=agent, question="序列号？")
    second = Notification.objects.filter(user=teacher).latest("id")
    notifications_deliver([second.pk])
    assert [m.to for m in mail.outbox] == [["teacher@example.edu.cn"]]
    assert "序列号？" in mail.outbox[0].body and f"/tickets/{ticket.pk}/" in mail.outbox[0].body


def test_a_registered_phone_gets_pushes_through_the_outbox(new_ticket, staff, teacher, caplog):
    client = api(teacher)
    response = client.post(
        "/api/v1/devices/", {"platform": "android", "token": "fcm-token-1", "name": "张老师的手机"}, format="json"
    )
    assert response.status_code == 201
    assert client.post("/api/v1/devices/", {"platform": "fax", "token": "x"}, format="json").status_code == 400
    ticket, agent = accepted(new_ticket, staff)
    services.ticket_request_info(ticket=ticket, agent=agent, question="型号？")
    note = Notification.objects.get(user=teacher)
    with caplog.at_level("INFO", logger="accounts.services.notifications"):
        assert notifications_deliver([note.pk])["pushes"] == 1
    (message,) = PushMessage.objects.all()
    assert message.sent_at is not None and message.title == note.title
    assert "push to android" in caplog.text
    # Delivery is idempotent: a retried task pushes nothing twice.
    assert notifications_deliver([note.pk])["pushes"] == 0
    device_id = response.json()["id"]
    assert api(agent).delete(f"/api/v1/devices/{device_id}/").status_code == 404
    assert client.delete(f"/api/v1/devices/{device_id}/").status_code == 204
