"""群组 over REST: creating a group with members of several units, admins' rights (403 for others),
a non-member's 404 for history and files, removal cutting delivery, join approval, invitations, the
member limit, 禁言, announcements, shared files with their quota, leave and disband, bad input."""

from __future__ import annotations

import io

import pytest

from chat.models import GroupFile, Membership, Message
from helpdesk.core.models import StoredEvent
from tests.chat.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/chat"


def events_of(user, event_type: str) -> list[dict]:
    return [row.payload for row in StoredEvent.objects.filter(user_id=user.pk, type=event_type).order_by("seq")]


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    def run(user, method: str, url: str, data=None, fmt="json"):
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(client_for(user), method)(f"{API}{url}", data, format=fmt)

    return run


@pytest.fixture
def group(zhang, li, outsider, act):
    """张伟's group 教研组 with 李娜 (another province) and 王芳 (another school)."""
    made = act(
        zhang, "post", "/groups/", {"name": "教研组", "announcement": "周三下午教研", "users": [li.pk, outsider.pk]}
    )
    assert made.status_code == 201, made.content
    return made.json()


def texts(conversation_id: int) -> list[str]:
    return list(Message.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("text", flat=True))


def test_create_with_members_of_several_units_the_creator_owns_it(zhang, li, outsider, group):
    assert group["my_role"] == "owner" and group["member_count"] == 3 and group["number"]
    assert group["announcement"]["text"] == "周三下午教研" and group["member_limit"] == 500
    members = client_for(li).get(f"{API}/groups/{group['id']}/members/").json()
    assert [(m["user"]["id"], m["role"]) for m in members] == [
        (zhang.pk, "owner"),
        (li.pk, "member"),
        (outsider.pk, "member"),
    ]
    # The changes are messages of the conversation, numbered like any message, and every member heard.
    assert [m.kind for m in Message.objects.filter(conversation_id=group["id"]).order_by("seq")] == ["system", "system"]
    assert texts(group["id"]) == ["张伟 创建了群组“教研组”，并邀请了 李娜、王芳", "群公告：周三下午教研"]
    for user in (zhang, li, outsider):
        assert [e["message"]["seq"] for e in events_of(user, "chat.message")] == [1, 2]
    history = client_for(outsider).get(f"{API}/conversations/{group['id']}/messages/").json()
    assert [m["kind"] for m in history["results"]] == ["system", "system"]
    assert [g["id"] for g in client_for(li).get(f"{API}/groups/").json()] == [group["id"]]


def test_a_group_message_reaches_every_member(zhang, li, outsider, group, act):
    sent = act(li, "post", f"/conversations/{group['id']}/messages/", {"text": "收到"})
    assert sent.status_code == 201 and sent.json()["seq"] == 3
    for user in (zhang, outsider):
        assert events_of(user, "chat.message")[-1]["message"]["text"] == "收到"


def test_admin_actions_of_a_non_admin_are_403(li, outsider, group, act):
    gid = group["id"]
    for method, url, data in (
        ("delete", f"/groups/{gid}/members/{outsider.pk}/", None),
        ("post", f"/groups/{gid}/admins/", {"user": outsider.pk, "admin": True}),
        ("post", f"/groups/{gid}/transfer/", {"user": outsider.pk}),
        ("post", f"/groups/{gid}/mute/", {"muted": True}),
        ("post", f"/groups/{gid}/mute/", {"user": outsider.pk, "muted": True}),
        ("post", f"/groups/{gid}/announcements/", {"text": "我来发公告"}),
        ("patch", f"/groups/{gid}/", {"name": "改名"}),
        ("patch", f"/groups/{gid}/", {"member_limit": 100}),
        ("delete", f"/groups/{gid}/", None),
    ):
        answer = act(li, method, url, data)
        assert answer.status_code == 403, (url, data, answer.content)
        assert answer.json()["code"] in ("not_admin", "not_owner")
    assert len(texts(gid)) == 2  # nothing happened


