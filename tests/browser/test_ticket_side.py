"""Issue 17's small defects of the ticket pages, in a browser: the side column's rating choices and
SLA dates never break inside a word (at 1366×900 and 390×844), and a follow-up opened by a poor
rating appears on the supervisor's open follow-up list live, naming the asker's school.
Screenshots in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import HandlingGroup, Role
from tests.browser.test_responsive import SIZES, assert_no_sideways_scroll, open_as
from tests.browser.test_ticket_flow import sign_in
from tests.factories import UserFactory, grant
from tickets import services
from tickets.models import SupportSettings, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# How many lines an element's text takes: the boxes of its text (not of the radio beside it) grouped
# by their top edge. A label broken inside a word ("非常满" / "意", "2026-12-05" / "17:00") has two.
LINES_OF = """(el) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const tops = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) if (rect.width > 0) tops.push(rect.top);
  }
  tops.sort((a, b) => a - b);
  return tops.filter((top, i) => i === 0 || top - tops[i - 1] > 4).length;
}"""


@pytest.fixture
def resolved(tree, teacher):
    """The teacher's ticket, answered by 海淀区 (review off) and confirmed: the page offers the rating,
    and the SLA card lists three met targets with their dates."""
    HandlingGroup.objects.get_or_create(code="hardware", defaults={"name": "硬件"})
    agent = UserFactory(username="hd_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    grant(agent, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
    SupportSettings.objects.create(unit=tree.haidian, review_required=False)
    ticket = services.ticket_create(
        asker=teacher, title="投影仪无法开机", description="三年级二班", type="hardware", contact_info="13800000000"
    )
    ticket = services.ticket_accept(ticket=Ticket.objects.get(pk=ticket.pk), agent=agent)
    ticket = services.ticket_submit_answer(ticket=ticket, agent=agent, solution="请更换电源线后重试。")
    ticket = services.ticket_confirm(ticket=ticket, asker=teacher)
    return {"ticket": ticket, "agent": agent}


@pytest.mark.parametrize("size", SIZES)
def test_rating_choices_and_sla_dates_stay_on_one_line(new_page, live_server, resolved, teacher, screenshot, size):
    ticket = resolved["ticket"]
    page = open_as(new_page, live_server, teacher, SIZES[size])
    page.goto(f"/tickets/{ticket.pk}/")
    choices = page.locator('form[data-action="rate"] .rating-choices label')
    expect(choices).to_have_count(4)
    for label in choices.all():
        assert label.evaluate(LINES_OF) == 1, f"{label.inner_text()!r} wraps at {size}"
    dates = page.locator("#ticket-side .sla-list .nowrap")
    assert dates.count() >= 3  # a deadline and the moment it was met, per target
    for date in dates.all():
        assert date.evaluate(LINES_OF) == 1, f"{date.inner_text()!r} wraps at {size}"
        # On one line and still inside the side column (not cut off past its edge).
        column = page.locator("#ticket-side").bounding_box()
        box = date.bounding_box()
        assert box["x"] + box["width"] <= column["x"] + column["width"] + 1, date.inner_text()
    assert_no_sideways_scroll(page, f"the ticket page at {size}")
    screenshot(page, f"ticket-side-column-{size}")


def test_a_poor_rating_appears_on_the_supervisors_follow_ups_live(
    open_browser, asgi_server, resolved, teacher, haidian_admin, tree, password, screenshot
):
    supervisor = open_browser()
    sign_in(supervisor, haidian_admin.username, password)
    supervisor.goto("/tickets/follow-ups/")
    expect(supervisor.locator("#follow-up-list")).to_be_visible()
    # The socket is open before the rating is given.
    expect(supervisor.locator("#ws-status")).to_have_attribute("data-state", "open")
    # Rated as the asker's request would: in the server's thread pool (the in-process layer's push
    # cannot leave this thread, where Playwright runs an event loop).
    ticket = asgi_server.call(
        services.ticket_rate, ticket=resolved["ticket"], asker=teacher, rating="dissatisfied", feedback="没解决"
    )
    row = supervisor.locator(f'tr[data-follow-up-id="{ticket.follow_up.pk}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text(tree.school_a.name)
    expect(row).to_contain_text("没解决")
    expect(row).not_to_contain_text(tree.haidian.name)
    screenshot(supervisor, "follow-ups-live")
