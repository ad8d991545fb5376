import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from openpyxl import Workbook
from PIL import Image

from accounts import selectors, services
from accounts.models import DeviceSession, Role, User, UserSearchTerm
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db


def test_name_pinyin():
    assert services.name_pinyin("张伟") == ("zhangwei", "zw")
    assert services.name_pinyin("欧阳娜娜") == ("ouyangnana", "oynn")
    assert services.name_pinyin("") == ("", "")


def test_admin_issues_account_in_subtree_and_it_is_searchable(tree, haidian_admin):
    issued = services.user_create(
        actor=haidian_admin, username="li_na", name="李娜", unit=tree.school_a, user_type="teacher"
    )
    user = User.objects.get(username="li_na")
    assert user.check_password(issued.password)
    assert (user.name_pinyin, user.name_initials) == ("lina", "ln")
    assert {t.user_id for t in selectors.directory_search(query="ln")} == {user.pk}


def test_admin_cannot_issue_outside_subtree(tree, haidian_admin):
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=haidian_admin, username="x_tj", name="某人", unit=tree.school_tj)
    assert "unit" in exc.value.message_dict
    assert not User.objects.filter(username="x_tj").exists()


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"username": "a"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 65}, "username"),
        ({"name": ""}, "name"),
        ({"name": "名" * 51}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"user_type": "alien"}, "user_type"),
        ({"password": "123"}, "password"),
    ],
)
def test_user_create_bad_input_names_the_field(tree, haidian_admin, fields, bad_field):
    data = {"username": "good_one", "name": "好人", "unit": tree.school_a} | fields
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=haidian_admin, **data)
    assert bad_field in exc.value.message_dict
    assert User.objects.filter(unit=tree.school_a).count() == 0


def test_duplicate_account_is_a_field_error(tree, haidian_admin, teacher):
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=haidian_admin, username=teacher.username, name="重名", unit=tree.school_a)
    assert "username" in exc.value.message_dict


def test_update_moves_within_subtree_only_and_refreshes_search(tree, haidian_admin, teacher):
    services.user_update(actor=haidian_admin, user=teacher, data={"name": "李雷", "unit": tree.school_b})
    teacher.refresh_from_db()
    assert teacher.unit == tree.school_b
    assert set(UserSearchTerm.objects.filter(user=teacher).values_list("term", flat=True)) >= {"lilei", "ll"}
    assert not selectors.directory_search(query="zhangwei").exists()
    with pytest.raises(ValidationError):
        services.user_update(actor=haidian_admin, user=teacher, data={"unit": tree.school_tj})
    teacher.refresh_from_db()
    assert teacher.unit == tree.school_b
    with pytest.raises(ValidationError):
        services.user_update(actor=haidian_admin, user=teacher, data={"is_superuser": True})


def test_deactivate_revokes_tokens_and_hides_from_directory(tree, haidian_admin, teacher):
    services.token_issue(user=teacher)
    services.user_deactivate(actor=haidian_admin, user=teacher)
    teacher.refresh_from_db()
    assert not teacher.is_active
    assert not DeviceSession.objects.filter(user=teacher).exists()
    assert not selectors.directory_search(query="zw").exists()
    with pytest.raises(ValidationError):
        services.user_deactivate(actor=haidian_admin, user=haidian_admin)


def test_deactivate_outside_subtree_refused(tree, haidian_admin, tianjin_teacher):
    with pytest.raises(Http404):
        services.user_deactivate(actor=haidian_admin, user=tianjin_teacher)
    tianjin_teacher.refresh_from_db()
    assert tianjin_teacher.is_active


def test_reset_password_returns_working_password_and_revokes_tokens(tree, haidian_admin, teacher):
    services.token_issue(user=teacher)
    new_password = services.user_reset_password(actor=haidian_admin, user=teacher)
    teacher.refresh_from_db()
    assert teacher.check_password(new_password)
    assert not DeviceSession.objects.filter(user=teacher).exists()


def test_password_change_rules(teacher, password):
    services.token_issue(user=teacher)
    with pytest.raises(ValidationError) as exc:
        services.password_change(
            user=teacher, old_password="wrong", new_password="N3w-Secret-42", new_password_confirm="N3w-Secret-42"
        )
    assert "old_password" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.password_change(
            user=teacher, old_password=password, new_password="N3w-Secret-42", new_password_confirm="different"
        )
    assert "new_password_confirm" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.password_change(
            user=teacher, old_password=password, new_password="12345678", new_password_confirm="12345678"
        )
    assert "new_password" in exc.value.message_dict
    assert DeviceSession.objects.filter(user=teacher).exists()
    services.password_change(
        user=teacher, old_password=password, new_password="N3w-Secret-42", new_password_confirm="N3w-Secret-42"
    )
    teacher.refresh_from_db()
    assert teacher.check_password("N3w-Secret-42")
    assert not DeviceSession.objects.filter(user=teacher).exists()


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_profile_update_with_avatar_and_refused_fields(teacher):
    services.profile_update(
        user=teacher,
        data={"nickname": "伟哥", "avatar": SimpleUploadedFile("a.png", _png_bytes(), content_type="image/png")},
    )
    teacher.refresh_from_db()
    assert teacher.nickname == "伟哥"
    assert teacher.avatar.name.endswith(".png")
    assert {t.user_id for t in selectors.directory_search(query="伟哥")} == {teacher.pk}
    with pytest.raises(ValidationError) as exc:
        services.profile_update(user=teacher, data={"unit": None})
    assert "unit" in exc.value.message_dict


def test_avatar_that_is_not_an_image_is_refused(teacher):
    fake = SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")
    with pytest.raises(ValidationError) as exc:
        services.profile_update(user=teacher, data={"avatar": fake})
    assert "avatar" in exc.value.message_dict
    teacher.refresh_from_db()
    assert not teacher.avatar