def test_a_non_member_reading_by_id_gets_404(zhang, group, act):
    stranger = UserFactory(name="陌生人")
    shared = act(zhang, "post", f"/groups/{group['id']}/files/", {"file": _text_file()}, fmt="multipart").json()
    message_id = Message.objects.filter(conversation_id=group["id"]).first().pk
    client = client_for(stranger)
    for url in (
        f"/groups/{group['id']}/",
        f"/groups/{group['id']}/members/",
        f"/groups/{group['id']}/announcements/",
        f"/groups/{group['id']}/files/",
        f"/groups/{group['id']}/files/{shared['id']}/download/",
        f"/conversations/{group['id']}/",
        f"/conversations/{group['id']}/messages/",
        f"/conversations/{group['id']}/messages/{message_id}/file/",
    ):
        assert client.get(f"{API}{url}").status_code == 404, url
    assert act(stranger, "post", f"/conversations/{group['id']}/messages/", {"text": "hi"}).status_code == 404


def test_a_removed_member_stops_receiving_and_loses_history_and_files(zhang, li, outsider, group, act):
    gid = group["id"]
    shared = act(outsider, "post", f"/groups/{gid}/files/", {"file": _text_file()}, fmt="multipart").json()
    assert act(zhang, "delete", f"/groups/{gid}/members/{li.pk}/").status_code == 204
    assert events_of(li, "chat.group_removed") == [{"conversation": gid, "reason": "removed"}]
    heard = len(events_of(li, "chat.message"))
    act(outsider, "post", f"/conversations/{gid}/messages/", {"text": "李娜听不到这条"})
    assert len(events_of(li, "chat.message")) == heard
    assert "李娜听不到这条" in [e["message"]["text"] for e in events_of(zhang, "chat.message")]
    client = client_for(li)
    assert client.get(f"{API}/conversations/{gid}/messages/").status_code == 404
    assert client.get(f"{API}/groups/{gid}/files/{shared['id']}/download/").status_code == 404
    assert act(li, "post", f"/conversations/{gid}/messages/", {"text": "还在吗"}).status_code == 404
    assert texts(gid)[-2] == "张伟 将 李娜 移出了群组"


def test_join_by_search_with_approval_and_decline(zhang, group, act):
    seeker = UserFactory(name="赵敏")
    found = client_for(seeker).get(f"{API}/groups/search/", {"q": group["number"]}).json()
    assert [g["id"] for g in found] == [group["id"]]
    assert [g["id"] for g in client_for(seeker).get(f"{API}/groups/search/", {"q": "教研"}).json()] == [group["id"]]
    asked = act(seeker, "post", f"/groups/{group['id']}/join/", {"message": "我是新来的老师"})
    assert asked.status_code == 200 and asked.json()["joined"] is False
    assert act(seeker, "post", f"/groups/{group['id']}/join/", {}).status_code == 429
    [told] = events_of(zhang, "chat.group_join_request")
    assert told["user"]["id"] == seeker.pk
    request_id = asked.json()["request"]["id"]
    assert client_for(seeker).get(f"{API}/groups/{group['id']}/").status_code == 404  # not yet
    approved = act(zhang, "post", f"/groups/{group['id']}/join-requests/{request_id}/decide/", {"accept": True})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert events_of(seeker, "chat.group_join_decided")[0]["status"] == "approved"
    assert client_for(seeker).get(f"{API}/groups/{group['id']}/").json()["my_role"] == "member"
    other = UserFactory(name="钱进")
    second = act(other, "post", f"/groups/{group['id']}/join/", {}).json()["request"]["id"]
    act(zhang, "post", f"/groups/{group['id']}/join-requests/{second}/decide/", {"accept": False})
    assert events_of(other, "chat.group_join_decided")[0]["status"] == "declined"
    assert not Membership.objects.filter(conversation_id=group["id"], user=other).exists()


def test_invitations_by_members_follow_the_group_setting(zhang, li, group, act):
    guest, second = UserFactory(name="孙丽"), UserFactory(name="周强")
    assert act(li, "post", f"/groups/{group['id']}/members/", {"users": [guest.pk]}).status_code == 200
    act(zhang, "patch", f"/groups/{group['id']}/", {"members_can_invite": False})
    refused = act(li, "post", f"/groups/{group['id']}/members/", {"users": [second.pk]})
    assert refused.status_code == 403 and refused.json()["code"] == "not_admin"


