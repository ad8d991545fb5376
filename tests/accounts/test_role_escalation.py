"""Who may manage whom: every account action × administrators placed around the target × targets
holding higher, equal and lower roles, over the API and the portal.

The rule: an administrator manages an account only when the account's home unit lies in its subtree
and every role the account holds is below its own: an administrator role strictly below the
administrator's unit, any other role inside its subtree. Superusers are managed by superusers only.
A refusal is a 404 and leaves the account exactly as it was.
"""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role, RoleAssignment, User
from tests.factories import UserFactory, grant, make_unit

ACCOUNTS_URL = "/api/v1/accounts/"

# Where the acting administrator sits, relative to 海淀区 (the target's home unit).
ACTORS = ("same", "parent", "child", "sibling")
# What the target (home unit 海淀区) holds.
TARGETS = ("higher", "equal", "lower_admin", "lower_agent", "plain")
MANAGES = {
    ("same", "higher"): False,
    ("same", "equal"): False,
    ("same", "lower_admin"): True,
    ("same", "lower_agent"): True,
    ("same", "plain"): True,
    ("parent", "higher"): False,
    ("parent", "equal"): True,
    ("parent", "lower_admin"): True,
    ("parent", "lower_agent"): True,
    ("parent", "plain"): True,
    **{("child", target): False for target in TARGETS},
    **{("sibling", target): False for target in TARGETS},
}
CELLS = [(actor, target, MANAGES[actor, target]) for actor in ACTORS for target in TARGETS]


@pytest.fixture
def world(tree):
    tree.chaoyang = make_unit(tree.beijing, "朝阳区", "110105")
    actors = {
        "same": tree.haidian,
        "parent": tree.beijing,
        "child": tree.school_a,
        "sibling": tree.chaoyang,
    }
    tree.actors = {}
    for position, unit in actors.items():
        actor = UserFactory(username=f"actor_{position}", unit=unit, user_type="staff")
        grant(actor, unit)
        tree.actors[position] = actor
    return tree


def make_target(tree, kind: str) -> User:
    target = UserFactory(username=f"target_{kind}", unit=tree.haidian, user_type="staff")
    if kind == "higher":
        grant(target, tree.beijing)
    elif kind == "equal":
        grant(target, tree.haidian)
    elif kind == "lower_admin":
        grant(target, tree.school_a)
    elif kind == "lower_agent":
        grant(target, tree.haidian, Role.SUPPORT_AGENT)
    return target


def state(user: User) -> tuple:
    user.refresh_from_db()
    roles = sorted(RoleAssignment.objects.filter(user=user).values_list("unit_id", "role"))
    return (user.nickname, user.password, user.is_active, user.session_generation, user.unit_id, roles)


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


API_ACTIONS = {
    "edit": lambda c, t, tree: c.patch(f"{ACCOUNTS_URL}{t.pk}/", {"nickname": "改名"}, format="json"),
    "reset_password": lambda c, t, tree: c.post(f"{ACCOUNTS_URL}{t.pk}/reset-password/"),
    "deactivate": lambda c, t, tree: c.post(f"{ACCOUNTS_URL}{t.pk}/deactivate/"),
    "grant_role": lambda c, t, tree: c.post(
        f"{ACCOUNTS_URL}{t.pk}/roles/", {"role": "support_agent", "unit": tree.school_b.pk}, format="json"
    ),
    "read": lambda c, t, tree: c.get(f"{ACCOUNTS_URL}{t.pk}/"),
}


@pytest.mark.parametrize("action", sorted(API_ACTIONS))
@pytest.mark.parametrize(("actor", "target", "allowed"), CELLS)
def test_api_account_actions_follow_the_role_rule(world, action, actor, target, allowed):
    account = make_target(world, target)
    before = state(account)
    response = API_ACTIONS[action](api_as(world.actors[actor]), account, world)
    if allowed:
        assert response.status_code in (200, 201), response.content
        if action != "read":
            assert state(account) != before
    else:
        assert response.status_code == 404, response.content
        assert state(account) == before


@pytest.mark.parametrize(("actor", "target", "allowed"), CELLS)
def test_api_list_shows_only_accounts_the_admin_manages(world, actor, target, allowed):
    account = make_target(world, target)
    ids = {row["id"] for row in api_as(world.actors[actor]).get(ACCOUNTS_URL).json()["results"]}
    assert (account.pk in ids) is allowed


