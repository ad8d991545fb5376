"""The notification centre in the portal: the bell on every page, the list (one's own only, newest
first, paginated), opening and marking read (another's is a 404), mark all, and the channels chosen
per kind, whose bad input is a form error rather than a 500."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import selectors, services
from accounts.models import Notification, NotificationPreference
from accounts.services import Draft
from accounts.services.notifications import notifications_deliver
from tickets import notifications as ticket_kinds

pytestmark = pytest.mark.django_db

LIST = reverse("accounts:notifications")


def _notify(user, title: str, url: str = "/tickets/1/", kind: str = ticket_kinds.INFO_REQUESTED) -> Notification:
    (notification,) = services.notify([Draft(user_ids=[user.pk], kind=kind, title=title, body="请补充型号", url=url)])
    return notification


@pytest.fixture
def client_of():
    def _client(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return _client


def test_the_bell_counts_unread_notifications_on_every_page(client_of, teacher):
    client = client_of(teacher)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'id="notification-bell"' in page and 'data-count="0"' in page
    for number in range(3):
        _notify(teacher, f"问题 {number}")
    Notification.objects.filter(title="问题 0").update(read_at="2026-01-01T00:00:00Z")
    page = client.get(reverse("home")).content.decode()
    assert 'data-count="2"' in page
    assert 'id="bell-count">2</span>' in page
    assert reverse("accounts:notifications") in page


def test_the_bell_costs_one_count_query(client_of, teacher):
    client = client_of(teacher)
    _notify(teacher, "未读")
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("accounts:profile"))
    table = Notification._meta.db_table
    touching = [query["sql"] for query in queries.captured_queries if table in query["sql"]]
    assert len(touching) == 1 and "COUNT(" in touching[0].upper(), touching


def test_the_list_shows_only_ones_own_newest_first(client_of, teacher, tianjin_teacher):
    _notify(teacher, "第一条")
    _notify(teacher, "第二条")
    _notify(tianjin_teacher, "别人的通知")
    response = client_of(teacher).get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "别人的通知" not in page
    assert page.index("第二条") < page.index("第一条")
    assert page.count('class="notification is-unread"') == 2


def test_the_list_is_paginated(client_of, teacher):
    for number in range(25):
        _notify(teacher, f"通知编号{number:02d}")
    client = client_of(teacher)
    first = client.get(LIST).content.decode()
    assert "通知编号24" in first and "通知编号05" in first and "通知编号04" not in first
    second = client.get(LIST, {"page": 2}).content.decode()
    assert "通知编号04" in second and "通知编号00" in second and "通知编号24" not in second
    # A page past the end or not a number is the nearest page, not an error.
    assert client.get(LIST, {"page": "x"}).status_code == 200
    assert client.get(LIST, {"page": 99}).status_code == 200


def test_opening_a_notification_marks_it_read_and_goes_to_its_ticket(client_of, teacher):
    notification = _notify(teacher, "请补充信息", url="/tickets/42/")
    response = client_of(teacher).get(reverse("accounts:notification_open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == "/tickets/42/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert selectors.notification_unread_count(user=teacher) == 0


def test_a_link_to_elsewhere_is_not_followed(client_of, teacher):
    notification = _notify(teacher, "奇怪的链接", url="https://evil.example.com/")
    response = client_of(teacher).get(reverse("accounts:notification_open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == LIST


def test_someone_elses_notification_is_a_404(client_of, teacher, tianjin_teacher):
    theirs = _notify(tianjin_teacher, "别人的通知")
    client = client_of(teacher)
    assert client.get(reverse("accounts:notification_open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("accounts:notification_read", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("accounts:notification_open", args=[999999])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_one_read(client_of, teacher):
    first, second = _notify(teacher, "一"), _notify(teacher, "二")
    client = client_of(teacher)
    response = client.post(reverse("accounts:notification_read", args=[first.pk]), {"next": LIST + "?page=1"})
    assert response.status_code == 302 and response["Location"] == LIST + "?page=1"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    # Marking read is a POST: a GET (a prefetching browser, a crawler) changes nothing.
    assert client.get(reverse("accounts:notification_read", args=[second.pk])).status_code == 405
    # ``next`` cannot send anyone to another site.
    response = client.post(
        reverse("accounts:notification_read", args=[second.pk]), {"next": "https://evil.example.com/"}
    )
    assert response["Location"] == LIST


def test_mark_all_read_leaves_others_alone(client_of, teacher, tianjin_teacher):
    for number in range(3):
        _notify(teacher, f"我的 {number}")
    theirs = _notify(tianjin_teacher, "别人的")
    client = client_of(teacher)
    response = client.post(reverse("accounts:notifications_read_all"), follow=True)
    assert response.status_code == 200
    assert selectors.notification_unread_count(user=teacher) == 0
    assert selectors.notification_unread_count(user=tianjin_teacher) == 1
    page = response.content.decode()
    assert 'class="notification is-unread"' not in page and 'id="mark-all-read"' not in page
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_preferences_show_every_kind_with_its_defaults(client_of, teacher):
    page = client_of(teacher).get(LIST).content.decode()
    # Info requested reaches e-mail by default, a new question in the pool does not.
    assert f'name="email" value="{ticket_kinds.INFO_REQUESTED}" checked' in page
    assert f'name="email" value="{ticket_kinds.NEW_IN_POOL}">' in page
    assert f'name="push" value="{ticket_kinds.NEW_IN_POOL}" checked' in page


def test_preferences_are_saved(client_of, teacher):
    client = client_of(teacher)
    response = client.post(LIST, {"email": [ticket_kinds.NEW_IN_POOL], "push": [ticket_kinds.ANSWERED]})
    assert response.status_code == 302 and response["Location"] == LIST
    chosen = {row["kind"]: row for row in selectors.notification_preferences_of(user=teacher)}
    assert chosen[ticket_kinds.NEW_IN_POOL]["email"] is True
    # Unticked boxes are choices too: info requested (e-mail by default) is now off.
    assert chosen[ticket_kinds.INFO_REQUESTED]["email"] is False
    assert chosen[ticket_kinds.ANSWERED]["push"] is True
    assert chosen[ticket_kinds.NEW_IN_POOL]["push"] is False
    page = client.get(LIST).content.decode()
    assert f'name="email" value="{ticket_kinds.NEW_IN_POOL}" checked' in page
    assert f'name="email" value="{ticket_kinds.INFO_REQUESTED}">' in page


def test_an_unknown_kind_is_a_form_error_not_a_500(client_of, teacher):
    response = client_of(teacher).post(LIST, {"email": ["ticket.no_such_kind"], "push": [ticket_kinds.ANSWERED]})
    assert response.status_code == 400
    assert "ticket.no_such_kind" in response.context["form"].errors["email"][0]
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert not NotificationPreference.objects.filter(user=teacher).exists()


def test_pages_need_a_signed_in_user(client):
    response = client.get(LIST)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_email_goes_to_those_who_chose_it(teacher, tianjin_teacher, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    teacher.email = "zhangwei@example.edu.cn"
    tianjin_teacher.email = "wangfang@example.edu.cn"
    teacher.save(update_fields=["email"])
    tianjin_teacher.save(update_fields=["email"])
    services.notification_preferences_set(user=teacher, choices={ticket_kinds.INFO_REQUESTED: {"email": True}})
    services.notification_preferences_set(user=tianjin_teacher, choices={ticket_kinds.INFO_REQUESTED: {"email": False}})
    mail.outbox.clear()
    created = services.notify(
        [
            Draft(
                user_ids=[teacher.pk, tianjin_teacher.pk],
                kind=ticket_kinds.INFO_REQUESTED,
                title="请补充信息：TS20261205001 投影仪无法开机",
                body="请提供投影仪型号",
                url="/tickets/7/",
            )
        ]
    )
    result = notifications_deliver([n.pk for n in created])
    assert result["emails"] == 1
    assert [message.to for message in mail.outbox] == [["zhangwei@example.edu.cn"]]
    assert "请补充信息：TS20261205001" in mail.outbox[0].subject
    assert "请提供投影仪型号" in mail.outbox[0].body and "/tickets/7/" in mail.outbox[0].body
