"""The notification centre in real browsers (issue 12's proof): a teacher waits on the home page, the
agent handling the teacher's question asks for more information from the ticket page, and without a
reload the teacher's bell counts one, a toast shows what happened and the tab's title says "(1) ";
the toast opens the ticket (and marks the notification read, which the teacher's other device hears);
the e-mail the teacher chose is sent when the delivery task runs. At a laptop's and a phone's size.

Runs on the ASGI server of tests/browser/conftest.py: live updates need the websocket.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import HandlingGroup, Notification, Role
from accounts.services import Draft
from accounts.services.notifications import notifications_deliver
from tests.factories import UserFactory, grant
from tickets import notifications as ticket_kinds
from tickets import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
QUESTION = "请问投影仪是什么型号？灯泡用了多久？"


def sign_in(page, account: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(account)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    expect(page.locator(".welcome")).to_be_visible()


def live(page) -> None:
    """Wait for the page's websocket: what is sent before it opens would reach it only on resume."""
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "open")


def assert_no_sideways_scroll(page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"{what} scrolls sideways ({width}px)"


@pytest.fixture
def asked(teacher, tree):
    """The teacher's question, accepted by 海淀区's agent; the teacher has an e-mail address."""
    for code, name in (("hardware", "硬件"), ("software", "软件")):
        HandlingGroup.objects.get_or_create(code=code, defaults={"name": name})
    agent = UserFactory(username="hd_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    grant(agent, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
    teacher.email = "zhangwei@example.edu.cn"
    teacher.save(update_fields=["email"])
    ticket = services.ticket_create(
        asker=teacher,
        title="三年级二班投影仪无法开机",
        description="指示灯常亮，按电源键没有反应。",
        type="hardware",
        priority="P2",
        contact_info="13800138000",
    )
    return services.ticket_accept(ticket=ticket, agent=agent), agent


@pytest.mark.parametrize("size", SIZES)
def test_the_teacher_on_the_home_page_is_told_live_when_the_agent_asks_for_information(
    open_browser, asgi_server, asked, password, screenshot, settings, size
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ticket, _agent = asked

    # The teacher waits on the home page, and has the notification centre open on another device
    # (its own session: an event is not echoed to the device whose action caused it).
    home = open_browser()
    home.set_viewport_size(SIZES[size])
    # The strict Content-Security-Policy: the bell, the toast and the title run without a violation.
    home.add_init_script(
        "window.__violations = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    sign_in(home, "teacher_zw", password)
    centre = open_browser()
    centre.set_viewport_size(SIZES[size])
    sign_in(centre, "teacher_zw", password)
    centre.goto("/accounts/notifications/")
    bell = home.locator("#notification-bell")
    expect(bell).to_be_visible()
    expect(bell).to_have_attribute("data-count", "0")
    expect(home.locator("#bell-count")).to_be_hidden()
    for page in (home, centre):
        live(page)
    # Never reloaded from here on: a marker on the window would not survive a reload.
    home.evaluate("window.__sameDocument = true")
    assert not home.title().startswith("(")

    # The agent asks for more information on the ticket's page.
    agent = open_browser()
    sign_in(agent, "hd_agent", password)
    agent.goto(f"/tickets/{ticket.pk}/")
    form = agent.locator('form[data-action="request_info"]')
    form.locator("xpath=ancestor::details[1]/summary").click()
    form.locator("textarea").fill(QUESTION)
    form.locator("button[type=submit]").click()
    expect(agent.locator("#ticket-state")).to_have_attribute("data-state", "waiting_asker")

    # The bell counts one, a toast says what happened, the tab's title carries the count.
    expect(home.locator("#bell-count")).to_have_text("1", timeout=4000)
    expect(bell).to_have_attribute("data-count", "1")
    toast = home.locator(".toast")
    expect(toast).to_have_count(1)
    expect(toast).to_contain_text(ticket.number)
    expect(toast).to_contain_text(QUESTION)
    expect(home).to_have_title(re.compile(r"^\(1\) "))
    assert home.evaluate("window.__sameDocument") is True
    assert home.evaluate("window.__violations") == []
    # The bell stays in the window at a phone's width too, and nothing scrolls sideways.
    box = bell.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"], box
    toast_box = toast.bounding_box()
    assert toast_box["x"] >= 0 and toast_box["x"] + toast_box["width"] <= SIZES[size]["width"], toast_box
    assert_no_sideways_scroll(home, "the home page with a toast")
    expect(centre.locator("#bell-count")).to_have_text("1")
    # The other device's open list shows the new entry on top, unread, without a reload.
    fresh = centre.locator("#notification-list .notification").first
    expect(fresh).to_contain_text(ticket.number)
    expect(fresh).to_have_class(re.compile("is-unread"))
    expect(centre.locator("#notification-list .empty")).to_have_count(0)
    expect(centre.locator("#notifications-unread")).to_have_attribute("data-count", "1")
    screenshot(home, f"notification-toast-{size}")

    notification = Notification.objects.get(user__username="teacher_zw", kind=ticket_kinds.INFO_REQUESTED)
    assert notification.url == f"/tickets/{ticket.pk}/"

    # The teacher chose e-mail for this kind (its default): the delivery task sends one.
    mail.outbox.clear()
    assert notifications_deliver([notification.pk])["emails"] == 1
    assert [message.to for message in mail.outbox] == [["zhangwei@example.edu.cn"]]
    assert ticket.number in mail.outbox[0].subject and f"/tickets/{ticket.pk}/" in mail.outbox[0].body

    # The other device's list, opened now, shows it unread.
    centre.reload()
    entry = centre.locator(f'#notification-list [data-notification-id="{notification.pk}"]')
    expect(entry).to_have_class(re.compile("is-unread"))
    expect(entry.locator("a.notification-title")).to_have_attribute(
        "href", f"/accounts/notifications/{notification.pk}/open/"
    )
    assert_no_sideways_scroll(centre, "the notification centre")
    screenshot(centre, f"notification-centre-unread-{size}")
    live(centre)

    # The toast opens the ticket, and the notification is read: here and on the other device.
    toast.locator("a.toast-link").click()
    expect(home).to_have_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    expect(home.locator("#ticket-conversation")).to_contain_text(QUESTION)
    expect(home.locator("#bell-count")).to_be_hidden()
    assert not home.title().startswith("(")
    notification.refresh_from_db()
    assert notification.read_at is not None
    expect(centre.locator("#bell-count")).to_be_hidden(timeout=4000)
    expect(centre).not_to_have_title(re.compile(r"^\("))
    expect(entry).not_to_have_class(re.compile("is-unread"))
    expect(entry.locator(".notification-read-form")).to_have_count(0)

    # The list after a reload: the entry, read, linking to the ticket.
    centre.reload()
    expect(entry).to_contain_text(ticket.number)
    expect(entry).not_to_have_class(re.compile("is-unread"))
    assert_no_sideways_scroll(centre, "the notification centre")
    screenshot(centre, f"notification-centre-{size}")
    entry.locator("a.notification-title").click()
    expect(centre).to_have_url(re.compile(rf"/tickets/{ticket.pk}/$"))

    # A toast nobody touches hides by itself (after 8 s); the count stays on the bell.
    live(home)
    asgi_server.call(
        account_services.notify,
        [
            Draft(
                user_ids=[notification.user_id],
                kind=ticket_kinds.ANSWERED,
                title=f"您的问题已答复：{ticket.number}",
                url=f"/tickets/{ticket.pk}/",
            )
        ],
    )
    expect(home.locator(".toast")).to_have_count(1, timeout=4000)
    expect(home.locator("#bell-count")).to_have_text("1")
    expect(home.locator(".toast")).to_have_count(0, timeout=12_000)
    expect(home.locator("#bell-count")).to_have_text("1")
    expect(home).to_have_title(re.compile(r"^\(1\) "))
