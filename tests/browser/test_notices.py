"""Notices (公告) in real browsers (issue 14's proof): 北京市's notice publisher writes a notice to the
province's whole subtree asking for a receipt, the province's notice reviewer approves it, a school
teacher waiting on the inbox sees it arrive without a reload (the row and the navigation's badge),
opens it and confirms receipt, and the province sees the read rate change on the statistics page.
At a laptop's and a phone's size, without sideways scrolling.

Runs on the ASGI server of tests/browser/conftest.py: live delivery needs the websocket.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from notices import services
from notices.models import Notice, NoticeState
from tests.factories import UserFactory, grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
TITLE = "关于做好寒假期间校园网络安全工作的通知"


def sign_in(page, account: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(account)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    expect(page.locator(".welcome")).to_be_visible()


def live(page) -> None:
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "open")


def no_sideways_scroll(page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"{what} scrolls sideways ({width}px)"


@pytest.fixture
def staff(tree):
    def make(username, name, unit, role):
        user = UserFactory(username=username, name=name, unit=unit, user_type="staff")
        grant(user, unit, role)
        return user

    return {
        "publisher": make("bj_notice_pub", "北京发布员", tree.beijing, Role.NOTICE_PUBLISHER),
        "reviewer": make("bj_notice_rev", "北京审核员", tree.beijing, Role.NOTICE_REVIEWER),
        "teacher": UserFactory(username="hd_teacher_live", name="张老师", unit=tree.school_a),
        "colleague": UserFactory(username="hd_teacher_b", name="王老师", unit=tree.school_b),
        "outsider": UserFactory(username="tj_teacher_live", name="赵老师", unit=tree.school_tj),
    }


@pytest.mark.parametrize("size", SIZES)
def test_a_province_notice_is_approved_arrives_live_is_confirmed_and_counted(
    open_browser, asgi_server, staff, tree, password, screenshot, size
):
    viewport = SIZES[size]

    # The teacher waits on the inbox, nothing in it yet.
    teacher = open_browser()
    teacher.set_viewport_size(viewport)
    sign_in(teacher, "hd_teacher_live", password)
    teacher.goto("/notices/")
    expect(teacher.locator("#notice-inbox .empty")).to_be_visible()
    expect(teacher.locator("#nav-notices-count")).to_be_hidden()
    live(teacher)

    # Someone of another province waits too: it is not for them.
    outsider = open_browser()
    outsider.set_viewport_size(viewport)
    sign_in(outsider, "tj_teacher_live", password)
    outsider.goto("/notices/")
    live(outsider)

    # The province's publisher writes, previews and submits.
    publisher = open_browser()
    publisher.set_viewport_size(viewport)
    sign_in(publisher, "bj_notice_pub", password)
    publisher.goto("/notices/new/")
    publisher.locator("#id_title").fill(TITLE)
    publisher.locator("#id_body").fill("各单位：\n\n请于**12月20日前**完成校园网络安全自查，并确认回执。")
    publisher.get_by_label("本单位及全部下级", exact=True).check()
    publisher.locator("#id_importance").select_option("important")
    publisher.get_by_label("要求回执").check()
    publisher.locator("#notice-preview-button").click()
    expect(publisher.locator("#notice-preview strong")).to_have_text("12月20日前")
    no_sideways_scroll(publisher, "the editor")
    screenshot(publisher, f"notices-write-{size}")
    publisher.get_by_role("button", name="保存并提交审核").click()
    expect(publisher.locator(".messages .success")).to_be_visible()
    notice = Notice.objects.get(title=TITLE)
    assert notice.state == NoticeState.PENDING_REVIEW

    # Addressing outside the subtree is a form error, not a page of errors.
    publisher.goto("/notices/new/")
    publisher.locator("#id_title").fill("越权公告")
    publisher.locator("#id_body").fill("测试")
    publisher.get_by_label("指定单位", exact=True).check()
    publisher.locator("#id_unit_codes").fill(tree.school_tj.code)
    publisher.get_by_role("button", name="存为草稿").click()
    expect(publisher.locator("#id_units_errors")).to_contain_text(tree.school_tj.name)

    # The reviewer approves from the queue.
    reviewer = open_browser()
    reviewer.set_viewport_size(viewport)
    sign_in(reviewer, "bj_notice_rev", password)
    reviewer.goto("/notices/review/")
    reviewer.get_by_role("link", name=TITLE).click()
    no_sideways_scroll(reviewer, "the notice under review")
    screenshot(reviewer, f"notices-review-{size}")
    reviewer.locator("#approve-notice").click()
    expect(reviewer.locator(".messages .success")).to_be_visible()

    # Without a reload, the teacher's inbox shows it, unread, and the badge counts one.
    row = teacher.locator(".notice-item.is-unread", has_text=TITLE)
    expect(row).to_be_visible()
    expect(teacher.locator("#nav-notices-count")).to_have_attribute("data-count", "1")
    expect(teacher.locator(".notice-tabs .tab-count")).to_have_text("1")
    no_sideways_scroll(teacher, "the inbox")
    screenshot(teacher, f"notices-inbox-live-{size}")

    # Nothing reached the other province's teacher, and the notice is a 404 there.
    expect(outsider.locator("#notice-inbox .empty")).to_be_visible()
    expect(outsider.locator("#nav-notices-count")).to_be_hidden()
    assert outsider.goto(f"/notices/{notice.pk}/").status == 404

    # Counted before the teacher read it (the reviewer, in the province's audience too, has).
    asgi_server.call(services.compute_notice_stats, notice.pk)
    publisher.goto(f"/notices/{notice.pk}/stats/")
    expect(publisher.locator("#stat-confirmed")).to_have_text("0")
    read_before = int(publisher.locator("#stat-read").inner_text())
    rate_before = int(publisher.locator("#stat-rate").inner_text().rstrip("%"))

    # The teacher reads and confirms receipt.
    row.get_by_role("link").click()
    expect(teacher.locator(".notice-body strong")).to_have_text("12月20日前")
    expect(teacher.locator("#nav-notices-count")).to_have_attribute("data-count", "0")
    no_sideways_scroll(teacher, "the notice page")
    teacher.locator("#confirm-receipt").click()
    expect(teacher.locator("#notice-receipt .alert-success")).to_be_visible()
    screenshot(teacher, f"notices-read-{size}")

    # The statistics task recounts; the province sees the rate rise, and drills down to 海淀区.
    asgi_server.call(services.compute_notice_stats, notice.pk)
    publisher.reload()
    expect(publisher.locator("#stat-read")).to_have_text(str(read_before + 1))
    expect(publisher.locator("#stat-confirmed")).to_have_text("1")
    rate = publisher.locator("#stat-rate").inner_text()
    assert re.fullmatch(r"\d+%", rate) and int(rate[:-1]) > rate_before
    no_sideways_scroll(publisher, "the statistics")
    screenshot(publisher, f"notices-stats-{size}")
    publisher.get_by_role("link", name="海淀区").first.click()
    expect(publisher.locator(".stats-table")).to_contain_text(tree.school_a.name)
    expect(publisher.locator(".bar-chart")).to_contain_text(tree.school_b.name)

    publisher.goto("/notices/sent/")
    expect(publisher.locator(".notice-item", has_text=TITLE).locator("progress")).to_be_visible()
    publisher.locator(".notice-search summary").click()
    publisher.locator("#id_q").fill("网络安全")
    publisher.get_by_role("button", name="搜索", exact=True).click()
    expect(publisher.locator(".notice-item", has_text=TITLE)).to_be_visible()
    no_sideways_scroll(publisher, "the sent notices")
    screenshot(publisher, f"notices-sent-{size}")
    publisher.goto(f"/notices/{notice.pk}/stats/")

    # 催阅 once; a second time within the hour is refused with the time of the next.
    publisher.locator("#remind-notice").click()
    expect(publisher.locator(".messages .success")).to_be_visible()
    publisher.goto(f"/notices/{notice.pk}/")
    publisher.locator("#remind-notice").click()
    expect(publisher.locator(".messages .error")).to_contain_text("一小时内已催阅过")
    screenshot(publisher, f"notices-remind-refused-{size}")
