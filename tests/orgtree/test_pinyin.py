"""Every unit keeps its name's pinyin and initials: written by the services on create (one by one and
in bulk) and rename, by load_divisions, by the back office's form, and by migration 0004 for the
units that existed before; unit searches match them by prefix through their own index."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from orgtree import selectors, services
from orgtree.management.commands import load_divisions as loader
from orgtree.models import OrgLevel, OrgUnit
from tests.concurrency import require_postgres
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def pinyin_of(code: str) -> tuple[str, str]:
    return tuple(OrgUnit.objects.filter(code=code).values_list("name_pinyin", "name_initials").get())


def test_units_created_one_by_one_have_their_pinyin(tree):
    assert pinyin_of("000000") == ("zhonghuarenmingongheguojiaoyubu", "zhrmghgjyb")
    assert pinyin_of("110108") == ("haidianqu", "hdq")
    unit = services.unit_create(parent=tree.haidian, name="海淀区(实验)第101中学·分校", code="S110108009")
    # Brackets and dots dropped, digits kept: a prefix match is a plain range.
    assert (unit.name_pinyin, unit.name_initials) == ("haidianqushiyandi101zhongxuefenxiao", "hdqsyd1zxfx")


def test_units_added_in_bulk_have_their_pinyin(tree):
    children = [OrgUnit(name="青龙桥小学", code="S110108101", level=OrgLevel.SCHOOL)]
    services.units_bulk_add_children(parent=tree.haidian, children=children)
    assert pinyin_of("S110108101") == ("qinglongqiaoxiaoxue", "qlqxx")


def test_load_divisions_fills_pinyin_and_follows_a_rename(monkeypatch):
    divisions = [
        loader.Division(code="110000", name="北京市", level=OrgLevel.PROVINCE, parent_code=loader.ROOT_CODE),
        loader.Division(code="110108", name="海淀区", level=OrgLevel.COUNTY, parent_code="110000"),
    ]
    monkeypatch.setattr(loader, "national_divisions", lambda: divisions)
    call_command("load_divisions", "--no-progress", stdout=StringIO(), stderr=StringIO())
    assert pinyin_of("110000") == ("beijingshi", "bjs")
    assert pinyin_of("110108") == ("haidianqu", "hdq")
    divisions[1] = loader.Division(code="110108", name="中关村区", level=OrgLevel.COUNTY, parent_code="110000")
    call_command("load_divisions", "--no-progress", stdout=StringIO(), stderr=StringIO())
    assert pinyin_of("110108") == ("zhongguancunqu", "zgcq")


def test_the_back_office_form_fills_pinyin_on_add_and_rename(client, tree):
    operator = UserFactory(username="ops", unit=tree.root, is_staff=True, is_superuser=True)
    client.force_login(operator)
    change = reverse("admin:orgtree_orgunit_change", args=[tree.school_a.pk])
    form = client.get(change).context["adminform"].form
    data = {k: getattr(v, "pk", v) for k, v in form.initial.items() if v is not None}
    data["name"] = "海淀育英学校"
    response = client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert pinyin_of("S110108001") == ("haidianyuyingxuexiao", "hdyyxx")

    added = {"name": "青龙桥小学", "code": "S110108102", "level": OrgLevel.SCHOOL, "kind": "school"}
    added |= {"treebeard_position": "first-child", "treebeard_ref_node": tree.haidian.pk}
    response = client.post(reverse("admin:orgtree_orgunit_add"), added)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert pinyin_of("S110108102") == ("qinglongqiaoxiaoxue", "qlqxx")


def test_migration_0004_fills_the_units_that_existed_before(tree):
    OrgUnit.objects.update(name_pinyin="", name_initials="")
    migration = importlib.import_module("orgtree.migrations.0004_unit_pinyin")
    migration.fill_pinyin(apps, None)
    assert pinyin_of("S110108002") == ("haidiandiyizhongxue", "hddyzx")
    assert not OrgUnit.objects.filter(name_pinyin="").exists()


@pytest.mark.parametrize(("query", "initials"), [("haidianshi", False), ("HDSY", True), ("hdsy", True)])
def test_pinyin_search_by_prefix(tree, query, initials):
    found = selectors.unit_pinyin_search(query=query, initials=initials)
    assert [unit.code for unit in found] == ["S110108001"]


def test_pinyin_search_is_served_by_its_index_in_order():
    """On PostgreSQL the filter and the order come from the (name_pinyin, path) index: no sort, so a
    page stops after its rows however many units match."""
    require_postgres()
    for initials, index in ((False, "orgunit_pinyin_path"), (True, "orgunit_initials_path")):
        query = selectors.unit_pinyin_search(query="hd", initials=initials)[:20]
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            # The test table is tiny, where a scan and a sort are cheapest: rule them out to see
            # whether the index can give the rows already filtered and in order.
            for plan_type in ("seqscan", "bitmapscan", "sort"):
                cursor.execute(f"SET LOCAL enable_{plan_type} = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert index in plan and "Sort" not in plan, plan
