"""Role changes a superuser makes in Django admin are recorded like the portal's, and the record
itself is read only there."""

from __future__ import annotations

import pytest

from accounts.models import HandlingGroup, Role, RoleAssignment, RoleChange
from tests.factories import UserFactory, grant


@pytest.fixture
def operator_client(client, tree):
    operator = UserFactory(username="operator", unit=tree.root, is_staff=True, is_superuser=True)
    client.force_login(operator)
    client.operator = operator
    return client


def test_add_change_and_delete_in_admin_are_recorded(operator_client, tree, teacher):
    hardware = HandlingGroup.objects.get(code="hardware")
    response = operator_client.post(
        "/admin/accounts/roleassignment/add/",
        {
            "user": teacher.pk,
            "unit": tree.school_a.pk,
            "role": Role.SUPPORT_AGENT,
            "handling_groups": [hardware.pk],
            "on_duty": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agent = RoleAssignment.objects.get(user=teacher)
    granted = RoleChange.objects.get(user=teacher)
    assert (granted.action, granted.actor, granted.after) == (
        "granted",
        operator_client.operator,
        {"on_duty": True, "handling_groups": ["hardware"]},
    )

    operator_client.post(
        f"/admin/accounts/roleassignment/{agent.pk}/change/",
        {"user": teacher.pk, "unit": tree.school_a.pk, "role": Role.SUPPORT_AGENT, "handling_groups": []},
    )
    changed = RoleChange.objects.filter(user=teacher).latest("id")
    assert changed.action == "updated"
    assert (changed.before, changed.after) == (
        {"on_duty": True, "handling_groups": ["hardware"]},
        {"on_duty": False, "handling_groups": []},
    )

    operator_client.post(f"/admin/accounts/roleassignment/{agent.pk}/delete/", {"post": "yes"})
    assert not RoleAssignment.objects.filter(pk=agent.pk).exists()
    assert RoleChange.objects.filter(user=teacher).latest("id").action == "revoked"


def test_bulk_delete_in_admin_is_recorded(operator_client, tree, teacher):
    reviewer = grant(teacher, tree.school_a, Role.ANSWER_REVIEWER)
    response = operator_client.post(
        "/admin/accounts/roleassignment/",
        {"action": "delete_selected", "_selected_action": [reviewer.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(pk=reviewer.pk).exists()
    assert RoleChange.objects.get(user=teacher).action == "revoked"


def test_the_record_is_read_only_in_admin(operator_client, tree, teacher):
    change = RoleChange.objects.create(user=teacher, unit=tree.school_a, role=Role.SUPPORT_AGENT, action="granted")
    assert operator_client.get("/admin/accounts/rolechange/").status_code == 200
    assert operator_client.get("/admin/accounts/rolechange/add/").status_code == 403
    assert operator_client.post(f"/admin/accounts/rolechange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RoleChange.objects.filter(pk=change.pk).exists()


def test_roles_edited_inline_on_the_user_page_are_recorded(operator_client, tree, teacher):
    reviewer = grant(teacher, tree.school_a, Role.ANSWER_REVIEWER)
    data = {
        "username": teacher.username,
        "name": teacher.name,
        "nickname": "",
        "phone": "",
        "email": "",
        "unit": tree.school_a.pk,
        "user_type": teacher.user_type,
        "is_active": "on",
        "roles-TOTAL_FORMS": "2",
        "roles-INITIAL_FORMS": "1",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-id": reviewer.pk,
        "roles-0-user": teacher.pk,
        "roles-0-unit": tree.school_a.pk,
        "roles-0-role": Role.ANSWER_REVIEWER,
        "roles-0-on_duty": "on",
        "roles-0-DELETE": "on",
        "roles-1-user": teacher.pk,
        "roles-1-unit": tree.school_a.pk,
        "roles-1-role": Role.NOTICE_PUBLISHER,
        "roles-1-on_duty": "on",
    }
    response = operator_client.post(f"/admin/accounts/user/{teacher.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert list(RoleAssignment.objects.filter(user=teacher).values_list("role", flat=True)) == [Role.NOTICE_PUBLISHER]
    actions = sorted(RoleChange.objects.filter(user=teacher).values_list("action", "role"))
    assert actions == [("granted", Role.NOTICE_PUBLISHER), ("revoked", Role.ANSWER_REVIEWER)]