def test_import_csv_with_bad_rows_reports_every_one_and_creates_nothing(tree, haidian_admin, teacher):
    csv_text = (
        "账号,姓名,单位代码,用户类型,手机,邮箱\n"
        "imp_one,赵敏,S110108001,教师,13800000000,zm@example.com\n"
        "imp_two,钱多,S999999999,teacher,,\n"  # unknown unit
        f"{teacher.username.upper()},重复,S110108001,teacher,,\n"  # existing account, other letter case
        "imp_three,孙悟空,S120101001,student,,\n"  # outside the admin's subtree
        "imp_four,周芷若,S110108002,student,,bad-email\n"  # bad email
        "imp_one,赵敏二,S110108001,teacher,,\n"  # repeated in the file
        "\n"
        "imp_five,吴用,S110108002,parent,,\n"
    )
    result = services.users_import(actor=haidian_admin, filename="accounts.csv", content=csv_text.encode("utf-8-sig"))
    assert result.created == []
    assert {e.line for e in result.errors} == {3, 4, 5, 6, 7}
    messages = {e.line: " ".join(e.messages) for e in result.errors}
    assert "S999999999" in messages[3]
    assert messages[4].startswith("账号：")
    assert messages[6].startswith("邮箱：")
    assert "2" in messages[7]
    assert not User.objects.filter(username__startswith="imp_").exists()


def test_import_csv_of_good_rows_creates_every_account(tree, haidian_admin):
    csv_text = (
        "账号,姓名,单位代码,用户类型,手机,邮箱\n"
        "imp_one,赵敏,S110108001,教师,13800000000,zm@example.com\n"
        "\n"
        "imp_five,吴用,S110108002,parent,,\n"
    )
    result = services.users_import(actor=haidian_admin, filename="accounts.csv", content=csv_text.encode("utf-8-sig"))
    assert result.errors == []
    assert [line for line, _ in result.created] == [2, 4]
    created = dict(result.created)
    imported = User.objects.get(username="imp_one")
    assert imported.check_password(created[2].password)
    assert (imported.user_type, imported.phone, imported.name_pinyin) == ("teacher", "13800000000", "zhaomin")
    assert {t.user_id for t in selectors.directory_search(query="wuyong")} == {created[4].user.pk}


def test_import_xlsx(tree, haidian_admin):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account", "name", "unit_code", "user_type"])
    sheet.append(["x_one", "甲", "S110108001", "teacher"])
    sheet.append(["x_two", None, "S110108001", "teacher"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = services.users_import(actor=haidian_admin, filename="a.xlsx", content=buffer.getvalue())
    assert result.created == []
    assert [e.line for e in result.errors] == [3]
    assert not User.objects.filter(username="x_one").exists()


@pytest.mark.parametrize(
    ("filename", "content"),
    [("a.txt", b"hello"), ("a.xlsx", b"not a zip"), ("a.csv", b""), ("a.csv", b"foo,bar\n1,2\n")],
)
def test_import_unreadable_file_is_a_file_error(tree, haidian_admin, filename, content):
    with pytest.raises(ValidationError) as exc:
        services.users_import(actor=haidian_admin, filename=filename, content=content)
    assert "file" in exc.value.message_dict


def test_role_grant_rules(tree, haidian_admin, teacher, tianjin_teacher):
    agent = services.role_grant(actor=haidian_admin, user=teacher, unit=tree.school_a, role=Role.SUPPORT_AGENT)
    assert agent.on_duty
    services.agent_set_duty(assignment=agent, on_duty=False)
    agent.refresh_from_db()
    assert not agent.on_duty
    # An admin appoints administrators below its unit, not peers of its own unit.
    services.role_grant(actor=haidian_admin, user=teacher, unit=tree.school_a, role=Role.UNIT_ADMIN)
    with pytest.raises(ValidationError):
        services.role_grant(actor=haidian_admin, user=teacher, unit=tree.haidian, role=Role.UNIT_ADMIN)
    with pytest.raises(ValidationError):
        services.role_grant(actor=haidian_admin, user=tianjin_teacher, unit=tree.school_tj, role=Role.SUPPORT_AGENT)


def test_scoping_selectors(tree, haidian_admin, teacher, tianjin_teacher):
    assert set(selectors.managed_users(actor=haidian_admin)) == {teacher}
    assert selectors.can_manage_unit(actor=haidian_admin, unit=tree.school_b)
    assert not selectors.can_manage_unit(actor=haidian_admin, unit=tree.beijing)
    province_admin = UserFactory(unit=tree.beijing)
    grant(province_admin, tree.beijing)
    assert set(selectors.managed_users(actor=province_admin)) == {haidian_admin, teacher}
    assert list(selectors.managed_users(actor=teacher)) == []


def test_admin_cannot_remove_a_peer_admin_of_its_own_unit(tree, haidian_admin):
    peer = UserFactory(unit=tree.haidian)
    assignment = grant(peer, tree.haidian)
    with pytest.raises(ValidationError):
        services.role_revoke(actor=haidian_admin, assignment=assignment)
    assert assignment.__class__.objects.filter(pk=assignment.pk).exists()
    province_admin = UserFactory(unit=tree.beijing)
    grant(province_admin, tree.beijing)
    services.role_revoke(actor=province_admin, assignment=assignment)
    assert not assignment.__class__.objects.filter(pk=assignment.pk).exists()


def test_an_admin_cannot_reset_their_own_password(haidian_admin):
    with pytest.raises(ValidationError) as exc:
        services.user_reset_password(actor=haidian_admin, user=haidian_admin)
    assert "password" in exc.value.message_dict