@pytest.mark.parametrize(("actor", "target", "allowed"), CELLS)
def test_api_role_revoke_follows_the_role_rule(world, actor, target, allowed):
    account = make_target(world, target)
    # Every target also holds a lower role the actor could otherwise take away.
    extra = grant(account, world.school_b, Role.ANSWER_REVIEWER)
    before = state(account)
    response = api_as(world.actors[actor]).delete(f"/api/v1/roles/{extra.pk}/")
    if allowed:
        assert response.status_code == 204
        assert not RoleAssignment.objects.filter(pk=extra.pk).exists()
    else:
        assert response.status_code == 404
        assert state(account) == before


PORTAL_ACTIONS = {
    "edit": lambda c, t, tree: c.post(
        reverse("accounts:manage_edit", args=[t.pk]),
        {"name": t.name, "nickname": "改名", "phone": "", "email": "", "user_type": "staff", "unit_code": "110108"},
    ),
    "reset_password": lambda c, t, tree: c.post(reverse("accounts:manage_reset_password", args=[t.pk])),
    "deactivate": lambda c, t, tree: c.post(reverse("accounts:manage_set_active", args=[t.pk]), {"active": "0"}),
    "read": lambda c, t, tree: c.get(reverse("accounts:manage_edit", args=[t.pk])),
}


@pytest.mark.parametrize("action", sorted(PORTAL_ACTIONS))
@pytest.mark.parametrize(("actor", "target", "allowed"), CELLS)
def test_portal_account_actions_follow_the_role_rule(client, world, action, actor, target, allowed):
    account = make_target(world, target)
    before = state(account)
    client.force_login(world.actors[actor])
    response = PORTAL_ACTIONS[action](client, account, world)
    if allowed:
        assert response.status_code in (200, 302)
        if action != "read":
            assert state(account) != before
    else:
        assert response.status_code == 404
        assert state(account) == before


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("target", TARGETS)
def test_import_cannot_reach_an_existing_account(world, actor, target):
    """An import only issues new accounts: a row naming an existing one, in any letter case, is refused
    and the file creates nothing."""
    account = make_target(world, target)
    before = state(account)
    unit_code = {"same": "110108", "parent": "110108", "child": "S110108001", "sibling": "110105"}[actor]
    content = f"account,name,unit_code,password\n{account.username.upper()},冒名,{unit_code},Xx-secret-2026\n"
    upload = io.BytesIO(content.encode())
    upload.name = "accounts.csv"
    response = api_as(world.actors[actor]).post(f"{ACCOUNTS_URL}import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "line.2" in response.json()["fields"]
    assert state(account) == before
    assert User.objects.filter(username__iexact=account.username).count() == 1


# --- The attacks the issue reported -----------------------------------------------------------------
def test_the_ministry_admin_cannot_reset_the_platform_superuser(world):
    ministry_admin = UserFactory(username="moe_admin", unit=world.root, user_type="staff")
    grant(ministry_admin, world.root)
    superuser = UserFactory(username="admin", unit=world.root, is_superuser=True, is_staff=True)
    before = state(superuser)
    client = api_as(ministry_admin)
    assert client.post(f"{ACCOUNTS_URL}{superuser.pk}/reset-password/").status_code == 404
    assert client.post(f"{ACCOUNTS_URL}{superuser.pk}/deactivate/").status_code == 404
    assert state(superuser) == before
    # Another superuser still can.
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    assert api_as(operator).post(f"{ACCOUNTS_URL}{superuser.pk}/reset-password/").status_code == 200


def test_a_county_admin_cannot_take_over_a_provincial_admin_homed_in_its_county(world):
    province_admin = UserFactory(username="bj_admin2", unit=world.haidian, user_type="staff")
    grant(province_admin, world.beijing)
    chaoyang_teacher = UserFactory(username="cy_teacher", unit=world.chaoyang)
    county = api_as(world.actors["same"])
    before = state(province_admin)
    assert county.post(f"{ACCOUNTS_URL}{province_admin.pk}/reset-password/").status_code == 404
    assert state(province_admin) == before
    # So it never acts as 北京市: 朝阳区's accounts stay out of its reach.
    assert county.get(f"{ACCOUNTS_URL}{chaoyang_teacher.pk}/").status_code == 404
    response = county.post(
        f"{ACCOUNTS_URL}{world.actors['same'].pk}/roles/", {"role": "unit_admin", "unit": world.chaoyang.pk}
    )
    assert response.status_code == 404
    assert not RoleAssignment.objects.filter(user=world.actors["same"], unit=world.chaoyang).exists()
