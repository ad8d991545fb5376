"""我的设备 in Chromium at desktop (1366×900) and phone (390×844) widths: the browser that signed in
is marked as this device, named after its browser; a phone signed in through the API is listed and
signed out with the button, after which its token is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from accounts import services
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", list(SIZES))
def test_my_devices_lists_this_browser_and_signs_out_a_phone(new_page, tree, password, size, screenshot):
    user = UserFactory(username=f"devices_{size}", name="刘洋", unit=tree.school_a)
    phone = services.token_issue(user=user, name="刘洋的 HarmonyOS 手机")
    page = new_page()
    page.set_viewport_size(SIZES[size])
    page.goto("/accounts/login/")
    page.get_by_label("账号").fill(user.username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")

    page.goto("/accounts/profile/")
    page.get_by_role("link", name="我的设备").click()
    expect(page.get_by_role("heading", name="我的设备")).to_be_visible()
    rows = page.locator("#devices tbody tr")
    expect(rows).to_have_count(2)
    this_row = page.locator("#devices tr.current-device")
    expect(this_row).to_contain_text("本设备")
    expect(this_row).to_contain_text("Chrome")  # named after the browser's User-Agent
    phone_row = rows.filter(has_text="刘洋的 HarmonyOS 手机")
    expect(phone_row).to_contain_text("应用或脚本")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"devices-{size}")

    phone_row.get_by_role("button", name="退出该设备").click()
    expect(page.get_by_text("该设备已退出登录。")).to_be_visible()
    expect(rows).to_have_count(1)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {phone.key}")
    assert api.get("/api/v1/me/").status_code == 401
