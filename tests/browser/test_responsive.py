"""Every portal page at a phone's 390×844 and a laptop's 1366×900: screenshots into test-artifacts/
for a person to look at, and checks a person would make: no page scrolls sideways, a list's rows
are cards on the phone with the title on one line and state, handler and deadline in view, the
navigation folds into a menu that reaches 账号管理.

Users are signed in through a session made by Django's test client (the sign-in page has its own
tests), so each test opens its pages directly.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import HandlingGroup, Role
from tests.factories import UserFactory, grant
from tickets import services
from tickets.models import CannedReply, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
SIZES = {"phone": PHONE, "laptop": LAPTOP}
LONG_TITLE = "三年级二班教室的交互式电子白板触摸失灵且投影画面偏色，影响日常教学"


@pytest.fixture
def desk(tree, teacher, haidian_admin):
    """A county agent with a queue: one ticket overdue, one due within the hour, one later; the
    county administrator (account management); the teacher who asked."""
    for code, name in (("hardware", "硬件"), ("software", "软件")):
        HandlingGroup.objects.get_or_create(code=code, defaults={"name": name})
    agent = UserFactory(username="hd_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    grant(agent, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
    now = timezone.now()
    tickets = []
    for title, due in (
        (LONG_TITLE, now - timedelta(minutes=30)),
        ("机房电脑无法联网", now + timedelta(minutes=40)),
        ("打印机卡纸", now + timedelta(hours=20)),
    ):
        ticket = services.ticket_create(
            asker=teacher,
            title=title,
            description="详情见标题。",
            type="hardware",
            priority="P2",
            contact_info="13800000000",
        )
        services.ticket_accept(ticket=Ticket.objects.get(pk=ticket.pk), agent=agent)
        Ticket.objects.filter(pk=ticket.pk).update(next_due_at=due, response_due_at=due)
        tickets.append(ticket)
    CannedReply.objects.create(unit=tree.haidian, title="重启设备", body="请先关闭电源，等待 30 秒后重新开机。")
    return {"agent": agent, "admin": haidian_admin, "teacher": teacher, "tickets": tickets}


def open_as(new_page, live_server, user, size):
    """A page whose browser is signed in as ``user``, at ``size``."""
    client = Client()
    client.force_login(user)
    page = new_page()
    page.set_viewport_size(size)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return page


# The elements that reach past the window's right edge, to name them when a page is too wide.
WIDEST = """() => Array.from(document.querySelectorAll("body *"))
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(-5).map((el) => el.tagName + "." + el.className + "#" + el.id)"""


def assert_no_sideways_scroll(page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, f"{what} is {width}px wide in a {inner}px window: {page.evaluate(WIDEST)}"


@pytest.mark.parametrize("size", SIZES)
def test_workbench_and_ticket_page_at_both_sizes(new_page, live_server, desk, screenshot, size):
    page = open_as(new_page, live_server, desk["agent"], SIZES[size])
    page.goto("/tickets/?view=assigned")
    rows = page.locator("#ticket-list tr[data-ticket-id]")
    expect(rows).to_have_count(3)
    # Nearest deadline first, coloured: overdue, then due soon, then the rest.
    assert rows.nth(0).get_attribute("data-due") == "overdue"
    assert rows.nth(1).get_attribute("data-due") == "due_soon"
    assert rows.nth(2).get_attribute("data-due") is None
    expect(page.locator('.ticket-tabs a[data-view="assigned"] .tab-count')).to_have_text("3")
    assert_no_sideways_scroll(page, "the workbench")
    title = page.locator(".ticket-title-cell", has_text=LONG_TITLE)
    if size == "phone":
        # A card: the title gets the card's width (a line holds many characters, not one), and
        # state, handler and deadline are in the window.
        box = title.bounding_box()
        assert box["width"] > 300, box
        first = rows.nth(0)
        for label in ("状态", "处理人", "截止时间"):
            cell = first.locator(f'td[data-label="{label}"]')
            expect(cell).to_be_visible()
            cell_box = cell.bounding_box()
            assert cell_box["x"] + cell_box["width"] <= PHONE["width"], (label, cell_box)
    screenshot(page, f"workbench-{size}")

    page.locator("summary", has_text="筛选和排序").click()
    screenshot(page, f"workbench-filters-{size}")
    page.get_by_label("紧急程度").select_option("P2")
    page.get_by_role("button", name="应用").click()
    expect(rows).to_have_count(3)
    assert_no_sideways_scroll(page, "the filtered workbench")

    page.goto(f"/tickets/{desk['tickets'][0].pk}/")
    expect(page.get_by_role("heading", name=LONG_TITLE)).to_be_visible()
    # 常用回复: choosing one puts its text into the reply box.
    page.locator("select[data-canned-target]").select_option(label="重启设备 · 海淀区")
    expect(page.locator("#id_reply-body")).to_have_value("请先关闭电源，等待 30 秒后重新开机。")
    assert_no_sideways_scroll(page, "the ticket page")
    screenshot(page, f"ticket-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_account_management_and_directory_at_both_sizes(new_page, live_server, desk, screenshot, size):
    page = open_as(new_page, live_server, desk["admin"], SIZES[size])
    page.goto("/accounts/manage/")
    expect(page.locator("#managed-users")).to_be_visible()
    assert_no_sideways_scroll(page, "account management")
    screenshot(page, f"accounts-manage-{size}")
    if size == "phone":
        # The navigation is a menu: closed, it takes no room; opened, 账号管理 is in the window.
        manage = page.locator(".mainnav a", has_text="账号管理")
        expect(manage).to_be_hidden()
        page.locator(".nav-toggle").click()
        expect(manage).to_be_visible()
        box = manage.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"]
        assert_no_sideways_scroll(page, "the open menu")
        screenshot(page, f"menu-open-{size}")
        page.locator(".nav-toggle").click()
    page.goto(f"/accounts/manage/{desk['teacher'].pk}/")
    assert_no_sideways_scroll(page, "an account's page")
    screenshot(page, f"account-edit-{size}")
    page.goto("/tickets/canned-replies/")
    expect(page.locator("#canned-replies")).to_contain_text("重启设备")
    assert_no_sideways_scroll(page, "the canned replies")
    screenshot(page, f"canned-replies-{size}")
    page.goto("/tickets/reports/")
    assert_no_sideways_scroll(page, "the reports")
    screenshot(page, f"reports-{size}")
    page.goto("/org/")
    assert_no_sideways_scroll(page, "the directory")
    screenshot(page, f"directory-{size}")


def test_no_list_page_scrolls_sideways_on_a_phone(new_page, live_server, desk):
    """Every list page (and the forms beside them), as each person who sees it, at 390px: the
    document is no wider than the window."""
    pages = {
        "agent": [f"/tickets/?view={view}" for view in ("mine", "assigned", "pool", "due_soon", "breached", "handled")]
        + ["/tickets/search/?q=打印机", "/org/", "/accounts/notifications/"]
        + ["/knowledge/", "/knowledge/?q=打印机", "/knowledge/review/", "/knowledge/new/"],
        "admin": [
            "/accounts/manage/",
            "/accounts/manage/new/",
            "/accounts/manage/import/",
            "/tickets/follow-ups/",
            "/tickets/?view=handled",
            "/tickets/settings/",
            "/tickets/canned-replies/",
            "/tickets/reports/",
            "/accounts/password/",
            "/org/",
        ],
        "teacher": [
            "/tickets/?view=mine",
            "/tickets/search/",
            "/tickets/new/",
            "/accounts/profile/",
            "/knowledge/",
            f"/tickets/{desk['tickets'][0].pk}/",
            f"/tickets/{desk['tickets'][0].pk}/sla/",
            "/accounts/notifications/",
        ],
    }
    # The notification centre with a long entry, as a request for information leaves it.
    first = Ticket.objects.get(pk=desk["tickets"][0].pk)
    services.ticket_request_info(ticket=first, agent=desk["agent"], question=LONG_TITLE * 3)
    for who, paths in pages.items():
        page = open_as(new_page, live_server, desk[who], PHONE)
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, (who, path, response.status)
            assert_no_sideways_scroll(page, f"{path} as {who}")


@pytest.mark.parametrize("size", SIZES)
def test_pool_list_with_bulk_accept_at_both_sizes(new_page, live_server, desk, screenshot, size):
    fresh = services.ticket_create(
        asker=desk["teacher"],
        title="录播教室没有声音",
        description="详情见标题。",
        type="hardware",
        contact_info="13800000000",
    )
    page = open_as(new_page, live_server, desk["agent"], SIZES[size])
    page.goto("/tickets/?view=pool")
    box = page.locator(f'input[name="ticket"][value="{fresh.pk}"]')
    expect(box).to_be_visible()
    edge = box.bounding_box()
    assert edge["x"] + edge["width"] <= SIZES[size]["width"]
    assert_no_sideways_scroll(page, "the pool list")
    screenshot(page, f"pool-bulk-{size}")
    page.locator(".bulk-transfer summary").click()
    expect(page.locator("#bulk-reason")).to_be_visible()
    assert_no_sideways_scroll(page, "the bulk transfer form")
    screenshot(page, f"pool-bulk-transfer-{size}")
    page.locator(".bulk-transfer summary").click()
    box.check()
    page.get_by_role("button", name="确认接收所选工单").click()
    expect(page.locator(".messages")).to_contain_text("已确认接收 1 张工单。")
    assert Ticket.objects.get(pk=fresh.pk).accepted_at is not None


def test_english_pages_fit_a_phone_too(new_page, live_server, desk, screenshot):
    """English labels are about twice as wide as Chinese ones: the bar, tabs and cards still fit."""
    page = open_as(new_page, live_server, desk["admin"], PHONE)
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    for path in ("/tickets/?view=handled", "/accounts/manage/", "/tickets/canned-replies/"):
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert_no_sideways_scroll(page, f"{path} in English")
    page.locator(".nav-toggle").click()
    expect(page.locator(".mainnav a", has_text="Account management")).to_be_visible()
    screenshot(page, "menu-open-english-phone")