def test_member_limit_default_max_and_enforced(zhang, group, act):
    gid = group["id"]
    too_high = act(zhang, "patch", f"/groups/{gid}/", {"member_limit": 2001})
    assert too_high.status_code == 400 and "member_limit" in too_high.json()["fields"]
    too_low = act(zhang, "patch", f"/groups/{gid}/", {"member_limit": 2})  # 3 members now
    assert too_low.status_code == 400 and "member_limit" in too_low.json()["fields"]
    assert act(zhang, "patch", f"/groups/{gid}/", {"member_limit": 4}).json()["member_limit"] == 4
    people = [UserFactory(name=f"老师{i}") for i in range(2)]
    full = act(zhang, "post", f"/groups/{gid}/members/", {"users": [p.pk for p in people]})
    assert full.status_code == 400 and "users" in full.json()["fields"]
    assert act(zhang, "post", f"/groups/{gid}/members/", {"users": [people[0].pk]}).status_code == 200
    assert act(zhang, "patch", f"/groups/{gid}/", {"member_limit": 2000}).json()["member_limit"] == 2000


def test_admins_owner_transfer_mute_and_leave(zhang, li, outsider, group, act):
    gid = group["id"]
    assert act(zhang, "post", f"/groups/{gid}/admins/", {"user": li.pk, "admin": True}).json()["role"] == "admin"
    # An administrator mutes a member; the member's messages are refused, the admin's still go.
    assert act(li, "post", f"/groups/{gid}/mute/", {"user": outsider.pk, "muted": True}).status_code == 204
    muted = act(outsider, "post", f"/conversations/{gid}/messages/", {"text": "我说两句"})
    assert muted.status_code == 403 and muted.json()["code"] == "muted"
    act(li, "post", f"/groups/{gid}/mute/", {"user": outsider.pk, "muted": False})
    act(zhang, "post", f"/groups/{gid}/mute/", {"muted": True})
    assert act(outsider, "post", f"/conversations/{gid}/messages/", {"text": "x"}).json()["code"] == "muted"
    assert act(li, "post", f"/conversations/{gid}/messages/", {"text": "管理员可以说"}).status_code == 201
    act(zhang, "post", f"/groups/{gid}/mute/", {"muted": False})
    assert act(outsider, "post", f"/conversations/{gid}/messages/", {"text": "好的"}).status_code == 201
    # The owner leaves only after a transfer.
    refused = act(zhang, "post", f"/groups/{gid}/leave/")
    assert refused.status_code == 400 and "group" in refused.json()["fields"]
    assert act(zhang, "post", f"/groups/{gid}/transfer/", {"user": li.pk}).json()["role"] == "owner"
    assert act(zhang, "post", f"/groups/{gid}/leave/").status_code == 204
    assert events_of(zhang, "chat.group_removed") == [{"conversation": gid, "reason": "left"}]
    roles = {m["user"]["id"]: m["role"] for m in client_for(li).get(f"{API}/groups/{gid}/members/").json()}
    assert roles == {li.pk: "owner", outsider.pk: "member"}


def test_announcements_newest_pinned_every_member_told(zhang, li, outsider, group, act):
    published = act(zhang, "post", f"/groups/{group['id']}/announcements/", {"text": "本周五停课"})
    assert published.status_code == 201
    listed = client_for(outsider).get(f"{API}/groups/{group['id']}/announcements/").json()
    assert [a["text"] for a in listed] == ["本周五停课", "周三下午教研"]
    assert client_for(li).get(f"{API}/groups/{group['id']}/").json()["announcement"]["text"] == "本周五停课"
    for user in (li, outsider):
        assert events_of(user, "chat.group_updated")[-1]["change"] == "announcement"
        assert "本周五停课" in events_of(user, "chat.message")[-1]["message"]["text"]
    empty = act(zhang, "post", f"/groups/{group['id']}/announcements/", {"text": "   "})
    assert empty.status_code == 400 and "text" in empty.json()["fields"]


def _text_file(name: str = "课表.txt", body: bytes = "第一节 语文".encode()) -> io.BytesIO:
    handle = io.BytesIO(body)
    handle.name = name
    return handle


