"""The back office: every model is registered and its pages answer, with search and filters."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import HandlingGroup, RoleAssignment, User, UserSearchTerm
from orgtree.models import OrgUnit
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db

MODELS = [OrgUnit, User, RoleAssignment, HandlingGroup, UserSearchTerm]


@pytest.fixture
def operator(tree):
    return UserFactory(username="ops", unit=tree.root, is_staff=True, is_superuser=True)


def test_every_project_model_is_registered_with_search():
    for model in MODELS:
        model_admin = admin.site._registry.get(model)
        assert model_admin is not None, model
        assert model_admin.search_fields, model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_with_search_and_change_page_answer(client, operator, teacher, tree, model):
    grant(teacher, tree.haidian, "support_agent")
    client.force_login(operator)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "海淀"}).status_code == 200
    obj = model.objects.order_by("pk").first()
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    assert client.get(change).status_code == 200


def test_org_tree_changelist_shows_the_tree_and_filters_by_level(client, operator, tree):
    client.force_login(operator)
    url = reverse("admin:orgtree_orgunit_changelist")
    page = client.get(url, {"level__exact": "4"}).content.decode()
    assert "海淀实验小学" in page and "北京市" not in page.split("<tbody>")[1]
    searched = client.get(url, {"q": "海淀区"}).content.decode()
    assert "海淀区" in searched


def test_admin_edit_keeps_directory_search_in_step(client, operator, teacher):
    from accounts.selectors import directory_search

    client.force_login(operator)
    url = reverse("admin:accounts_user_change", args=[teacher.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "avatar")}
    data.update(
        {
            "name": "李雷",
            "unit": teacher.unit_id,
            "groups": [],
            "user_permissions": [],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "last_login_0": "",
            "last_login_1": "",
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
            "roles-MIN_NUM_FORMS": "0",
            "roles-MAX_NUM_FORMS": "1000",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert {t.user_id for t in directory_search(query="lilei")} == {teacher.pk}
