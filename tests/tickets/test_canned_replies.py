"""常用回复: unit administrators keep their units' canned replies in the portal; staff see those of
their units and of every unit above, in the compose box and over the API; nobody reaches another
subtree's."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tickets import selectors
from tickets.models import CannedReply

pytestmark = pytest.mark.django_db

PAGE = "/tickets/canned-replies/"


@pytest.fixture
def replies(tree):
    return {
        "haidian": CannedReply.objects.create(unit=tree.haidian, title="重启投影仪", body="请长按电源键 5 秒重启。"),
        "beijing": CannedReply.objects.create(unit=tree.beijing, title="报修电话", body="北京市电教馆：010-12345678"),
        "tianjin": CannedReply.objects.create(unit=tree.heping, title="和平区专用", body="天津的回复"),
    }


def test_staff_see_their_units_and_those_above(staff, teacher, replies):
    assert {r.title for r in selectors.canned_replies(user=staff.agent)} == {"重启投影仪", "报修电话"}
    assert {r.title for r in selectors.canned_replies(user=staff.tianjin_agent)} == {"和平区专用"}
    assert list(selectors.canned_replies(user=teacher)) == []
    client = APIClient()
    client.force_authenticate(staff.agent)
    body = client.get("/api/v1/tickets/canned-replies/").json()
    assert [row["title"] for row in body] == ["报修电话", "重启投影仪"]  # the province's first (tree order)
    assert body[1]["unit"]["name"] == "海淀区"


def test_the_compose_box_offers_them_to_staff_only(client, staff, teacher, new_ticket, replies):
    ticket = new_ticket()
    client.force_login(staff.agent)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-canned-target="id_reply-body"' in page
    assert 'data-body="请长按电源键 5 秒重启。"' in page
    assert "天津的回复" not in page
    client.force_login(teacher)
    assert "data-canned-target" not in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_an_administrator_adds_and_deletes_in_their_subtree(client, staff, tree, replies):
    client.force_login(staff.supervisor)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "重启投影仪" in page.content.decode() and "和平区专用" not in page.content.decode()
    response = client.post(PAGE, {"unit": tree.haidian.pk, "title": "网络故障", "body": "请先重启交换机。"})
    assert response.status_code == 302
    assert CannedReply.objects.filter(unit=tree.haidian, title="网络故障", created_by=staff.supervisor).exists()
    # Another subtree's unit is no choice: a form error, nothing added.
    response = client.post(PAGE, {"unit": tree.heping.pk, "title": "越权", "body": "不应保存"})
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    response = client.post(PAGE, {"unit": tree.haidian.pk, "title": " ", "body": ""})
    assert response.status_code == 400
    assert not CannedReply.objects.filter(title="越权").exists()
    # Deleting: one's own, yes; another subtree's or the province's above, a 404 and still there.
    assert client.post(f"{PAGE}{replies['haidian'].pk}/delete/").status_code == 302
    assert not CannedReply.objects.filter(pk=replies["haidian"].pk).exists()
    for other in (replies["tianjin"], replies["beijing"]):
        assert client.post(f"{PAGE}{other.pk}/delete/").status_code == 404
        assert CannedReply.objects.filter(pk=other.pk).exists()


def test_the_page_is_for_administrators_only(client, staff, teacher):
    for user in (staff.agent, teacher):
        client.force_login(user)
        assert client.get(PAGE).status_code == 404
