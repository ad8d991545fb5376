"""The portal in a real browser: sign in, profile, password, directory, account issuing."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from accounts.models import User

# The live server needs committed data; serialized_rollback puts back the rows data migrations
# made (content types, handling groups) for the transactional tests that follow.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NEW_PASSWORD = "Brand-New-Secret-77"


def sign_in(page, account: str, password: str, *, remember: bool = False) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("账号").fill(account)
    page.get_by_label("密码", exact=True).fill(password)
    if remember:
        page.get_by_label("14 天内保持登录").check()
    page.get_by_role("button", name="登录").click()


def assert_nothing_fetched_from_elsewhere(page, live_server) -> None:
    outside = [url for url in page.requests if not url.startswith((live_server.url, "data:", "blob:"))]
    assert outside == [], outside


def session_cookie(page):
    return next(c for c in page.context.cookies() if c["name"] == "sessionid")


@pytest.mark.usefixtures("captcha_test_mode")
def test_sign_in_edit_profile_and_change_password(page, teacher, password, live_server, screenshot):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="教育技术服务平台")).to_be_visible()
    screenshot(page, "01-login")

    sign_in(page, "teacher_zw", password, remember=True)
    expect(page.get_by_role("heading", name="您好，张伟")).to_be_visible()
    expect(page.locator(".breadcrumb")).to_contain_text("海淀实验小学")
    # 14 天内保持登录: the session cookie outlives the browser, for about 14 days.
    days_left = (session_cookie(page)["expires"] - time.time()) / 86400
    assert 13.9 < days_left <= 14
    screenshot(page, "02-home")

    # 公告 is a link to the inbox (its badge counts the unread notices: none yet).
    expect(page.locator(".mainnav #nav-notices")).to_have_attribute("href", "/notices/")
    expect(page.locator("#nav-notices-count")).to_be_hidden()

    page.locator(".user-menu summary").click()
    page.locator(".user-menu-panel").get_by_role("link", name="个人资料").click()
    page.get_by_label("昵称").fill("伟哥")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".messages")).to_contain_text("个人资料已保存")
    expect(page.locator(".user-menu .user-name")).to_have_text("伟哥")
    screenshot(page, "03-profile")

    page.goto("/accounts/password/")
    page.get_by_label("原密码").fill("not-my-password")
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_label("验证码", exact=True).fill("PASSED")
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator(".errorlist")).to_contain_text("原密码输入错误")

    page.get_by_label("原密码").fill(password)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_label("验证码", exact=True).fill("PASSED")
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator(".messages")).to_contain_text("密码已修改")

    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))

    sign_in(page, "teacher_zw", password)
    expect(page.locator(".errorlist")).to_contain_text("账号或密码错误")
    sign_in(page, "teacher_zw", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="您好，伟哥")).to_be_visible()
    # Without 14 天内保持登录 the session ends with the browser.
    assert session_cookie(page)["expires"] == -1
    assert_nothing_fetched_from_elsewhere(page, live_server)


def test_browse_the_directory(page, tree, teacher, tianjin_teacher, password, live_server, screenshot):
    sign_in(page, "teacher_zw", password)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="通讯录").click()
    expect(page.get_by_role("tab", name="本单位")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".member-list")).to_contain_text("张伟")

    page.get_by_role("tab", name="单位组织").click()
    tree_view = page.locator("#org-tree")
    # Opened down to one's own school by the server (tests/browser/test_accounts_flow.py looks closer).
    expect(tree_view).to_contain_text("中华人民共和国教育部")
    expect(tree_view).to_contain_text("海淀实验小学")
    expect(tree_view).not_to_contain_text("和平区")

    # Elsewhere the tree still opens lazily, one level per click, as in manual 2.3.4.
    page.get_by_role("button", name="展开 天津市").click()
    expect(tree_view).to_contain_text("和平区")

    tree_view.get_by_role("link", name="海淀实验小学").click()
    panel = page.locator("#member-panel")
    expect(panel.get_by_role("heading", name="海淀实验小学")).to_be_visible()
    expect(panel).to_contain_text("张伟")
    expect(panel).to_contain_text("teacher_zw")

    page.get_by_role("searchbox").fill("zw")
    results = page.locator("#search-results")
    expect(results).to_contain_text("张伟")
    expect(results).to_contain_text("海淀实验小学")
    expect(results).not_to_contain_text("王芳")
    screenshot(page, "04-directory")

    # Closing a branch hides it without another request.
    page.get_by_role("button", name="展开 北京市").click()
    expect(tree_view.get_by_text("海淀区")).to_be_hidden()
    assert_nothing_fetched_from_elsewhere(page, live_server)


@pytest.mark.usefixtures("captcha_test_mode")
def test_an_admin_issues_an_account_that_can_sign_in(new_page, tree, haidian_admin, password, screenshot):
    admin = new_page()
    sign_in(admin, "hd_admin", password)
    admin.get_by_role("navigation", name="主导航").get_by_role("link", name="账号管理").click()
    admin.get_by_role("link", name="新建账号").click()
    admin.get_by_label("账号").fill("new_teacher")
    admin.get_by_label("姓名").fill("陈静")
    admin.get_by_label("单位", exact=True).fill("S110108002")
    admin.get_by_label("用户类型").select_option("teacher")
    admin.get_by_role("button", name="创建账号").click()
    expect(admin.get_by_role("heading", name="账号已创建")).to_be_visible()
    initial_password = admin.locator("#issued-password").inner_text().strip()
    screenshot(admin, "05-account-issued")
    assert User.objects.get(username="new_teacher").unit_id == tree.school_b.pk

    newcomer = new_page()
    sign_in(newcomer, "new_teacher", initial_password)
    # The one-time password leads to the password page first (tests/browser/test_accounts_flow.py).
    expect(newcomer.get_by_role("heading", name="修改密码")).to_be_visible()
    newcomer.get_by_label("原密码").fill(initial_password)
    newcomer.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    newcomer.get_by_label("确认新密码").fill(NEW_PASSWORD)
    newcomer.get_by_label("验证码", exact=True).fill("PASSED")
    newcomer.get_by_role("button", name="修改密码").click()
    expect(newcomer.get_by_role("heading", name="您好，陈静")).to_be_visible()
    expect(newcomer.locator(".breadcrumb")).to_contain_text("海淀第一中学")


def test_the_import_result_downloads_as_csv_with_formulas_kept_as_text(
    new_page, tree, haidian_admin, password, tmp_path, screenshot
):
    """The import result's CSV is built in the browser (the passwords never travel again); a name that
    a spreadsheet would run as a formula is written with a leading apostrophe."""
    admin = new_page()
    sign_in(admin, "hd_admin", password)
    admin.goto("/accounts/manage/import/")
    rows = '账号,姓名,单位代码\nformula_a,=HYPERLINK("http://x.example"),S110108001\nplain_b,李娜,S110108001\n'
    upload = tmp_path / "accounts.csv"
    upload.write_text(rows, encoding="utf-8")
    admin.set_input_files("input[type=file]", str(upload))
    admin.get_by_role("button", name="导入").click()
    expect(admin.locator("#import-created")).to_contain_text("formula_a")
    screenshot(admin, "06-import-result")
    with admin.expect_download() as download_info:
        admin.get_by_role("button", name="下载 CSV").click()
    saved = tmp_path / "created.csv"
    download_info.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
    assert "plain_b" in text and "李娜" in text
