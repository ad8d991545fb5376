"""Roles over the API: appointing, removing, an agent's groups and duty (PATCH /roles/<id>/), the
agent's own duty (/me/duty/) and the record of changes (GET /accounts/<id>/role-changes/), scoped
like the account: an account or role the administrator does not manage is a 404, nothing changes."""

from __future__ import annotations

import pytest

from accounts.models import Role, RoleAssignment, RoleChange, RoleChangeAction
from tests.factories import UserFactory, grant

ACCOUNTS_URL = "/api/v1/accounts/"


@pytest.fixture
def admin(auth_client, haidian_admin):
    return auth_client(haidian_admin)


def changes_url(user) -> str:
    return f"{ACCOUNTS_URL}{user.pk}/role-changes/"


def test_every_change_is_recorded_and_listed_newest_first(admin, tree, teacher, haidian_admin):
    response = admin.post(
        f"{ACCOUNTS_URL}{teacher.pk}/roles/",
        {"role": "support_agent", "unit": tree.school_a.pk, "handling_groups": ["hardware"]},
        format="json",
    )
    assert response.status_code == 201
    role_id = response.json()["id"]
    response = admin.patch(f"/api/v1/roles/{role_id}/", {"on_duty": False, "handling_groups": []}, format="json")
    assert response.status_code == 200
    assert (response.json()["on_duty"], response.json()["handling_groups"]) == (False, [])
    assert admin.delete(f"/api/v1/roles/{role_id}/").status_code == 204

    body = admin.get(changes_url(teacher)).json()
    rows = body["results"]
    assert [row["action"] for row in rows] == ["revoked", "updated", "granted"]
    assert [row["action_display"] for row in rows] == ["撤销", "调整", "任命"]
    granted = rows[2]
    assert granted["actor"] == {"id": haidian_admin.pk, "account": "hd_admin", "name": "海淀管理员"}
    assert granted["unit"] == {"id": tree.school_a.pk, "name": "海淀实验小学"}
    assert (granted["role"], granted["before"], granted["after"]) == (
        "support_agent",
        None,
        {"on_duty": True, "handling_groups": ["hardware"]},
    )
    assert rows[1]["before"] == {"on_duty": True, "handling_groups": ["hardware"]}
    assert rows[1]["after"] == {"on_duty": False, "handling_groups": []}
    assert rows[0]["after"] is None


