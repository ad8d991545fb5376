"""Roles on the portal: an administrator appoints and removes roles on an account's page and
changes an agent's handling groups and duty; an agent switches its own duty; every change is
recorded and listed on the page. Refusals change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import HandlingGroup, Role, RoleAssignment, RoleChange, RoleChangeAction
from tests.factories import UserFactory, grant


def html(response) -> str:
    return response.content.decode()


def roles_of(user) -> list[tuple]:
    return sorted(RoleAssignment.objects.filter(user=user).values_list("unit_id", "role", "on_duty"))


@pytest.fixture
def admin_client(client, haidian_admin):
    client.force_login(haidian_admin)
    return client


def add_url(user) -> str:
    return reverse("accounts:manage_role_add", args=[user.pk])


def test_the_account_page_offers_roles_units_by_name_and_handling_groups(admin_client, tree, teacher):
    response = admin_client.get(reverse("accounts:manage_edit", args=[teacher.pk]))
    page = html(response)
    assert response.status_code == 200
    assert "任命角色" in page and "角色变更记录" in page and "暂无角色变更记录" in page
    # The unit is a list of units by name (the account's own school first), not a code to type.
    assert '<select name="unit"' in page
    assert f'<option value="{tree.school_a.pk}" selected>海淀实验小学（S110108001）</option>' in page
    assert "天津" not in page.split('name="unit"')[1].split("</select>")[0]
    assert "硬件 / 设备故障" in page and "技术支持人员" in page


def test_appoint_an_agent_with_groups_then_change_and_remove_it(admin_client, tree, teacher, haidian_admin):
    hardware, software = HandlingGroup.objects.get(code="hardware"), HandlingGroup.objects.get(code="software")
    response = admin_client.post(
        add_url(teacher),
        {"role": Role.SUPPORT_AGENT, "unit": tree.school_a.pk, "handling_groups": [hardware.pk], "on_duty": "on"},
    )
    assert response.status_code == 302 and response.url.endswith("#roles")
    agent = RoleAssignment.objects.get(user=teacher, role=Role.SUPPORT_AGENT)
    assert agent.on_duty and list(agent.handling_groups.values_list("code", flat=True)) == ["hardware"]
    granted = RoleChange.objects.get(user=teacher)
    assert (granted.action, granted.actor, granted.unit, granted.role) == (
        RoleChangeAction.GRANTED,
        haidian_admin,
        tree.school_a,
        Role.SUPPORT_AGENT,
    )
    assert granted.before is None and granted.after == {"on_duty": True, "handling_groups": ["hardware"]}

    # The administrator changes the agent's groups and takes it off duty.
    response = admin_client.post(
        reverse("accounts:manage_role_update", args=[teacher.pk, agent.pk]),
        {f"role-{agent.pk}-handling_groups": [hardware.pk, software.pk]},
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert not agent.on_duty
    assert sorted(agent.handling_groups.values_list("code", flat=True)) == ["hardware", "software"]
    changed = RoleChange.objects.filter(user=teacher).order_by("-id").first()
    assert changed.action == RoleChangeAction.UPDATED
    assert changed.before == {"on_duty": True, "handling_groups": ["hardware"]}
    assert changed.after == {"on_duty": False, "handling_groups": ["hardware", "software"]}

    page = html(admin_client.get(reverse("accounts:manage_edit", args=[teacher.pk])))
    assert "在岗 → 离岗" in page
    assert "处理组：硬件 / 设备故障 → 硬件 / 设备故障、软件 / 软件异常" in page
    assert "操作人：海淀管理员" in page
    # Newest first.
    assert page.index("调整</strong>") < page.index("任命</strong>")

    response = admin_client.post(reverse("accounts:manage_role_remove", args=[teacher.pk, agent.pk]), follow=True)
    assert "已撤销海淀实验小学的技术支持人员" in html(response)
    assert roles_of(teacher) == []
    revoked = RoleChange.objects.filter(user=teacher).order_by("-id").first()
    assert revoked.action == RoleChangeAction.REVOKED and revoked.after is None
    assert revoked.before == {"on_duty": False, "handling_groups": ["hardware", "software"]}


@pytest.mark.parametrize("role", [Role.ANSWER_REVIEWER, Role.NOTICE_PUBLISHER, Role.NOTICE_REVIEWER])
def test_appoint_the_other_roles(admin_client, tree, teacher, role):
    response = admin_client.post(add_url(teacher), {"role": role, "unit": tree.school_a.pk}, follow=True)
    assert response.status_code == 200
    assert "已任命为海淀实验小学的" in html(response)
    assert roles_of(teacher) == [(tree.school_a.pk, role, True)]
    assert RoleChange.objects.get(user=teacher).after == {}


def test_appoint_a_school_administrator_from_above(admin_client, tree, teacher):
    admin_client.post(add_url(teacher), {"role": Role.UNIT_ADMIN, "unit": tree.school_a.pk})
    assert roles_of(teacher) == [(tree.school_a.pk, Role.UNIT_ADMIN, True)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"role": "", "unit": "SCHOOL"}, "该字段是必填项"),
        ({"role": "emperor", "unit": "SCHOOL"}, "选择一个有效的选项"),
        ({"role": Role.SUPPORT_AGENT, "unit": ""}, "该字段是必填项"),
        ({"role": Role.SUPPORT_AGENT, "unit": "abc"}, "选择一个有效的选项"),
        ({"role": Role.SUPPORT_AGENT, "unit": "TIANJIN"}, "您只能管理本单位及下级单位的账号"),
        ({"role": Role.SUPPORT_AGENT, "unit": "999999"}, "您只能管理本单位及下级单位的账号"),
        ({"role": Role.SUPPORT_AGENT, "unit": "SCHOOL", "handling_groups": ["999999"]}, "选择一个有效的选项"),
        # A peer administrator is appointed from above only.
        ({"role": Role.UNIT_ADMIN, "unit": "HAIDIAN"}, "单位管理员由上级单位任命"),
    ],
)
def test_bad_appointments_are_form_errors_in_chinese_and_change_nothing(admin_client, tree, teacher, payload, message):
    units = {"SCHOOL": tree.school_a.pk, "TIANJIN": tree.school_tj.pk, "HAIDIAN": tree.haidian.pk}
    data = {**payload, "unit": units.get(payload["unit"], payload["unit"])}
    response = admin_client.post(add_url(teacher), data)
    assert response.status_code == 400
    assert message in html(response)
    assert roles_of(teacher) == [] and not RoleChange.objects.exists()


def test_an_account_the_admin_does_not_manage_is_404_and_nothing_changes(admin_client, tree, tianjin_teacher):
    agent = grant(tianjin_teacher, tree.school_tj, Role.SUPPORT_AGENT)
    before = roles_of(tianjin_teacher)
    urls = [
        add_url(tianjin_teacher),
        reverse("accounts:manage_role_update", args=[tianjin_teacher.pk, agent.pk]),
        reverse("accounts:manage_role_remove", args=[tianjin_teacher.pk, agent.pk]),
    ]
    for url in urls:
        assert admin_client.post(url, {"role": Role.SUPPORT_AGENT, "unit": tree.school_a.pk}).status_code == 404
    assert roles_of(tianjin_teacher) == before and not RoleChange.objects.exists()


def test_an_equal_or_higher_administrator_is_404_and_keeps_its_roles(admin_client, tree):
    peer = UserFactory(username="hd_peer", unit=tree.haidian, user_type="staff")
    grant(peer, tree.haidian)
    boss = UserFactory(username="bj_boss", unit=tree.haidian, user_type="staff")
    grant(boss, tree.beijing)
    for target in (peer, boss):
        before = roles_of(target)
        assert admin_client.get(reverse("accounts:manage_edit", args=[target.pk])).status_code == 404
        assert (
            admin_client.post(add_url(target), {"role": Role.SUPPORT_AGENT, "unit": tree.haidian.pk}).status_code == 404
        )
        assignment = RoleAssignment.objects.filter(user=target).first()
        remove = reverse("accounts:manage_role_remove", args=[target.pk, assignment.pk])
        assert admin_client.post(remove).status_code == 404
        assert roles_of(target) == before
    assert not RoleChange.objects.exists()


def test_a_role_of_another_account_cannot_be_reached_through_this_one(admin_client, tree, teacher):
    other = UserFactory(username="other_t", unit=tree.school_b)
    agent = grant(other, tree.school_b, Role.SUPPORT_AGENT)
    url = reverse("accounts:manage_role_remove", args=[teacher.pk, agent.pk])
    assert admin_client.post(url).status_code == 404
    assert RoleAssignment.objects.filter(pk=agent.pk).exists()


def test_a_county_admin_cannot_remove_a_peer_admin_role_held_by_someone_it_manages(admin_client, tree, teacher):
    # The teacher is a school administrator (managed) and also holds a role in 天津 (not managed):
    # the account is then not below the county administrator at all.
    grant(teacher, tree.school_tj, Role.ANSWER_REVIEWER)
    assert admin_client.get(reverse("accounts:manage_edit", args=[teacher.pk])).status_code == 404


def test_the_update_form_refuses_unknown_groups_with_a_chinese_error(admin_client, tree, teacher):
    agent = grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    url = reverse("accounts:manage_role_update", args=[teacher.pk, agent.pk])
    response = admin_client.post(
        url, {f"role-{agent.pk}-handling_groups": ["424242"], f"role-{agent.pk}-on_duty": "on"}
    )
    assert response.status_code == 400 and "选择一个有效的选项" in html(response)
    assert not RoleChange.objects.exists()


def test_a_non_admin_cannot_use_the_role_pages(client, tree, teacher):
    other = UserFactory(username="other_t", unit=tree.school_a)
    client.force_login(teacher)
    assert client.post(add_url(other), {"role": Role.SUPPORT_AGENT, "unit": tree.school_a.pk}).status_code == 403
    assert roles_of(other) == []


# --- An agent's own duty ------------------------------------------------------------------------
def test_an_agent_switches_its_own_duty_from_the_menu(client, tree, teacher):
    agent = grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    client.force_login(teacher)
    page = html(client.get(reverse("accounts:profile")))
    assert "在岗 · 切换为离岗" in page and "切换为离岗" in page

    response = client.post(reverse("accounts:duty"), {"on_duty": "0", "next": "/tickets/"})
    assert response.status_code == 302 and response.url == "/tickets/"
    agent.refresh_from_db()
    assert not agent.on_duty
    change = RoleChange.objects.get(user=teacher)
    assert (change.actor, change.action) == (teacher, RoleChangeAction.UPDATED)
    assert (change.before["on_duty"], change.after["on_duty"]) == (True, False)

    page = html(client.get(reverse("accounts:profile")))
    assert "离岗 · 切换为在岗" in page
    response = client.post(reverse("accounts:duty"), {"on_duty": "1"}, follow=True)
    assert "您已在岗" in html(response)
    agent.refresh_from_db()
    assert agent.on_duty and RoleChange.objects.filter(user=teacher).count() == 2

    # Switching to the state it is already in records nothing.
    client.post(reverse("accounts:duty"), {"on_duty": "1"})
    assert RoleChange.objects.filter(user=teacher).count() == 2


def test_someone_who_is_no_agent_has_no_duty_switch(client, tree, teacher):
    client.force_login(teacher)
    assert "切换为离岗" not in html(client.get(reverse("accounts:profile")))
    assert client.post(reverse("accounts:duty"), {"on_duty": "0"}).status_code == 403
    assert client.get(reverse("accounts:duty")).status_code == 405


def test_the_duty_switch_does_not_follow_a_foreign_next(client, tree, teacher):
    grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    client.force_login(teacher)
    response = client.post(reverse("accounts:duty"), {"on_duty": "0", "next": "https://evil.example/"})
    assert response.url == reverse("accounts:profile")


def test_settings_of_a_role_that_is_no_agent_are_refused_with_a_message(admin_client, tree, teacher):
    reviewer = grant(teacher, tree.school_a, Role.ANSWER_REVIEWER)
    url = reverse("accounts:manage_role_update", args=[teacher.pk, reviewer.pk])
    response = admin_client.post(url, {f"role-{reviewer.pk}-on_duty": ""}, follow=True)
    assert "只有技术支持人员才有处理组和在岗状态" in html(response)
    reviewer.refresh_from_db()
    assert reviewer.on_duty and not RoleChange.objects.exists()


def test_the_unit_list_is_narrowed_by_a_name_search_within_the_managed_units(admin_client, tree, teacher):
    url = reverse("accounts:manage_edit", args=[teacher.pk])
    page = html(admin_client.get(url, {"unit_q": "第一"}))
    unit_list = page.split('name="unit"')[1].split("</select>")[0]
    assert f'<option value="{tree.school_b.pk}" selected>海淀第一中学（S110108002）</option>' in unit_list
    assert "海淀实验小学" not in unit_list
    # Units outside the administrator's subtree are never offered, whatever the search.
    page = html(admin_client.get(url, {"unit_q": "和平"}))
    assert "和平小学" not in page.split('name="unit"')[1].split("</select>")[0]
    assert "您管理的单位中没有匹配的单位" in page
