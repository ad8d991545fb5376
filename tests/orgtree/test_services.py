"""Tree writes: validation, and consistency when several admins write under one unit at once."""

import pytest
from django.core.exceptions import ValidationError

from orgtree import services
from orgtree.models import OrgKind, OrgLevel, OrgUnit
from tests.concurrency import require_postgres, run_at_once


def field_errors(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


# --- Validation -----------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "code", "field"),
    [
        ("", "S1", "name"),
        ("   ", "S1", "name"),
        ("学" * 101, "S1", "name"),
        ("新学校", "", "code"),
        ("新学校", "9" * 33, "code"),
        ("新学校", "S110108001", "code"),  # 海淀实验小学's code
        ("新学校", "110000", "code"),  # 北京市's code
    ],
)
def test_bad_fields_are_rejected_with_field_messages(tree, name, code, field):
    before = OrgUnit.objects.count()
    with pytest.raises(ValidationError) as exc_info:
        services.unit_create(parent=tree.haidian, name=name, code=code)
    assert list(field_errors(exc_info)) == [field]
    assert OrgUnit.objects.count() == before
    tree.haidian.refresh_from_db()
    assert tree.haidian.numchild == 2


@pytest.mark.django_db
def test_a_unit_cannot_sit_at_or_above_its_parents_level(tree):
    with pytest.raises(ValidationError) as exc_info:
        services.unit_create(parent=tree.haidian, name="某县", code="110199", level=OrgLevel.COUNTY)
    assert list(field_errors(exc_info)) == ["level"]


@pytest.mark.django_db
def test_a_school_under_a_county_gets_the_next_level_and_the_school_kind(tree):
    school = services.unit_create(parent=tree.haidian, name=" 海淀第二中学 ", code=" S110108003 ")

    assert (school.name, school.code) == ("海淀第二中学", "S110108003")
    assert (school.level, school.kind) == (OrgLevel.SCHOOL, OrgKind.SCHOOL)
    assert OrgUnit.objects.get_parent(school) == tree.haidian
    assert tree.haidian.numchild == 3
    assert [u.code for u in OrgUnit.objects.get_children(tree.haidian)] == [
        "S110108001",
        "S110108002",
        "S110108003",
    ]


@pytest.mark.django_db
def test_bulk_children_go_after_the_existing_ones(tree):
    children = [
        OrgUnit(name=f"海淀新学校{i}", code=f"BULK{i}", level=OrgLevel.SCHOOL, kind=OrgKind.SCHOOL) for i in range(3)
    ]
    assert services.units_bulk_add_children(parent=tree.haidian, children=children) == 3
    single = services.unit_create(parent=tree.haidian, name="再来一所", code="ONEMORE")

    codes = [u.code for u in OrgUnit.objects.get_children(tree.haidian)]
    assert codes == ["S110108001", "S110108002", "BULK0", "BULK1", "BULK2", "ONEMORE"]
    assert OrgUnit.objects.get_parent(single) == tree.haidian
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------------
def _assert_consistent(parent: OrgUnit, expected_codes: set[str]) -> None:
    parent.refresh_from_db()
    children = list(OrgUnit.objects.get_children(parent))
    assert {child.code for child in children} == expected_codes
    assert len({child.path for child in children}) == len(children)
    assert parent.numchild == len(children)
    assert all(child.depth == parent.depth + 1 and child.path.startswith(parent.path) for child in children)
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_admins_adding_schools_under_one_county_at_once(tree):
    require_postgres()
    county = tree.haidian

    def add_schools(writer: int):
        def job():
            for n in range(5):
                services.unit_create(parent=county, name=f"并发学校{writer}-{n}", code=f"C{writer}-{n}")

        return job

    errors = run_at_once([add_schools(writer) for writer in range(8)])

    assert errors == []
    expected = {"S110108001", "S110108002"} | {f"C{w}-{n}" for w in range(8) for n in range(5)}
    _assert_consistent(county, expected)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bulk_loads_interleaved_with_single_adds_keep_the_tree_consistent(tree):
    require_postgres()
    county = tree.heping

    def single(writer: int):
        def job():
            for n in range(5):
                services.unit_create(parent=county, name=f"单独{writer}-{n}", code=f"ONE{writer}-{n}")

        return job

    def bulk(writer: int):
        def job():
            for batch in range(3):
                children = [
                    OrgUnit(
                        name=f"批量{writer}-{batch}-{n}",
                        code=f"BULK{writer}-{batch}-{n}",
                        level=OrgLevel.SCHOOL,
                        kind=OrgKind.SCHOOL,
                    )
                    for n in range(10)
                ]
                services.units_bulk_add_children(parent=county, children=children)

        return job

    errors = run_at_once([single(w) for w in range(4)] + [bulk(w) for w in range(4)])

    assert errors == []
    expected = (
        {"S120101001"}
        | {f"ONE{w}-{n}" for w in range(4) for n in range(5)}
        | {f"BULK{w}-{b}-{n}" for w in range(4) for b in range(3) for n in range(10)}
    )
    _assert_consistent(county, expected)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_admins_racing_for_one_code_get_one_unit_and_one_field_error(tree):
    require_postgres()
    results: list[object] = []

    def job():
        try:
            results.append(services.unit_create(parent=tree.haidian, name="同码学校", code="SAME-CODE"))
        except ValidationError as exc:
            results.append(exc.message_dict)

    errors = run_at_once([job, job])

    assert errors == []
    assert sum(isinstance(r, OrgUnit) for r in results) == 1
    assert [list(r) for r in results if isinstance(r, dict)] == [["code"]]
    _assert_consistent(tree.haidian, {"S110108001", "S110108002", "SAME-CODE"})


def test_unit_search_by_name_and_code_prefix(tree):
    from orgtree.selectors import unit_search

    # In name order: 海淀区 < 海淀实验小学 < 海淀第一中学.
    assert [u.code for u in unit_search(query="海淀")] == ["110108", "S110108001", "S110108002"]
    assert {u.code for u in unit_search(query="海淀")} == {"110108", "S110108001", "S110108002"}
    assert [u.code for u in unit_search(query="1101")] == ["110108"]
    assert list(unit_search(query="   ")) == []
