"""The user directory: search by account, name, nickname and pinyin; public profiles (API)."""

import pytest

from accounts.models import User
from tests.api_helpers import walk
from tests.factories import UserFactory

USERS_URL = "/api/v1/users/"
PUBLIC_FIELDS = {"id", "account", "name", "nickname", "avatar", "unit"}
# Phone, e-mail and roles are there for everyone, null unless the directory rule shows them
# (tests/accounts/test_directory_details.py).
DIRECTORY_FIELDS = PUBLIC_FIELDS | {"details_visible", "phone", "email", "roles"}


@pytest.mark.parametrize("query", ["zw", "zhangwei", "ZhangWei", "张伟", "张", "teacher_zw"])
def test_search_finds_zhang_wei_by_pinyin_initials_name_and_account(auth_client, teacher, tianjin_teacher, query):
    response = auth_client(tianjin_teacher).get(USERS_URL, {"search": query})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [u["id"] for u in results] == [teacher.pk]
    assert set(results[0]) == DIRECTORY_FIELDS
    assert results[0]["details_visible"] is False and results[0]["phone"] is None
    assert results[0]["unit"] == {"id": teacher.unit_id, "name": "海淀实验小学"}


def test_search_by_nickname_and_never_shows_phone_or_email(auth_client, tree, teacher):
    UserFactory(username="li_na", name="李娜", nickname="娜娜老师", phone="13800000000", email="ln@example.cn")
    response = auth_client(teacher).get(USERS_URL, {"search": "娜娜"})
    (found,) = response.json()["results"]
    assert found["account"] == "li_na"
    # Someone of no unit near the teacher: the details are withheld.
    assert found["phone"] is None and found["email"] is None and found["roles"] is None
    assert "13800000000" not in response.content.decode()


def test_a_user_matching_several_terms_appears_once(auth_client, tree, teacher):
    # "z" matches both "zhangwei" and "zw" of the same user.
    response = auth_client(teacher).get(USERS_URL, {"search": "z"})
    assert [u["id"] for u in response.json()["results"]] == [teacher.pk]


def test_inactive_users_are_not_found(auth_client, tree, teacher):
    gone = UserFactory(username="gone_zw", name="张伟")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    ids = [u["id"] for u in auth_client(teacher).get(USERS_URL, {"search": "zw"}).json()["results"]]
    assert ids == [teacher.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "search"),
        ({"search": ""}, "search"),
        ({"search": "   "}, "search"),
        ({"search": "z" * 65}, "search"),
    ],
)
def test_search_needs_a_term(auth_client, teacher, params, field):
    response = auth_client(teacher).get(USERS_URL, params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_search_pages_through_many_namesakes_without_repeats_or_gaps(auth_client, tree, teacher):
    # Every one of them has the very same search term "zw": the cursor must hold (term, user id).
    namesakes = [UserFactory(name="张伟", unit=tree.school_b).pk for _ in range(23)]
    expected = sorted([teacher.pk, *namesakes])
    client = auth_client(teacher)
    pages = walk(client, f"{USERS_URL}?search=zw&page_size=5")
    assert [len(p) for p in pages] == [5, 5, 5, 5, 4]
    assert [u["id"] for page in pages for u in page] == expected

    # and back again from the second page
    second = client.get(f"{USERS_URL}?search=zw&page_size=5").json()["next"]
    previous = client.get(client.get(second).json()["previous"]).json()
    assert [u["id"] for u in previous["results"]] == expected[:5]
    assert previous["previous"] is None


def test_public_profile_of_an_active_user(auth_client, teacher, tianjin_teacher):
    response = auth_client(tianjin_teacher).get(f"{USERS_URL}{teacher.pk}/")
    assert response.status_code == 200
    assert set(response.json()) == DIRECTORY_FIELDS
    assert response.json()["account"] == "teacher_zw"


def test_public_profile_of_an_inactive_or_unknown_user_is_404(auth_client, teacher, tianjin_teacher):
    User.objects.filter(pk=tianjin_teacher.pk).update(is_active=False)
    client = auth_client(teacher)
    assert client.get(f"{USERS_URL}{tianjin_teacher.pk}/").status_code == 404
    assert client.get(f"{USERS_URL}987654/").status_code == 404
    assert client.get(f"{USERS_URL}99999999999999999999999/").status_code == 404
    assert client.get(f"{USERS_URL}abc/").status_code == 404


def test_directory_needs_a_signed_in_user(api_client, teacher):
    assert api_client.get(USERS_URL, {"search": "zw"}).status_code == 401
    assert api_client.get(f"{USERS_URL}{teacher.pk}/").status_code == 401