def test_shared_files_upload_list_search_download_delete_and_quota(zhang, li, outsider, group, act, settings):
    gid = group["id"]
    made = act(li, "post", f"/groups/{gid}/files/", {"file": _text_file()}, fmt="multipart")
    assert made.status_code == 201, made.content
    act(outsider, "post", f"/groups/{gid}/files/", {"file": _text_file("作业.txt")}, fmt="multipart")
    names = [f["name"] for f in client_for(zhang).get(f"{API}/groups/{gid}/files/").json()]
    assert names == ["作业.txt", "课表.txt"]
    assert [f["name"] for f in client_for(zhang).get(f"{API}/groups/{gid}/files/", {"q": "课表"}).json()] == [
        "课表.txt"
    ]
    download = client_for(outsider).get(f"{API}/groups/{gid}/files/{made.json()['id']}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == "第一节 语文".encode()
    # Neither the uploader nor an admin: refused; the uploader may.
    assert act(outsider, "delete", f"/groups/{gid}/files/{made.json()['id']}/").status_code == 403
    assert act(li, "delete", f"/groups/{gid}/files/{made.json()['id']}/").status_code == 204
    bad = act(li, "post", f"/groups/{gid}/files/", {"file": _text_file("x.exe", b"MZ")}, fmt="multipart")
    assert bad.status_code == 400 and "file" in bad.json()["fields"]
    settings.CHAT_GROUP_FILE_QUOTA = 20
    full = act(li, "post", f"/groups/{gid}/files/", {"file": _text_file("大文件.txt", b"a" * 30)}, fmt="multipart")
    assert full.status_code == 400 and "file" in full.json()["fields"]
    assert GroupFile.objects.filter(conversation_id=gid).count() == 1


def test_disband_is_the_last_message_and_the_group_takes_nothing_more(zhang, li, group, act):
    assert act(li, "delete", f"/groups/{group['id']}/").status_code == 403
    assert act(zhang, "delete", f"/groups/{group['id']}/").status_code == 204
    assert events_of(li, "chat.group_updated")[-1]["change"] == "disbanded"
    refused = act(li, "post", f"/conversations/{group['id']}/messages/", {"text": "还在吗"})
    assert refused.status_code == 403 and refused.json()["code"] == "disbanded"
    assert client_for(li).get(f"{API}/groups/{group['id']}/").json()["disbanded"] is True
    assert client_for(UserFactory()).get(f"{API}/groups/search/", {"q": group["number"]}).json() == []


def test_bad_input_is_400_with_field_messages(zhang, group, act):
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "组" * 101}, "name"),
        ({"name": "组", "users": [987654]}, "users"),
        ({"name": "组", "users": "1,2"}, "users"),
        ({"name": "组", "join_policy": "anyone"}, "join_policy"),
        ({"name": "组", "colour": "red"}, "colour"),
    ):
        answer = act(zhang, "post", "/groups/", body)
        assert answer.status_code == 400, (body, answer.content)
        assert field in answer.json()["fields"], (body, answer.json())
    assert act(zhang, "post", f"/groups/{group['id']}/members/", {"users": []}).status_code == 400
    assert act(zhang, "post", f"/groups/{group['id']}/admins/", {"user": 987654, "admin": True}).status_code == 400
    assert client_for(zhang).get(f"{API}/groups/search/").status_code == 400


def test_the_back_office_lists_groups_requests_and_files_in_chinese(client, zhang, li, group, act):
    import re

    from django.urls import reverse

    act(zhang, "post", "/friend-requests/", {"user": UserFactory().pk})
    act(li, "post", f"/groups/{group['id']}/files/", {"file": _text_file()}, fmt="multipart")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for name in ("groupprofile", "friendrequest", "groupfile"):
        page = client.get(reverse(f"admin:chat_{name}_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200
        headers = re.findall(r'<th scope="col"[^>]*>.*?<a [^>]*>(.*?)</a>', page.content.decode(), re.S)
        assert headers and all(re.search(r"[\u4e00-\u9fff]", h) for h in headers), (name, headers)


def test_a_system_message_cannot_be_recalled_by_whoever_made_the_change(zhang, group, act):
    first = Message.objects.filter(conversation_id=group["id"]).order_by("seq").first()
    refused = act(zhang, "post", f"/conversations/{group['id']}/messages/{first.pk}/recall/", {})
    assert refused.status_code == 403 and refused.json()["code"] == "not_sender"
    assert Message.objects.get(pk=first.pk).recalled_at is None


def test_an_avatar_upload_alone_changes_nothing_else(zhang, group, act):
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 90, 168)).save(picture, format="PNG")
    picture.seek(0)
    picture.name = "头像.png"
    # A multipart form without members_can_invite leaves it as it is (DRF read a missing box as false).
    changed = act(zhang, "patch", f"/groups/{group['id']}/", {"avatar": picture}, fmt="multipart")
    assert changed.status_code == 200, changed.content
    assert changed.json()["avatar_url"] == f"/api/v1/chat/groups/{group['id']}/avatar/"
    assert changed.json()["members_can_invite"] is True
    assert client_for(zhang).get(changed.json()["avatar_url"]).status_code == 200
