"""The portal's account pages: login/logout, profile, password, and account management."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from PIL import Image

from accounts.models import User
from tests.factories import UserFactory, grant

LOGIN = reverse("accounts:login")
NEW_PASSWORD = "Fresh-Password-2024"


def png_upload(name: str = "me.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def html(response) -> str:
    return response.content.decode()


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


# --- Login --------------------------------------------------------------------------------------
def test_a_fresh_visitor_sees_the_login_page_in_chinese(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    page = html(client.get(LOGIN))
    assert "教育技术服务平台" in page
    # The box says what it does: the session is kept for 14 days (no password is remembered).
    assert "14 天内保持登录" in page and "记住密码" not in page
    assert "账号及密码由上级教育部门分配" in page


def test_the_language_switch_shows_english(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": LOGIN}, follow=True)
    page = html(response)
    assert "Keep me signed in for 14 days" in page
    assert "Education Technology Service Platform" in page


def test_login_with_remember_me_keeps_the_session_for_14_days(client, teacher, password):
    response = client.post(LOGIN, {"username": "teacher_zw", "password": password, "remember": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert int(signed_in_user_id(client)) == teacher.pk
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == int(settings.REMEMBER_ME_AGE.total_seconds())
    assert timedelta(days=14) == settings.REMEMBER_ME_AGE


def test_login_without_remember_me_ends_with_the_browser(client, teacher, password):
    client.post(LOGIN, {"username": "teacher_zw", "password": password})
    assert int(signed_in_user_id(client)) == teacher.pk
    assert client.session.get_expire_at_browser_close() is True


def test_wrong_password_is_a_form_error_and_nobody_signs_in(client, teacher):
    response = client.post(LOGIN, {"username": "teacher_zw", "password": "wrong-password"})
    assert response.status_code == 200
    assert "账号或密码错误" in html(response)
    assert signed_in_user_id(client) is None


def test_a_deactivated_account_cannot_sign_in(client, teacher, password):
    User.objects.filter(pk=teacher.pk).update(is_active=False)
    response = client.post(LOGIN, {"username": "teacher_zw", "password": password})
    assert response.status_code == 200
    assert signed_in_user_id(client) is None


def test_empty_fields_are_form_errors(client, db):
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 200
    assert html(response).count('class="errorlist"') == 2


def test_login_follows_a_local_next_but_not_another_site(client, teacher, password):
    response = client.post(LOGIN, {"username": "teacher_zw", "password": password, "next": "/org/"})
    assert response["Location"] == "/org/"
    client.logout()
    response = client.post(LOGIN, {"username": "teacher_zw", "password": password, "next": "https://evil.example.com/"})
    assert response["Location"] == reverse("home")


def test_five_failures_lock_the_account_with_a_clear_message(client, teacher, password):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(LOGIN, {"username": "teacher_zw", "password": "wrong-password"})
        assert response.status_code == 200
    response = client.post(LOGIN, {"username": "teacher_zw", "password": "wrong-password"})
    assert response.status_code == 429
    assert "登录失败次数过多" in html(response)
    # Even the right password is refused while the lock holds.
    response = client.post(LOGIN, {"username": "teacher_zw", "password": password})
    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_logout_is_a_post_and_ends_the_session(client, teacher):
    client.force_login(teacher)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == LOGIN
    assert signed_in_user_id(client) is None
    assert client.get(reverse("home")).status_code == 302


# --- Home ---------------------------------------------------------------------------------------
def test_home_greets_the_user_with_unit_roles_and_navigation(client, tree, haidian_admin):
    client.force_login(haidian_admin)
    page = html(client.get(reverse("home")))
    assert "您好，海淀管理员" in page
    assert "北京市" in page and "海淀区" in page
    assert "单位管理员 · 海淀区" in page
    for item in ("问题咨询", "知识库", "公告", "聊天", "通讯录"):
        assert item in page
    assert 'data-tooltip="即将上线"' not in page  # every entry is live
    assert reverse("tickets:index") in page
    assert reverse("chat:index") in page
    assert reverse("knowledge:index") in page
    assert reverse("directory:directory") in page
    assert reverse("accounts:manage") in page


def test_home_of_an_ordinary_user_has_no_account_management(client, teacher):
    client.force_login(teacher)
    page = html(client.get(reverse("home")))
    assert "海淀实验小学" in page
    assert reverse("accounts:manage") not in page


# --- Profile ------------------------------------------------------------------------------------
def test_profile_shows_issued_fields_read_only_and_saves_the_editable_ones(client, teacher):
    client.force_login(teacher)
    page = html(client.get(reverse("accounts:profile")))
    assert "张伟" in page and "teacher_zw" in page and "海淀实验小学" in page
    assert 'name="name"' not in page and 'name="username"' not in page

    response = client.post(
        reverse("accounts:profile"),
        {
            "nickname": "伟哥",
            "phone": "010-62345678",
            "email": "zw@example.cn",
            "avatar": png_upload(),
        },
    )
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert (teacher.nickname, teacher.phone, teacher.email) == ("伟哥", "010-62345678", "zw@example.cn")
    assert teacher.avatar.name.endswith(".png")
    page = html(client.get(reverse("accounts:profile")))
    assert "个人资料已保存" in page
    assert teacher.avatar.url in page


def test_profile_ignores_attempts_to_change_issued_fields(client, teacher):
    client.force_login(teacher)
    client.post(reverse("accounts:profile"), {"nickname": "x", "name": "Someone Else", "username": "hijack"})
    teacher.refresh_from_db()
    assert (teacher.name, teacher.username) == ("张伟", "teacher_zw")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nickname": "长" * 51}, "50"),
        ({"email": "not-an-email"}, "邮件地址"),
        ({"phone": "call me maybe"}, "有效的电话号码"),
    ],
)
def test_profile_bad_input_is_shown_next_to_the_field(client, teacher, data, message):
    client.force_login(teacher)
    response = client.post(reverse("accounts:profile"), {"nickname": "", "phone": "", "email": "", **data})
    assert response.status_code == 200
    page = html(response)
    assert 'class="errorlist"' in page
    assert message in page
    teacher.refresh_from_db()
    assert (teacher.nickname, teacher.phone, teacher.email) == ("", "", "")
    # The page frame still shows the stored name, not the rejected input.
    assert "长" * 51 not in page.split("<main")[0]


def test_profile_rejects_a_file_that_is_not_an_image(client, teacher):
    client.force_login(teacher)
    fake = SimpleUploadedFile("photo.png", b"MZ this is an executable", content_type="image/png")
    response = client.post(reverse("accounts:profile"), {"nickname": "新昵称", "avatar": fake})
    assert response.status_code == 200
    assert "请上传有效的 PNG、JPEG、GIF 或 WebP 图片" in html(response)
    teacher.refresh_from_db()
    assert not teacher.avatar
    assert teacher.nickname == ""


def test_profile_rejects_an_oversized_avatar(client, teacher, settings):
    settings.AVATAR_MAX_BYTES = 20
    client.force_login(teacher)
    response = client.post(reverse("accounts:profile"), {"avatar": png_upload()})
    assert "头像不能超过 2 MB" in html(response)


def test_profile_needs_login(client, db):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# --- Password change ----------------------------------------------------------------------------
def _change(client, old, new, confirm=None):
    # The captcha in its test mode (the captcha_test_mode fixture): "PASSED" is the right answer.
    return client.post(
        reverse("accounts:password_change"),
        {
            "old_password": old,
            "new_password": new,
            "new_password_confirm": new if confirm is None else confirm,
            "captcha_0": "test",
            "captcha_1": "PASSED",
        },
    )


@pytest.mark.usefixtures("captcha_test_mode")
def test_password_change_keeps_the_user_signed_in_and_the_new_password_works(client, teacher, password):
    client.post(LOGIN, {"username": "teacher_zw", "password": password})
    response = _change(client, password, NEW_PASSWORD)
    assert response.status_code == 302
    assert "密码已修改" in html(client.get(response["Location"]))
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("accounts:logout"))
    client.post(LOGIN, {"username": "teacher_zw", "password": password})
    assert signed_in_user_id(client) is None
    client.post(LOGIN, {"username": "teacher_zw", "password": NEW_PASSWORD})
    assert int(signed_in_user_id(client)) == teacher.pk


@pytest.mark.usefixtures("captcha_test_mode")
def test_wrong_old_password_is_a_form_error(client, teacher, password):
    client.force_login(teacher)
    response = _change(client, "not-my-password", NEW_PASSWORD)
    assert response.status_code == 200
    assert "原密码输入错误" in html(response)
    teacher.refresh_from_db()
    assert teacher.check_password(password)


@pytest.mark.usefixtures("captcha_test_mode")
def test_mismatched_confirmation_is_a_form_error(client, teacher, password):
    client.force_login(teacher)
    response = _change(client, password, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert "两次输入的密码不一致" in html(response)
    teacher.refresh_from_db()
    assert teacher.check_password(password)


@pytest.mark.usefixtures("captcha_test_mode")
def test_weak_new_password_is_refused_by_djangos_validators(client, teacher, password):
    client.force_login(teacher)
    response = _change(client, password, "12345678")
    assert response.status_code == 200
    page = html(response)
    assert "密码" in page and 'id="id_new_password_errors"' in page
    teacher.refresh_from_db()
    assert teacher.check_password(password)


# --- Account management -------------------------------------------------------------------------
MANAGE = reverse("accounts:manage")


def test_ordinary_users_cannot_open_account_management(client, teacher):
    client.force_login(teacher)
    for url in (
        MANAGE,
        reverse("accounts:manage_create"),
        reverse("accounts:manage_import"),
        reverse("accounts:manage_edit", args=[teacher.pk]),
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("accounts:manage_create"),
        {
            "username": "sneaky",
            "name": "偷偷",
            "unit_code": "S110108001",
            "user_type": "teacher",
        },
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="sneaky").exists()


def test_the_list_shows_only_accounts_of_the_admins_subtree(client, haidian_admin, teacher, tianjin_teacher):
    client.force_login(haidian_admin)
    page = html(client.get(MANAGE))
    assert "teacher_zw" in page and "hd_admin" in page
    assert "tj_teacher" not in page


def test_the_list_filters_by_account_prefix_unit_type_and_status(client, tree, haidian_admin, teacher):
    UserFactory(username="student_li", name="李娜", unit=tree.school_b, user_type="student")
    UserFactory(username="teacher_old", name="刘洋", unit=tree.school_b, is_active=False)
    client.force_login(haidian_admin)
    page = html(client.get(MANAGE, {"q": "teacher"}))
    assert "teacher_zw" in page and "teacher_old" in page and "student_li" not in page
    page = html(client.get(MANAGE, {"unit_code": "S110108002"}))
    assert "student_li" in page and "teacher_zw" not in page
    page = html(client.get(MANAGE, {"user_type": "student"}))
    assert "student_li" in page and "teacher_zw" not in page
    page = html(client.get(MANAGE, {"active": "0"}))
    assert "teacher_old" in page and "teacher_zw" not in page
    # A unit outside the admin's subtree is an error, not a peek into it.
    page = html(client.get(MANAGE, {"unit_code": "S120101001"}))
    assert "您管理的单位中没有这个代码" in page


def test_the_list_pages_through_accounts_in_order(client, tree, haidian_admin, monkeypatch):
    from accounts.views import accounts as views

    monkeypatch.setattr(views, "MANAGE_PAGE_SIZE", 2)
    for n in range(3):
        UserFactory(username=f"pupil{n}", unit=tree.school_a)
    client.force_login(haidian_admin)
    UserFactory(username="pupil3", unit=tree.school_a)
    first = client.get(MANAGE)
    assert [u.username for u in first.context["rows"]] == ["pupil0", "pupil1"]
    second = client.get(MANAGE + "?" + first.context["next_query"])
    assert [u.username for u in second.context["rows"]] == ["pupil2", "pupil3"]
    assert second.context["next_query"] == ""
    back = client.get(MANAGE + "?" + second.context["prev_query"])
    assert [u.username for u in back.context["rows"]] == ["pupil0", "pupil1"]


def test_an_admin_creates_an_account_and_sees_its_password_once(client, tree, haidian_admin):
    client.force_login(haidian_admin)
    form_page = html(client.get(reverse("accounts:manage_create")))
    # The admin's own unit is the default, written as the unit picker writes it.
    assert 'value="海淀区（110108）"' in form_page
    assert "S110108001" in form_page and "S120101001" not in form_page
    response = client.post(
        reverse("accounts:manage_create"),
        {
            "username": "new_teacher",
            "name": "陈静",
            "unit_code": "S110108001",
            "user_type": "teacher",
            "nickname": "",
            "phone": "",
            "email": "",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    created = User.objects.get(username="new_teacher")
    assert created.unit == tree.school_a
    password = response.context["password"]
    assert password in html(response)
    assert created.check_password(password)


def test_creating_outside_the_subtree_or_with_bad_input_is_a_form_error(client, tree, haidian_admin, teacher):
    client.force_login(haidian_admin)
    base = {"name": "王芳", "user_type": "teacher", "nickname": "", "phone": "", "email": ""}
    url = reverse("accounts:manage_create")
    response = client.post(url, {**base, "username": "tj_new", "unit_code": "S120101001"})
    assert response.status_code == 200
    assert "您管理的单位中没有这个名称或代码" in html(response)
    response = client.post(url, {**base, "username": "teacher_zw", "unit_code": "110108"})
    assert "该账号已存在" in html(response)
    response = client.post(url, {**base, "username": "a b", "unit_code": "110108"})
    assert "账号由 3 到 64 个字母" in html(response)
    response = client.post(url, {**base, "username": "ok_name", "unit_code": "110108", "email": "nope"})
    assert 'class="errorlist"' in html(response)
    assert not User.objects.filter(username__in=["tj_new", "a b", "ok_name"]).exists()


def test_an_admin_edits_an_account_in_the_subtree(client, tree, haidian_admin, teacher):
    client.force_login(haidian_admin)
    url = reverse("accounts:manage_edit", args=[teacher.pk])
    assert "张伟" in html(client.get(url))
    response = client.post(
        url,
        {
            "name": "张伟",
            "nickname": "张老师",
            "unit_code": "S110108002",
            "user_type": "teacher",
            "phone": "",
            "email": "",
        },
    )
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.nickname == "张老师"
    assert teacher.unit == tree.school_b


def test_an_admin_cannot_move_an_account_out_of_the_subtree(client, tree, haidian_admin, teacher):
    client.force_login(haidian_admin)
    response = client.post(
        reverse("accounts:manage_edit", args=[teacher.pk]),
        {
            "name": "张伟",
            "unit_code": "S120101001",
            "user_type": "teacher",
        },
    )
    assert response.status_code == 200
    teacher.refresh_from_db()
    assert teacher.unit == tree.school_a


def test_an_account_outside_the_subtree_is_404_and_nothing_changes(client, haidian_admin, tianjin_teacher, password):
    client.force_login(haidian_admin)
    pk = tianjin_teacher.pk
    assert client.get(reverse("accounts:manage_edit", args=[pk])).status_code == 404
    response = client.post(
        reverse("accounts:manage_edit", args=[pk]),
        {
            "name": "改名",
            "unit_code": "110108",
            "user_type": "teacher",
        },
    )
    assert response.status_code == 404
    assert client.post(reverse("accounts:manage_set_active", args=[pk]), {"active": "0"}).status_code == 404
    assert client.post(reverse("accounts:manage_reset_password", args=[pk])).status_code == 404
    tianjin_teacher.refresh_from_db()
    assert tianjin_teacher.name == "王芳"
    assert tianjin_teacher.is_active
    assert tianjin_teacher.check_password(password)


def test_deactivate_and_activate_an_account(client, haidian_admin, teacher):
    client.force_login(haidian_admin)
    url = reverse("accounts:manage_set_active", args=[teacher.pk])
    response = client.post(url, {"active": "0"}, follow=True)
    assert "账号 teacher_zw 已停用" in html(response)
    teacher.refresh_from_db()
    assert not teacher.is_active
    client.post(url, {"active": "1"})
    teacher.refresh_from_db()
    assert teacher.is_active


def test_an_admin_cannot_deactivate_themselves(client, haidian_admin):
    client.force_login(haidian_admin)
    url = reverse("accounts:manage_set_active", args=[haidian_admin.pk])
    # Its own administrator role is not below itself: not an account it manages.
    response = client.post(url, {"active": "0"}, follow=True)
    assert response.status_code == 404
    haidian_admin.refresh_from_db()
    assert haidian_admin.is_active


def test_reset_password_shows_the_new_password_once_and_it_works(client, haidian_admin, teacher, password):
    client.force_login(haidian_admin)
    response = client.post(reverse("accounts:manage_reset_password", args=[teacher.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    new_password = response.context["password"]
    teacher.refresh_from_db()
    assert teacher.check_password(new_password)
    assert not teacher.check_password(password)
    assert new_password not in html(client.get(reverse("accounts:manage_edit", args=[teacher.pk])))


def test_import_with_bad_rows_lists_them_by_line_and_creates_nothing(client, haidian_admin, teacher):
    csv_text = (
        "账号,姓名,单位代码,用户类型\n"
        "imp_one,刘洋,S110108001,教师\n"
        "teacher_zw,张伟,S110108001,教师\n"  # line 3: account taken
        "imp_two,陈静,S120101001,学生\n"  # line 4: unit outside the subtree
        "imp_three,杨磊,S110108002,student\n"
        "imp_four,,S110108002,教师\n"  # line 6: no name
    )
    client.force_login(haidian_admin)
    upload = SimpleUploadedFile("accounts.csv", csv_text.encode("utf-8-sig"), content_type="text/csv")
    response = client.post(reverse("accounts:manage_import"), {"file": upload})
    assert response.status_code == 200
    result = response.context["result"]
    assert result.created == []
    assert [error.line for error in result.errors] == [3, 4, 6]
    page = html(response)
    assert "3 行未导入" in page and "已创建" not in page
    assert not User.objects.filter(username__startswith="imp_").exists()


def test_import_of_good_rows_shows_every_password_once(client, haidian_admin, teacher):
    csv_text = "账号,姓名,单位代码,用户类型\nimp_one,刘洋,S110108001,教师\nimp_three,杨磊,S110108002,student\n"
    client.force_login(haidian_admin)
    upload = SimpleUploadedFile("accounts.csv", csv_text.encode("utf-8-sig"), content_type="text/csv")
    response = client.post(reverse("accounts:manage_import"), {"file": upload})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    result = response.context["result"]
    assert [line for line, _issued in result.created] == [2, 3]
    page = html(response)
    assert "已创建 2 个账号" in page
    for _line, issued in result.created:
        assert issued.password in page
        assert User.objects.get(username=issued.user.username).check_password(issued.password)
    assert User.objects.get(username="imp_three").user_type == "student"


def test_import_reads_xlsx_files(client, tree, haidian_admin):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account", "name", "unit_code"])
    sheet.append(["xlsx_user", "李娜", "S110108002"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    client.force_login(haidian_admin)
    upload = SimpleUploadedFile("accounts.xlsx", buffer.getvalue())
    response = client.post(reverse("accounts:manage_import"), {"file": upload})
    assert [issued.user.username for _line, issued in response.context["result"].created] == ["xlsx_user"]


def test_import_of_an_unreadable_file_is_a_form_error(client, haidian_admin):
    client.force_login(haidian_admin)
    upload = SimpleUploadedFile("accounts.txt", b"hello")
    response = client.post(reverse("accounts:manage_import"), {"file": upload})
    assert response.status_code == 200
    assert "请上传 .csv 或 .xlsx 文件" in html(response)
    assert response.context["result"] is None


def test_the_import_template_is_a_csv_the_import_accepts(client, haidian_admin):
    client.force_login(haidian_admin)
    response = client.get(reverse("accounts:manage_import_template"))
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("账号,姓名,单位代码")
    filled = body + "from_template,杨磊,S110108001,教师,,,,\n"
    upload = SimpleUploadedFile("filled.csv", filled.encode("utf-8-sig"))
    response = client.post(reverse("accounts:manage_import"), {"file": upload})
    assert response.context["result"].errors == []
    assert User.objects.filter(username="from_template").exists()


def test_a_provincial_admin_manages_the_whole_province(client, tree, teacher):
    beijing_admin = UserFactory(username="bj_admin", name="北京管理员", unit=tree.beijing)
    grant(beijing_admin, tree.beijing)
    client.force_login(beijing_admin)
    assert client.get(reverse("accounts:manage_edit", args=[teacher.pk])).status_code == 200
