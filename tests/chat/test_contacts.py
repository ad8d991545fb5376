"""好友 over REST: finding people, the profile card, friend requests (accept, decline, the badge, both
sides told), the limits against spam, friend groups, remark names, removal."""

from __future__ import annotations

import pytest

from chat.models import Block, FriendRequest, Friendship
from helpdesk.core.models import StoredEvent
from tests.chat.conftest import client_for

pytestmark = pytest.mark.django_db

API = "/api/v1/chat"


def events_of(user, event_type: str) -> list[dict]:
    return [row.payload for row in StoredEvent.objects.filter(user_id=user.pk, type=event_type).order_by("seq")]


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    """Call the API with the events stored as after a commit."""

    def run(client, method: str, url: str, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(client, method)(f"{API}{url}", data, format="json")

    return run


def test_find_people_by_account_name_and_pinyin_with_their_relation(zhang, li, act):
    client = client_for(zhang)
    for query in ("li_na", "李娜", "lina", "ln"):
        found = client.get(f"{API}/people/", {"q": query})
        assert found.status_code == 200
        assert [p["id"] for p in found.json()] == [li.pk], query
        assert found.json()[0]["is_friend"] is False
    act(client, "post", "/friend-requests/", {"user": li.pk, "message": "我是张伟"})
    card = client.get(f"{API}/people/{li.pk}/").json()
    assert card["name"] == "李娜" and card["request_pending"] is True and card["is_friend"] is False
    assert client.get(f"{API}/people/", {"q": ""}).status_code == 400
    assert client.get(f"{API}/people/999999/").status_code == 404


def test_a_request_accepted_makes_friends_both_sides_told_live_and_on_return(zhang, li, act):
    asker, asked = client_for(zhang), client_for(li)
    made = act(asker, "post", "/friend-requests/", {"user": li.pk, "message": "我是实验小学的张伟"})
    assert made.status_code == 201, made.content
    request_id = made.json()["id"]
    # Told live (stored in the event log, so also on return), with the badge count.
    [told] = events_of(li, "chat.friend_request")
    assert told["message"] == "我是实验小学的张伟" and told["new_requests"] == 1
    listed = asked.get(f"{API}/friend-requests/").json()
    assert listed["new_requests"] == 1 and listed["results"][0]["from_user"]["id"] == zhang.pk
    assert asked.post(f"{API}/friend-requests/seen/").json() == {"new_requests": 0}
    assert asked.get(f"{API}/friend-requests/").json()["new_requests"] == 0
    # Only the recipient decides.
    assert act(asker, "post", f"/friend-requests/{request_id}/decide/", {"accept": True}).status_code == 404
    decided = act(asked, "post", f"/friend-requests/{request_id}/decide/", {"accept": True})
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    for user in (zhang, li):
        [event] = events_of(user, "chat.friend_request_decided")
        assert event["status"] == "accepted" and event["conversation"]
    assert [f["user"]["id"] for f in asker.get(f"{API}/friends/").json()["friends"]] == [li.pk]
    assert [f["user"]["id"] for f in asked.get(f"{API}/friends/").json()["friends"]] == [zhang.pk]
    again = act(asked, "post", f"/friend-requests/{request_id}/decide/", {"accept": False})
    assert again.status_code == 400 and "request" in again.json()["fields"]
    assert act(asker, "post", "/friend-requests/", {"user": li.pk}).status_code == 400  # friends already


def test_asking_someone_who_asked_you_accepts_theirs(zhang, li, act):
    act(client_for(zhang), "post", "/friend-requests/", {"user": li.pk})
    answer = act(client_for(li), "post", "/friend-requests/", {"user": zhang.pk})
    assert answer.status_code == 201 and answer.json()["status"] == "accepted"
    assert Friendship.objects.count() == 2


def test_repeats_declined_and_blocked_requests_are_refused_clearly(zhang, li, outsider, act, settings):
    asker = client_for(zhang)
    first = act(asker, "post", "/friend-requests/", {"user": li.pk})
    repeat = act(asker, "post", "/friend-requests/", {"user": li.pk, "message": "在吗"})
    assert repeat.status_code == 429 and repeat.json()["code"] == "request_pending"
    act(client_for(li), "post", f"/friend-requests/{first.json()['id']}/decide/", {"accept": False})
    assert events_of(zhang, "chat.friend_request_decided")[0]["status"] == "declined"
    after_decline = act(asker, "post", "/friend-requests/", {"user": li.pk})
    assert after_decline.status_code == 429 and after_decline.json()["code"] == "request_declined"
    assert "24" in after_decline.json()["detail"]
    Block.objects.create(blocker=outsider, blocked=zhang)
    blocked = act(asker, "post", "/friend-requests/", {"user": outsider.pk})
    assert blocked.status_code == 403 and blocked.json()["code"] == "blocked"
    assert events_of(outsider, "chat.friend_request") == []
    # At most N requests an hour from one person.
    settings.CHAT_FRIEND_REQUESTS_PER_HOUR = 1
    from tests.factories import UserFactory

    newcomer = UserFactory(name="赵敏")
    limited = act(asker, "post", "/friend-requests/", {"user": newcomer.pk})
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert FriendRequest.objects.filter(from_user=zhang).count() == 1


def test_bad_input_is_400_with_field_messages(zhang, li):
    client = client_for(zhang)
    for body, field in (
        ({"user": zhang.pk}, "user"),
        ({"user": 987654}, "user"),
        ({"user": li.pk, "message": "长" * 201}, "message"),
        ({"user": "x"}, "user"),
        ({"user": li.pk, "extra": 1}, "extra"),
    ):
        answer = client.post(f"{API}/friend-requests/", body, format="json")
        assert answer.status_code == 400, body
        assert field in answer.json()["fields"], (body, answer.json())


def test_friend_groups_named_ordered_moves_remarks_and_removal(zhang, li, outsider, act):
    for other in (li, outsider):
        made = act(client_for(zhang), "post", "/friend-requests/", {"user": other.pk})
        act(client_for(other), "post", f"/friend-requests/{made.json()['id']}/decide/", {"accept": True})
    client = client_for(zhang)
    colleagues = client.post(f"{API}/friend-groups/", {"name": "同事"}, format="json").json()
    family = client.post(f"{API}/friend-groups/", {"name": "教研组"}, format="json").json()
    duplicate = client.post(f"{API}/friend-groups/", {"name": "同事"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()["fields"]
    assert client.post(f"{API}/friend-groups/", {"name": ""}, format="json").status_code == 400
    ordered = client.put(f"{API}/friend-groups/", {"groups": [family["id"], colleagues["id"]]}, format="json")
    assert [g["name"] for g in ordered.json()] == ["教研组", "同事"]
    bad_order = client.put(f"{API}/friend-groups/", {"groups": [family["id"]]}, format="json")
    assert bad_order.status_code == 400 and "groups" in bad_order.json()["fields"]
    moved = client.patch(f"{API}/friends/{li.pk}/", {"group": colleagues["id"], "remark": "李老师"}, format="json")
    assert moved.status_code == 200 and moved.json()["group"] == colleagues["id"] and moved.json()["remark"] == "李老师"
    # Someone else's group is not yours to move into.
    theirs = client_for(li).post(f"{API}/friend-groups/", {"name": "朋友"}, format="json").json()
    refused = client.patch(f"{API}/friends/{li.pk}/", {"group": theirs["id"]}, format="json")
    assert refused.status_code == 400 and "group" in refused.json()["fields"]
    listing = client.get(f"{API}/friends/").json()
    assert [g["name"] for g in listing["groups"]] == ["教研组", "同事"]
    assert {f["user"]["id"]: f["group"] for f in listing["friends"]} == {li.pk: colleagues["id"], outsider.pk: None}
    client.patch(f"{API}/friend-groups/{colleagues['id']}/", {"name": "老同事"}, format="json")
    assert client.delete(f"{API}/friend-groups/{colleagues['id']}/").status_code == 204
    assert Friendship.objects.get(user=zhang, friend=li).group_id is None  # back to 我的好友
    removed = act(client, "delete", f"/friends/{li.pk}/")
    assert removed.status_code == 204
    assert not Friendship.objects.filter(user=li, friend=zhang).exists()
    assert events_of(li, "chat.friend_removed") == [{"user": zhang.pk, "friend": li.pk}]
    assert client.delete(f"{API}/friends/{li.pk}/").status_code == 404
