"""The ticket page's new actions in a browser at 390×844 and 1366×900: an agent merges a duplicate
into another ticket by its number and transfers that ticket to a colleague of the pool, from the
action panel; the page stays within the window and shows the outcome. Screenshots in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import HandlingGroup, Role
from tests.browser.test_responsive import SIZES, assert_no_sideways_scroll, open_as
from tests.factories import UserFactory, grant
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def pool(tree, teacher):
    """Two hardware agents of 海淀区; two tickets of the teacher, both handled by the first agent."""
    HandlingGroup.objects.get_or_create(code="hardware", defaults={"name": "硬件"})
    agents = []
    for username, name in (("hd_agent1", "刘洋"), ("hd_agent2", "陈静")):
        agent = UserFactory(username=username, name=name, unit=tree.haidian, user_type="staff")
        grant(agent, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
        agents.append(agent)
    tickets = []
    for title in ("投影仪无法开机", "投影仪不亮（重复提交）"):
        ticket = services.ticket_create(
            asker=teacher, title=title, description="三年级二班", type="hardware", contact_info="13800000000"
        )
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agents[0])
        services.ticket_accept(ticket=Ticket.objects.get(pk=ticket.pk), agent=agents[0])
        tickets.append(Ticket.objects.get(pk=ticket.pk))
    return {"agents": agents, "target": tickets[0], "duplicate": tickets[1]}


@pytest.mark.parametrize("size", SIZES)
def test_merge_and_transfer_from_the_ticket_page(new_page, live_server, pool, screenshot, size):
    target, duplicate = pool["target"], pool["duplicate"]
    page = open_as(new_page, live_server, pool["agents"][0], SIZES[size])

    page.goto(f"/tickets/{duplicate.pk}/")
    page.locator("summary", has_text="合并到其他工单").click()
    merge = page.locator('form[data-action="merge"]')
    merge.locator("#id_merge-into").fill(target.number)
    merge.locator("#id_merge-reason").fill("同一台投影仪")
    assert_no_sideways_scroll(page, "the ticket page with the merge form open")
    screenshot(page, f"ticket-merge-{size}")
    merge.get_by_role("button", name="合并").click()
    expect(page.locator("#ticket-close-reason")).to_contain_text("已合并到其他工单")
    expect(page.locator("#ticket-close-reason")).to_contain_text(target.number)
    expect(page.locator('#ticket-timeline li[data-kind="merged"]')).to_contain_text(f"已合并到 {target.number}")
    assert_no_sideways_scroll(page, "the merged duplicate")
    screenshot(page, f"ticket-merged-{size}")

    page.goto(f"/tickets/{target.pk}/")
    expect(page.locator('#ticket-timeline li[data-kind="merge_received"]')).to_contain_text(duplicate.number)
    page.locator("summary", has_text="转派给其他坐席").click()
    transfer = page.locator('form[data-action="transfer"]')
    transfer.locator("#id_transfer-agent").select_option(label="陈静")
    transfer.locator("#id_transfer-reason").fill("陈静熟悉该型号")
    screenshot(page, f"ticket-transfer-{size}")
    transfer.get_by_role("button", name="转派").click()
    expect(page.locator("#ticket-assignee")).to_have_text("陈静")
    expect(page.locator('#ticket-timeline li[data-kind="transferred"]')).to_contain_text("由 刘洋 转派给 陈静")
    assert_no_sideways_scroll(page, "the transferred ticket")
    assert Ticket.objects.get(pk=target.pk).assignee == pool["agents"][1]
