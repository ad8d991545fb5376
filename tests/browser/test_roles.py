"""Role appointment in a real browser, at desktop (1366×900) and phone (390×844) widths: an
administrator makes a teacher a support agent with a handling group, the record lists it, and the
agent goes off duty from the user menu. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Role, RoleAssignment, RoleChange

from .test_portal import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", SIZES)
def test_an_administrator_appoints_a_support_agent(page, size, tree, haidian_admin, teacher, password, screenshot):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "hd_admin", password)
    page.goto(f"/accounts/manage/{teacher.pk}/")

    roles = page.locator("#roles")
    expect(roles.get_by_role("heading", name="角色", exact=True)).to_be_visible()
    expect(roles).to_contain_text("该账号尚未担任任何角色")
    roles.get_by_label("角色", exact=True).select_option(label="技术支持人员")
    # The unit is chosen by name from the units the administrator manages; the account's own first.
    unit = roles.get_by_label("单位", exact=True)
    expect(unit.locator("option:checked")).to_have_text("海淀实验小学（S110108001）")
    roles.get_by_label("硬件 / 设备故障").check()
    screenshot(page, f"roles-{size}-1-form")
    roles.get_by_role("button", name="任命", exact=True).click()

    expect(page.locator(".messages")).to_contain_text("已任命为海淀实验小学的技术支持人员")
    item = page.locator(".role-item", has_text="技术支持人员")
    expect(item).to_contain_text("海淀实验小学")
    expect(item.locator(".tag-success")).to_have_text("在岗")
    changes = page.locator(".role-changes")
    expect(changes).to_contain_text("任命")
    expect(changes).to_contain_text("处理组：硬件 / 设备故障")
    expect(changes).to_contain_text("操作人：海淀管理员")
    assert no_horizontal_overflow(page)
    screenshot(page, f"roles-{size}-2-appointed")

    agent = RoleAssignment.objects.get(user=teacher, role=Role.SUPPORT_AGENT)
    assert list(agent.handling_groups.values_list("code", flat=True)) == ["hardware"]
    assert RoleChange.objects.filter(user=teacher, action="granted").count() == 1

    # A peer administrator of the county is refused with a Chinese message next to the field.
    roles.get_by_label("角色", exact=True).select_option(label="单位管理员")
    roles.get_by_label("单位", exact=True).select_option(label="海淀区（110108）")
    roles.get_by_role("button", name="任命", exact=True).click()
    expect(page.locator("#roles .errorlist")).to_contain_text("单位管理员由上级单位任命")
    assert not RoleAssignment.objects.filter(user=teacher, role=Role.UNIT_ADMIN).exists()
    screenshot(page, f"roles-{size}-3-refused")


@pytest.mark.parametrize("size", SIZES)
def test_an_agent_goes_off_duty_from_the_user_menu(page, size, tree, teacher, password, screenshot):
    width, height = SIZES[size]
    RoleAssignment.objects.create(user=teacher, unit=tree.school_a, role=Role.SUPPORT_AGENT)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "teacher_zw", password)
    page.locator(".user-menu summary").click()
    screenshot(page, f"duty-{size}-menu")
    page.get_by_role("button", name="在岗 · 切换为离岗").click()
    expect(page.locator(".messages")).to_contain_text("您已离岗")
    assert not RoleAssignment.objects.get(user=teacher).on_duty
    page.goto("/accounts/profile/")
    expect(page.locator("main .duty-switch")).to_contain_text("离岗")
    screenshot(page, f"duty-{size}-profile")
    page.get_by_role("button", name="切换为在岗").click()
    expect(page.locator(".messages")).to_contain_text("您已在岗")
    assert RoleAssignment.objects.get(user=teacher).on_duty
