"""The back office: the platform's name, every model named in Chinese, internal tables left out,
records read-only; every model's pages answer, with search and filters."""

import re

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from accounts import services as account_services
from accounts.models import HandlingGroup, RoleAssignment, RoleChange, User
from helpdesk.admin import INTERNAL_MODELS
from orgtree.models import OrgUnit
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db

MODELS = [OrgUnit, User, RoleAssignment, HandlingGroup]
CJK = re.compile(r"[\u4e00-\u9fff]")
BRAND = "教育技术服务平台后台"


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


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_index_is_branded_and_names_every_app_and_model_in_chinese(client, operator):
    client.force_login(operator)
    page = client.get(reverse("admin:index")).content.decode()
    assert f"<title>后台首页 | {BRAND}</title>" in page
    assert re.search(rf'id="site-name"><a[^>]*>{BRAND}</a>', page)
    assert "<h1>后台首页</h1>" in page
    assert "Django" not in text_of(page)
    apps = re.findall(r"<caption>\s*<a[^>]*>([^<]+)</a>", page)
    assert {"账号", "组织机构", "技术支持", "登录保护", "认证和授权"} <= set(apps), apps
    models = re.findall(r'<th scope="row" id="[\w-]+">\s*<a[^>]*>([^<]+)</a>', page)
    assert len(models) == len(admin.site._registry), models
    english = [name for name in apps + models if not CJK.search(name)]
    assert english == []
    # Nothing of the page's text is Latin words but the account names and the "/" of the links.
    words = re.findall(r"[A-Za-z]{3,}", text_of(page.split('id="content-main"')[1]))
    assert words == [], words


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_change_list_is_in_chinese(client, operator, model):
    client.force_login(operator)
    opts = model._meta
    page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).content.decode()
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert CJK.search(title.split("|")[0]) and title.endswith(f"| {BRAND}"), title
    headers = [text_of(h).strip() for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page, re.S)]
    assert [h for h in headers if h and not CJK.search(h) and h not in {"IP 地址"}] == [], headers


@pytest.mark.parametrize("label", sorted(INTERNAL_MODELS))
def test_internal_tables_are_not_in_the_back_office(client, operator, label):
    app_label, model_name = label.split(".")
    assert not any(m._meta.label_lower == label for m in admin.site._registry)
    with pytest.raises(NoReverseMatch):
        reverse(f"admin:{app_label}_{model_name}_changelist")
    client.force_login(operator)
    assert client.get(f"/admin/{app_label}/{model_name}/").status_code == 404


def test_role_changes_are_read_only(client, operator, haidian_admin, teacher, tree):
    account_services.role_grant(actor=haidian_admin, user=teacher, unit=tree.school_a, role="support_agent")
    record = RoleChange.objects.get(user=teacher)
    client.force_login(operator)
    changelist = client.get(reverse("admin:accounts_rolechange_changelist")).content.decode()
    assert "角色变更记录" in changelist
    assert reverse("admin:accounts_rolechange_add") not in changelist
    change = reverse("admin:accounts_rolechange_change", args=[record.pk])
    page = client.get(change).content.decode()
    assert 'name="_save"' not in page and reverse("admin:accounts_rolechange_delete", args=[record.pk]) not in page
    assert client.post(change, {"action": "revoke"}).status_code == 403
    assert (
        client.post(reverse("admin:accounts_rolechange_delete", args=[record.pk]), {"post": "yes"}).status_code == 403
    )
    assert RoleChange.objects.filter(pk=record.pk).exists()


def test_the_org_tree_form_is_in_chinese(client, operator, tree):
    client.force_login(operator)
    page = client.get(reverse("admin:orgtree_orgunit_change", args=[tree.school_a.pk])).content.decode()
    labels = [text_of(label).strip() for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]
    assert {"名称:", "位置:", "参照单位:"} <= set(labels), labels
    assert [label for label in labels if label and not CJK.search(label)] == []