def test_role_changes_page_with_a_cursor(admin, tree, teacher):
    agent = grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    for index in range(3):
        admin.patch(f"/api/v1/roles/{agent.pk}/", {"on_duty": index % 2 == 1}, format="json")
    first = admin.get(changes_url(teacher), {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = admin.get(first["next"]).json()
    assert len(second["results"]) == 1
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True)


def test_role_changes_are_scoped_like_the_account(auth_client, admin, tree, tianjin_teacher, teacher):
    RoleChange.objects.create(user=tianjin_teacher, unit=tree.school_tj, role=Role.SUPPORT_AGENT, action="granted")
    assert admin.get(changes_url(tianjin_teacher)).status_code == 404
    peer = UserFactory(username="hd_peer", unit=tree.haidian, user_type="staff")
    grant(peer, tree.haidian)
    assert admin.get(changes_url(peer)).status_code == 404
    assert auth_client(teacher).get(changes_url(teacher)).status_code == 403


def test_patch_refusals_change_nothing(admin, tree, teacher, tianjin_teacher):
    agent = grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    reviewer = grant(teacher, tree.school_a, Role.ANSWER_REVIEWER)
    foreign = grant(tianjin_teacher, tree.school_tj, Role.SUPPORT_AGENT)
    cases = [
        (agent.pk, {}, 400, "non_field_errors"),
        (agent.pk, {"handling_groups": ["cooking"]}, 400, "handling_groups"),
        (agent.pk, {"on_duty": "sometimes"}, 400, "on_duty"),
        (agent.pk, {"on_duty": False, "extra": 1}, 400, "extra"),
        (reviewer.pk, {"on_duty": False}, 400, "role"),
        (foreign.pk, {"on_duty": False}, 404, None),
        (999999, {"on_duty": False}, 404, None),
    ]
    for role_id, payload, status, field in cases:
        response = admin.patch(f"/api/v1/roles/{role_id}/", payload, format="json")
        assert response.status_code == status, (payload, response.content)
        if field:
            assert field in response.json()["fields"], response.json()
    assert RoleAssignment.objects.get(pk=agent.pk).on_duty
    assert RoleAssignment.objects.get(pk=foreign.pk).on_duty
    assert not RoleChange.objects.exists()


def test_appointing_a_peer_administrator_or_outside_the_subtree_records_nothing(admin, tree, teacher, tianjin_teacher):
    response = admin.post(
        f"{ACCOUNTS_URL}{teacher.pk}/roles/", {"role": "unit_admin", "unit": tree.haidian.pk}, format="json"
    )
    assert response.status_code == 400 and "role" in response.json()["fields"]
    response = admin.post(
        f"{ACCOUNTS_URL}{tianjin_teacher.pk}/roles/",
        {"role": "support_agent", "unit": tree.school_tj.pk},
        format="json",
    )
    assert response.status_code == 404
    assert not RoleAssignment.objects.filter(user__in=[teacher, tianjin_teacher]).exists()
    assert not RoleChange.objects.exists()


def test_granting_a_held_role_again_records_only_what_changed(admin, tree, teacher):
    url = f"{ACCOUNTS_URL}{teacher.pk}/roles/"
    payload = {"role": "support_agent", "unit": tree.school_a.pk, "handling_groups": ["hardware"]}
    admin.post(url, payload, format="json")
    admin.post(url, payload, format="json")
    assert RoleChange.objects.filter(user=teacher).count() == 1
    admin.post(url, {**payload, "on_duty": False}, format="json")
    latest = RoleChange.objects.filter(user=teacher).latest("id")
    assert latest.action == RoleChangeAction.UPDATED and latest.after["on_duty"] is False


def test_an_agent_sets_its_own_duty_and_it_is_recorded(auth_client, tree, teacher):
    agent = grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    client = auth_client(teacher)
    response = client.post("/api/v1/me/duty/", {"on_duty": False}, format="json")
    assert response.status_code == 200 and response.json()[0]["on_duty"] is False
    agent.refresh_from_db()
    assert not agent.on_duty
    change = RoleChange.objects.get(user=teacher)
    assert (change.actor_id, change.action, change.before["on_duty"], change.after["on_duty"]) == (
        teacher.pk,
        "updated",
        True,
        False,
    )
    # Nobody else's duty: a teacher without an agent role is refused.
    other = UserFactory(username="no_agent", unit=tree.school_a)
    assert auth_client(other).post("/api/v1/me/duty/", {"on_duty": False}, format="json").status_code == 403


def test_a_deleted_actor_leaves_the_record(tree, teacher, haidian_admin):
    from accounts import services

    services.role_grant(actor=haidian_admin, user=teacher, unit=tree.school_a, role=Role.ANSWER_REVIEWER)
    haidian_admin.delete()
    change = RoleChange.objects.get(user=teacher)
    assert change.actor is None and change.action == RoleChangeAction.GRANTED


def test_a_role_removed_meanwhile_is_404_and_records_nothing(tree, teacher, haidian_admin):
    from django.http import Http404

    from accounts import services

    agent = grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    stale = RoleAssignment.objects.get(pk=agent.pk)
    RoleAssignment.objects.filter(pk=agent.pk).delete()
    for call in (
        lambda: services.role_revoke(actor=haidian_admin, assignment=stale),
        lambda: services.role_update(actor=haidian_admin, assignment=stale, on_duty=False),
        lambda: services.agent_set_duty(assignment=stale, on_duty=False),
    ):
        with pytest.raises(Http404):
            call()
    assert not RoleChange.objects.exists()
