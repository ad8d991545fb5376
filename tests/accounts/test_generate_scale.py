"""``manage.py generate_scale``: schools under the counties and users in them, in bulk."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.management.commands.generate_scale import chinese_number
from accounts.models import User, UserSearchTerm, UserType
from accounts.selectors import directory_search, unit_members
from accounts.services import name_pinyin, search_terms_for
from orgtree.models import OrgKind, OrgLevel, OrgUnit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Scale-Test-2024"


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_scale", "--no-progress", "--password", PASSWORD, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_schools_are_spread_evenly_under_the_counties(tree):
    output = generate("--schools", "10", "--seed", "1")

    new = OrgUnit.objects.filter(level=OrgLevel.SCHOOL).exclude(code__startswith="S")
    assert new.count() == 10
    for county in (tree.haidian, tree.heping):
        county.refresh_from_db()
        children = OrgUnit.objects.get_children(county)
        assert children.exclude(code__startswith="S").count() == 5
        assert county.numchild == children.count()
        for school in children.exclude(code__startswith="S"):
            assert (school.level, school.kind) == (OrgLevel.SCHOOL, OrgKind.SCHOOL)
            assert school.code.startswith(county.code)
            assert school.name.startswith(county.name)
    # The existing schools kept their place; the new ones came after them.
    assert [s.code for s in OrgUnit.objects.get_children(tree.haidian)][:2] == ["S110108001", "S110108002"]
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    assert "Created 10 schools under 2 counties" in output


def test_users_land_in_the_new_schools_and_the_counties_and_are_searchable(tree):
    generate("--schools", "4", "--users", "120", "--seed", "2")

    users = list(User.objects.select_related("unit"))
    assert len(users) == 120
    assert len({u.username for u in users}) == 120
    counties = {tree.haidian.pk, tree.heping.pk}
    new_schools = set(
        OrgUnit.objects.filter(level=OrgLevel.SCHOOL).exclude(code__startswith="S").values_list("pk", flat=True)
    )
    for user in users:
        assert user.unit_id in counties | new_schools
        if user.unit_id in counties:
            assert user.user_type == UserType.STAFF
        assert (user.name_pinyin, user.name_initials) == name_pinyin(user.name)
        assert set(user.search_terms.values_list("term", flat=True)) == search_terms_for(user)
    assert {u.user_type for u in users} == set(UserType.values)
    assert {u.unit_id for u in users} >= new_schools

    sample = users[7]
    for query in (sample.name_initials, sample.name_pinyin, sample.name, sample.username):
        assert sample.pk in set(directory_search(query=query).values_list("user_id", flat=True)), query


def test_generated_users_share_the_given_password(tree):
    output = generate("--schools", "2", "--users", "5")
    assert all(user.check_password(PASSWORD) for user in User.objects.all())
    assert PASSWORD not in output  # given on the command line, not echoed back


def test_a_random_password_is_printed_when_none_is_given(tree):
    out = StringIO()
    call_command("generate_scale", "--no-progress", "--users", "3", stdout=out, stderr=StringIO())
    password = out.getvalue().strip().rsplit(": ", 1)[1]
    assert all(user.check_password(password) for user in User.objects.all())


def test_running_again_adds_more_with_fresh_codes_and_accounts(tree):
    generate("--schools", "6", "--users", "30", "--seed", "3")
    generate("--schools", "6", "--users", "30", "--seed", "3")

    assert OrgUnit.objects.filter(level=OrgLevel.SCHOOL).count() == 3 + 12
    assert User.objects.count() == 60
    assert UserSearchTerm.objects.values("user").distinct().count() == 60
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_users_only_go_to_existing_schools(tree):
    generate("--users", "40", "--seed", "4")

    units = set(User.objects.values_list("unit_id", flat=True))
    allowed = {tree.school_a.pk, tree.school_b.pk, tree.school_tj.pk, tree.haidian.pk, tree.heping.pk}
    assert units <= allowed
    assert User.objects.count() == 40


def test_a_code_already_taken_is_skipped(tree):
    # An operator already used the first code the generator would pick for 海淀区 (after its 2 schools).
    OrgUnit.objects.filter(pk=tree.school_b.pk).update(code=f"{tree.haidian.code}00003")

    generate("--schools", "2", "--seed", "5")

    codes = sorted(OrgUnit.objects.get_children(tree.haidian).values_list("code", flat=True))
    assert codes == ["11010800003", "11010800004", "S110108001"]


def test_needs_the_divisions_first(db):
    with pytest.raises(CommandError, match="load_divisions"):
        generate("--schools", "5")
    assert not OrgUnit.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--schools", "500001"), "at most 500,000"),
        (("--users", "1000001"), "at most 1,000,000"),
        (("--schools", "1", "--batch-size", "0"), "--batch-size"),
        ((), "Nothing to do"),
    ],
)
def test_rejects_bad_sizes(tree, args, message):
    with pytest.raises(CommandError, match=message):
        generate(*args)
    assert OrgUnit.objects.count() == 8 and not User.objects.exists()


def test_rejects_a_negative_count(tree):
    with pytest.raises(CommandError):
        generate("--schools", "-5")


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1, "一"),
        (10, "十"),
        (11, "十一"),
        (20, "二十"),
        (101, "一百零一"),
        (110, "一百一十"),
        (175, "一百七十五"),
        (1001, "一千零一"),
        (10010, "一万零一十"),
        (123456, "123456"),
    ],
)
def test_schools_are_numbered_in_chinese(number, text):
    assert chinese_number(number) == text


# --- The directory queries the benchmark measures: prefix search and subtree members ------------
def test_prefix_search_finds_exactly_the_terms_that_start_with_the_query(tree):
    zhang = UserFactory(username="t_zhang", name="张伟", unit=tree.school_a)
    zwei = UserFactory(username="zwei01", name="李娜", unit=tree.school_a)
    UserFactory(username="zx01", name="王芳", unit=tree.school_b)
    UserFactory(username="z-wang", name="刘洋", unit=tree.school_tj)
    UserFactory(username="zvv99", name="陈静", unit=tree.school_tj)

    def found(query: str) -> set[int]:
        return set(directory_search(query=query).values_list("user_id", flat=True))

    assert found("zw") == {zhang.pk, zwei.pk}
    assert found("ZW") == {zhang.pk, zwei.pk}
    assert found("张") == {zhang.pk}
    assert found("zwei01") == {zwei.pk}
    assert len(found("z")) == 5
    for query in ("\U0010ffff", "z\ud7ff", "zz"):  # no character above; next one a surrogate
        assert found(query) == set()


def test_subtree_members_are_exactly_the_units_below(tree):
    in_school = UserFactory(username="hd_t1", unit=tree.school_a)
    in_county = UserFactory(username="hd_s1", unit=tree.haidian, user_type=UserType.STAFF)
    in_tianjin = UserFactory(username="tj_t1", unit=tree.school_tj)

    def members(unit) -> list[int]:
        return [user.pk for user in unit_members(unit=unit, subtree=True)]

    assert members(tree.haidian) == [in_county.pk, in_school.pk]  # tree order: the county first
    assert members(tree.beijing) == [in_county.pk, in_school.pk]
    assert members(tree.tianjin) == [in_tianjin.pk]
    assert members(tree.school_b) == []
    assert set(members(tree.root)) == {in_school.pk, in_county.pk, in_tianjin.pk}
