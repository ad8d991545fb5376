"""Accounts in a real browser at desktop (1366×900) and phone (390×844) widths: the forced change of
a one-time password with the captcha (in its test mode), and 单位组织 opening at one's own unit."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts import services
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
NEW_PASSWORD = "Brand-New-Secret-77"


def sign_in(page, account: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("账号").fill(account)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def watch_csp(page) -> list[str]:
    """Console reports of anything the Content-Security-Policy refused."""
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    return refused


def image_loaded(page) -> bool:
    # Polled with evaluate: wait_for_function evaluates a string, which the policy's script-src refuses.
    check = (
        "(() => { const img = document.querySelector('img.captcha'); return img.complete && img.naturalWidth > 0; })()"
    )
    for _ in range(50):
        if page.evaluate(check):
            return True
        page.wait_for_timeout(100)
    return False


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.usefixtures("captcha_test_mode")
@pytest.mark.parametrize("size", list(SIZES))
def test_a_new_account_changes_its_one_time_password_first(new_page, tree, haidian_admin, size, screenshot):
    issued = services.user_create(
        actor=haidian_admin, username=f"new_{size}", name="陈静", unit=tree.school_a, user_type="teacher"
    )
    page = new_page()
    page.set_viewport_size(SIZES[size])
    refused = watch_csp(page)
    sign_in(page, issued.user.username, issued.password)

    # Wherever it goes, the account lands on the password page first.
    expect(page).to_have_url(re.compile(r"/accounts/password/\?next=/$"))
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    expect(page.locator(".forced-change")).to_contain_text("请先设置您自己的密码")
    page.goto("/org/")
    expect(page).to_have_url(re.compile(r"/accounts/password/\?next=/org/$"))

    # The captcha image is drawn, and 换一张 fetches another without reloading the page.
    image = page.locator("img.captcha")
    expect(image).to_be_visible()
    assert image_loaded(page)
    before = image.get_attribute("src")
    page.get_by_role("button", name="换一张").click()
    expect(image).not_to_have_attribute("src", before)
    assert image_loaded(page)
    no_sideways_scroll(page)
    screenshot(page, f"accounts-forced-password-{size}")

    page.get_by_label("原密码").fill(issued.password)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_label("验证码", exact=True).fill("PASSED")
    page.get_by_role("button", name="修改密码").click()

    # Back to the page that was asked for, and free to go anywhere.
    expect(page).to_have_url(re.compile(r"/org/$"))
    expect(page.locator(".messages")).to_contain_text("密码已修改")
    page.goto("/")
    expect(page.get_by_role("heading", name="您好，陈静")).to_be_visible()
    assert refused == []


@pytest.mark.parametrize("size", list(SIZES))
def test_the_unit_tree_opens_at_ones_own_unit(new_page, tree, teacher, password, size, screenshot):
    UserFactory(username="colleague", name="李娜", unit=tree.school_a, phone="13800138000", email="ln@a.cn")
    page = new_page()
    page.set_viewport_size(SIZES[size])
    refused = watch_csp(page)
    sign_in(page, "teacher_zw", password)
    page.goto("/org/?tab=tree")

    tree_view = page.locator("#org-tree")
    own = tree_view.get_by_role("link", name="海淀实验小学")
    expect(own).to_be_visible()
    expect(own).to_have_class(re.compile("is-selected"))
    for name in ("中华人民共和国教育部", "北京市", "海淀区"):
        expect(page.get_by_role("button", name=f"展开 {name}")).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("button", name="展开 天津市")).to_have_attribute("aria-expanded", "false")

    # The unit's members, with a colleague's phone and e-mail (same unit: the directory rule).
    panel = page.locator("#member-panel")
    expect(panel.get_by_role("heading", name="海淀实验小学")).to_be_visible()
    expect(panel).to_contain_text("李娜")
    expect(panel).to_contain_text("13800138000")
    no_sideways_scroll(page)
    screenshot(page, f"accounts-directory-own-unit-{size}")

    # A server-opened branch closes and opens again with the same button.
    toggle = page.get_by_role("button", name="展开 海淀区")
    toggle.click()
    expect(own).to_be_hidden()
    toggle.click()
    expect(own).to_be_visible()
    assert refused == []


@pytest.mark.parametrize("size", list(SIZES))
def test_the_account_form_picks_a_unit_by_pinyin(new_page, tree, haidian_admin, password, size, screenshot):
    page = new_page()
    page.set_viewport_size(SIZES[size])
    refused = watch_csp(page)
    sign_in(page, "hd_admin", password)
    page.goto("/accounts/manage/new/")
    field = page.get_by_label("单位", exact=True)
    expect(field).to_have_value("海淀区（110108）")  # one's own unit by default
    # Typing pinyin initials refills the datalist from the server (htmx, no inline script).
    field.fill("hdsy")
    options = page.locator("#managed-units option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", "海淀实验小学（S110108001）")
    field.fill("海淀实验小学（S110108001）")
    page.get_by_label("账号").fill(f"picked_{size}")
    page.get_by_label("姓名").fill("李娜")
    no_sideways_scroll(page)
    screenshot(page, f"accounts-unit-picker-{size}")
    page.get_by_role("button", name="创建账号").click()
    expect(page.get_by_role("heading", name="账号已创建")).to_be_visible()
    from accounts.models import User

    assert User.objects.get(username=f"picked_{size}").unit_id == tree.school_a.pk
    assert refused == []
