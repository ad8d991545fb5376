"""好友 and 群组 on the chat page in Chromium, at a laptop's and a phone's size.

张伟 (海淀实验小学) finds 李娜 (和平小学, another city) under 查找联系人 and asks to be friends with
a verification message; 李娜 sees the badge on 联系人 come up live, reads the message under 新的朋友
and accepts; 张伟 sees her among his friends at once and files her under a friend group of his own.

张伟 creates a group with 陈静 of his unit and 李娜 of the other city, picked from 本单位 and the
directory search; publishes an announcement and uploads a file in the group panel; 李娜 sees both
in her panel and downloads the file; 王芳, who is not in the group, finds it under 查找群组 and asks
to join, and 张伟 approves her request live from the members list.

Runs on the ASGI server of tests/browser/conftest.py: the live parts need the websocket.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.models import ConversationKind, FriendRequest, Friendship, Membership
from chat.services import contacts as contacts_service
from chat.services import group_members, groups
from tests.browser.test_chat import SIZES, assert_no_sideways_scroll, open_chat, png_bytes, sign_in, watch_csp
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MESSAGE = "我是海淀实验小学的张伟，想和您交流教研"


@pytest.fixture
def people(tree):
    zhang = UserFactory(username="zhang_wei", name="张伟", unit=tree.school_a)
    chen = UserFactory(username="chen_jing", name="陈静", unit=tree.school_a)
    li = UserFactory(username="li_na", name="李娜", unit=tree.school_tj)
    wang = UserFactory(username="wang_fang", name="王芳", unit=tree.school_b)
    return zhang, chen, li, wang


def contacts(page, pane: str) -> None:
    page.locator("#tab-contacts").click()
    page.locator(f".contact-subtab[data-pane={pane}]").click()


def chat_as(open_browser, username: str, password: str, size: str, *, csp: bool = True):
    """A new browser context signed in as ``username`` on the chat page, at ``size``, optionally
    recording CSP violations."""
    page = open_browser()
    page.set_viewport_size(SIZES[size])
    if csp:
        watch_csp(page)
    sign_in(page, username, password)
    open_chat(page)
    return page


def no_csp_violations(page) -> None:
    assert page.evaluate("window.__violations") == []


@pytest.mark.parametrize("size", SIZES)
def test_a_friend_request_with_a_verification_message_is_seen_live_and_accepted(
    open_browser, people, password, screenshot, size
):
    zhang, _chen, li, _wang = people
    a = chat_as(open_browser, "zhang_wei", password, size)
    b = chat_as(open_browser, "li_na", password, size)
    expect(b.locator("#contacts-badge")).to_be_hidden()

    # 张伟: 好友 › 查找联系人 finds 李娜 by her account; 添加 asks for the verification message.
    contacts(a, "friends")
    expect(a.locator(".soc-fgroup-name", has_text="我的好友")).to_be_visible()
    a.locator(".soc-entry.is-find").click()
    a.locator("#soc-find-people .soc-search").fill("li_na")
    found = a.locator("#soc-find-people .soc-row", has_text="李娜")
    expect(found).to_contain_text("和平小学")
    screenshot(a, f"chat-social-find-people-{size}")
    found.locator(".soc-add").click()
    verification = a.locator(".soc-sheet.is-small textarea")
    expect(verification).to_have_value("我是海淀实验小学的张伟")
    verification.fill(MESSAGE)
    a.locator(".soc-sheet.is-small .soc-ok").click()
    expect(a.locator(".soc-toast", has_text="好友申请已发送")).to_be_visible()
    expect(found.locator(".soc-tag")).to_have_text("等待验证")
    assert FriendRequest.objects.get(from_user=zhang, to_user=li).message == MESSAGE
    a.keyboard.press("Escape")

    # 李娜: the badge comes up live on 联系人 and 新的朋友; the request shows the message.
    expect(b.locator("#contacts-badge")).to_have_text("1")
    expect(b.locator(".soc-toast", has_text="张伟 请求添加你为好友")).to_be_visible()
    contacts(b, "friends")
    expect(b.locator("#requests-badge")).to_have_text("1")
    b.locator(".soc-entry.is-requests").click()
    request = b.locator("#soc-requests .soc-request", has_text="张伟")
    expect(request.locator(".soc-verify")).to_have_text(f"验证信息：{MESSAGE}")
    expect(request.locator(".soc-decline")).to_have_text("拒绝")
    expect(b.locator("#contacts-badge")).to_be_hidden()
    screenshot(b, f"chat-social-requests-{size}")
    assert_no_sideways_scroll(b, "the requests")
    request.locator(".soc-accept").click()
    expect(request.locator(".soc-tag")).to_have_text("已添加")
    assert Friendship.objects.filter(user=li, friend=zhang).exists()
    b.keyboard.press("Escape")
    expect(b.locator(".soc-friend", has_text="张伟")).to_be_visible()

    # 张伟 sees her among his friends at once, and files her under a group of his own.
    expect(a.locator(".soc-toast", has_text="李娜 通过了你的好友申请")).to_be_visible()
    expect(a.locator(".soc-friend", has_text="李娜")).to_be_visible()
    a.locator(".soc-new-fgroup").click()
    a.locator(".soc-sheet.is-small input").fill("教研伙伴")
    a.locator(".soc-sheet.is-small .soc-ok").click()
    expect(a.locator(".soc-fgroup-name", has_text="教研伙伴")).to_be_visible()
    a.locator(".soc-friend", has_text="李娜").click()
    card = a.locator(".soc-sheet.is-card")
    expect(card).to_contain_text("li_na")
    expect(card).to_contain_text("和平小学")
    card.locator(".soc-move").click()
    a.locator(".soc-choice", has_text="教研伙伴").click()
    section = a.locator(".soc-fgroup", has=a.locator(".soc-fgroup-name", has_text="教研伙伴"))
    expect(section.locator(".soc-friend", has_text="李娜")).to_be_visible()
    expect(section.locator(".soc-fgroup-count")).to_have_text("1")
    screenshot(a, f"chat-social-friends-{size}")
    assert_no_sideways_scroll(a, "the friends")

    # 发消息 from the card opens their one-to-one conversation.
    section.locator(".soc-friend", has_text="李娜").click()
    a.locator(".soc-send-message").click()
    expect(a.locator("#chat-head-name")).to_have_text("李娜")
    expect(a.locator("#btn-group")).to_be_hidden()
    no_csp_violations(a)
    no_csp_violations(b)


@pytest.mark.parametrize("size", SIZES)
def test_a_group_of_two_units_with_an_announcement_and_a_shared_file_seen_by_a_member(
    open_browser, people, password, screenshot, size, tmp_path
):
    zhang, chen, li, wang = people
    a = chat_as(open_browser, "zhang_wei", password, size)
    b = chat_as(open_browser, "li_na", password, size)

    # 创建群组: 陈静 from 本单位, 李娜 (another city) from the directory search.
    contacts(a, "groups")
    a.locator(".soc-entry.is-create").click()
    dialog = a.locator("#soc-create-group")
    dialog.locator("input[name=name]").fill("海淀和平教研联合群")
    dialog.locator("textarea[name=announcement]").fill("每周三下午三点线上集体备课")
    dialog.locator("textarea[name=description]").fill("两校语文组的教研交流")
    dialog.locator("input[name=avatar]").set_input_files(
        files=[{"name": "群头像.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    expect(dialog.locator(".soc-filename")).to_have_text("群头像.png")
    dialog.locator(".soc-tab[data-source=mine]").click()
    dialog.locator(".soc-pick", has_text="陈静").locator("input").check()
    dialog.locator(".soc-tab[data-source=search]").click()
    dialog.locator(".soc-picker .soc-search").fill("li_na")
    dialog.locator(".soc-pick", has_text="李娜").locator("input").check()
    expect(dialog.locator(".soc-chip")).to_have_count(2)
    expect(dialog).to_contain_text("已选 2 人")
    screenshot(a, f"chat-social-create-group-{size}")
    dialog.locator(".soc-ok").click()
    expect(a.locator("#chat-head-name")).to_have_text("海淀和平教研联合群")
    expect(a.locator("#chat-head-sub")).to_have_text("3 人")
    expect(a.locator(".msg-system").first).to_contain_text("张伟")
    expect(a.locator("#btn-group")).to_be_visible()
    a.wait_for_function("() => document.querySelector('#chat-head-avatar img')?.naturalWidth === 640")
    screenshot(a, f"chat-social-group-chat-{size}")
    members = Membership.objects.filter(
        conversation__kind=ConversationKind.GROUP, conversation__name="海淀和平教研联合群"
    ).select_related("user__unit", "conversation__group")
    assert {m.user_id for m in members} == {zhang.pk, chen.pk, li.pk}
    assert {m.user.unit.name for m in members} == {"海淀实验小学", "和平小学"}
    group_id = members[0].conversation_id

    # 李娜 gets the group in her list live.
    b.locator(".conv-row", has_text="海淀和平教研联合群").click()
    expect(b.locator("#chat-head-name")).to_have_text("海淀和平教研联合群")

    # 张伟's group panel: members with roles; publishes an announcement and uploads a file.
    a.locator("#btn-group").click()
    panel = a.locator("#group-panel")
    expect(panel.locator(".gp-member")).to_have_count(3)
    expect(panel.locator(".gp-member[data-role=owner]")).to_contain_text("群主")
    panel.locator(".soc-tab[data-tab=announcements]").click()
    expect(panel.locator(".gp-announcement")).to_have_count(1)
    panel.locator(".gp-publish textarea").fill("本周教研改到周四下午，地点不变")
    panel.locator(".gp-publish-btn").click()
    expect(panel.locator(".gp-announcement")).to_have_count(2)
    expect(panel.locator(".gp-announcement.is-pinned")).to_contain_text("本周教研改到周四下午")
    panel.locator(".soc-tab[data-tab=files]").click()
    document = tmp_path / "教研计划.pdf"
    document.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    panel.locator(".gp-file-input").set_input_files(str(document))
    expect(panel.locator(".gp-file")).to_have_count(1)
    expect(panel.locator(".gp-file")).to_contain_text("教研计划.pdf")

    # 李娜 sees both in her panel (newest announcement pinned) and downloads the file.
    b.locator("#btn-group").click()
    their = b.locator("#group-panel")
    expect(their.locator(".gp-member")).to_have_count(3)
    expect(their.locator(".gp-member-more")).to_have_count(0)
    screenshot(b, f"chat-social-panel-members-{size}")
    their.locator(".soc-tab[data-tab=announcements]").click()
    expect(their.locator(".gp-announcement.is-pinned")).to_contain_text("本周教研改到周四下午")
    expect(their.locator(".gp-publish")).to_have_count(0)
    screenshot(b, f"chat-social-panel-announcements-{size}")
    their.locator(".soc-tab[data-tab=files]").click()
    shared = their.locator(".gp-file", has_text="教研计划.pdf")
    expect(shared).to_contain_text("张伟")
    expect(shared.locator(".gp-delete")).to_have_count(0)
    screenshot(b, f"chat-social-panel-files-{size}")
    assert_no_sideways_scroll(b, "the group panel")
    with b.expect_download() as download:
        shared.locator(".gp-file-name").click()
    assert download.value.suggested_filename == "教研计划.pdf"
    assert download.value.path().read_bytes().startswith(b"%PDF-1.4")
    b.keyboard.press("Escape")
    expect(b.locator(".msg-system", has_text="本周教研改到周四下午")).to_be_visible()

    # 王芳 finds the group under 查找群组 by its number and asks to join; 张伟 approves live.
    c = chat_as(open_browser, "wang_fang", password, size, csp=False)
    contacts(c, "groups")
    c.locator(".soc-entry.is-find-group").click()
    number = members[0].conversation.group.number
    c.locator("#soc-find-group .soc-search").fill(number)
    c.locator("#soc-find-group .soc-search").press("Enter")
    card = c.locator("#soc-find-group .soc-found-group")
    expect(card).to_contain_text("海淀和平教研联合群")
    expect(card).to_contain_text("3/500")
    screenshot(c, f"chat-social-find-group-{size}")
    card.locator(".soc-join").click()
    c.locator(".soc-sheet.is-small textarea").fill("我是海淀第一中学的王芳")
    c.locator(".soc-sheet.is-small .soc-ok").click()
    expect(card.locator(".soc-tag")).to_have_text("申请已发送")

    panel.locator(".soc-tab[data-tab=members]").click()
    join = panel.locator(".gp-join-requests .soc-row", has_text="王芳")
    expect(join).to_contain_text("我是海淀第一中学的王芳")
    join.locator(".gp-approve").click()
    expect(panel.locator(".gp-member")).to_have_count(4)
    expect(c.locator(".soc-toast", has_text="你的入群申请已通过")).to_be_visible()
    assert Membership.objects.filter(conversation_id=group_id, user=wang).exists()
    no_csp_violations(a)
    no_csp_violations(b)


@pytest.mark.parametrize("size", SIZES)
def test_the_owner_manages_the_members_and_a_member_leaves(
    open_browser, asgi_server, people, password, screenshot, size
):
    zhang, chen, li, wang = people
    conversation = asgi_server.call(
        groups.group_create, user=zhang, name="语文教研组", member_ids=[chen.pk, li.pk, wang.pk]
    )
    a = chat_as(open_browser, "zhang_wei", password, size)
    b = chat_as(open_browser, "li_na", password, size, csp=False)
    b.locator(".conv-row", has_text="语文教研组").click()
    expect(b.locator("#chat-input")).to_be_enabled()

    a.locator(".conv-row", has_text="语文教研组").click()
    expect(a.locator("#chat-head-sub")).to_have_text("4 人")
    a.locator("#btn-group").click()
    panel = a.locator("#group-panel")

    def member(name: str):
        return panel.locator(".gp-member", has_text=name)

    def act(name: str, action: str) -> None:
        member(name).locator(".gp-member-more").click()
        a.locator(".soc-menu-row", has_text=action).click()

    # 设为管理员; 禁言 李娜, whose compose box says so at once; 移出 王芳 after confirming.
    act("陈静", "设为管理员")
    expect(member("陈静")).to_have_attribute("data-role", "admin")
    expect(member("陈静").locator(".soc-role")).to_have_text("管理员")
    member("李娜").locator(".gp-member-more").click()
    expect(a.locator(".soc-menu-row")).to_have_text(["设为管理员", "转让群主", "禁言", "移出群组"])
    screenshot(a, f"chat-social-member-menu-{size}")
    a.locator(".soc-menu-row", has_text="禁言").click()
    expect(member("李娜").locator(".soc-tag.is-muted")).to_have_text("已禁言")
    expect(b.locator("#chat-input")).to_be_disabled()
    expect(b.locator("#chat-input")).to_have_attribute("placeholder", "你已被禁言")
    act("王芳", "移出群组")
    a.locator(".soc-sheet.is-small .soc-ok").click()
    expect(panel.locator(".gp-member")).to_have_count(3)
    assert not Membership.objects.filter(conversation=conversation, user=wang).exists()

    # 设置: 全员禁言 is told in the head; the owner sets the member limit.
    panel.locator(".soc-tab[data-tab=settings]").click()
    panel.locator(".gp-switch input").first.check()
    expect(a.locator("#chat-head-sub")).to_have_text("3 人 · 全员禁言中")
    panel.locator(".gp-limit").click()
    a.locator(".soc-sheet.is-small input").fill("50")
    a.locator(".soc-sheet.is-small .soc-ok").click()
    expect(a.locator(".soc-sheet.is-small")).to_have_count(0)
    expect(panel.locator(".gp-settings dd").nth(4)).to_have_text("50")
    screenshot(a, f"chat-social-panel-settings-{size}")
    assert_no_sideways_scroll(a, "the settings")

    # 李娜 leaves: the group goes from her list, and from 张伟's member list.
    b.locator("#btn-group").click()
    b.locator("#group-panel .soc-tab[data-tab=settings]").click()
    expect(b.locator("#group-panel .gp-disband")).to_have_count(0)
    b.locator("#group-panel .gp-leave").click()
    b.locator(".soc-sheet.is-small .soc-ok").click()
    expect(b.locator("#group-panel")).to_have_count(0)
    expect(b.locator(".conv-row", has_text="语文教研组")).to_have_count(0)
    panel.locator(".soc-tab[data-tab=members]").click()
    expect(panel.locator(".gp-member")).to_have_count(2)

    # 转让群主 to 陈静: 张伟 stays an administrator.
    act("陈静", "转让群主")
    a.locator(".soc-sheet.is-small .soc-ok").click()
    expect(member("陈静")).to_have_attribute("data-role", "owner")
    expect(member("张伟")).to_have_attribute("data-role", "admin")

    # 陈静, the owner now, disbands it: 张伟 sees it at once; the compose box is closed.
    asgi_server.call(group_members.group_disband, user=chen, conversation_id=conversation.pk)
    expect(a.locator("#chat-head-sub")).to_have_text("2 人 · 已解散")
    expect(a.locator("#chat-input")).to_be_disabled()
    expect(a.locator("#chat-input")).to_have_attribute("placeholder", "该群组已解散")
    expect(panel.locator(".gp-member-more")).to_have_count(0)
    no_csp_violations(a)


def test_a_friend_gets_a_remark_name_a_request_is_declined_and_a_friend_is_removed(
    open_browser, asgi_server, people, password, screenshot
):
    zhang, _chen, li, wang = people
    asked = asgi_server.call(contacts_service.friend_request_send, user=li, to_user_id=zhang.pk, message="李娜")
    asgi_server.call(contacts_service.friend_request_decide, user=zhang, request_id=asked.pk, accept=True)
    asgi_server.call(contacts_service.friend_request_send, user=wang, to_user_id=zhang.pk, message="我是王芳")
    a = chat_as(open_browser, "zhang_wei", password, "laptop", csp=False)
    expect(a.locator("#contacts-badge")).to_have_text("1")

    # 拒绝: 王芳's request is declined and she is not a friend.
    contacts(a, "friends")
    a.locator(".soc-entry.is-requests").click()
    request = a.locator("#soc-requests .soc-request", has_text="王芳")
    request.locator(".soc-decline").click()
    expect(request.locator(".soc-tag")).to_have_text("已拒绝")
    a.locator("#soc-requests .soc-tab[data-direction=sent]").click()
    expect(a.locator("#soc-requests .soc-empty")).to_have_text("暂无好友申请")
    a.keyboard.press("Escape")
    assert not Friendship.objects.filter(user=zhang, friend=wang).exists()

    # 备注: the friend is listed under the remark name, the card shows the real one.
    a.locator(".soc-friend", has_text="李娜").click()
    a.locator(".soc-remark").click()
    a.locator(".soc-sheet.is-small input").fill("天津李老师")
    a.locator(".soc-sheet.is-small .soc-ok").click()
    card = a.locator(".soc-sheet.is-card")
    expect(card.locator(".soc-card-name")).to_have_text("天津李老师")
    expect(card).to_contain_text("姓名：李娜")
    screenshot(a, "chat-social-profile-card-laptop")
    a.keyboard.press("Escape")
    friend = a.locator(".soc-friend", has_text="天津李老师")
    expect(friend).to_contain_text("李娜 · 和平小学")

    # 删除好友 after confirming.
    friend.click()
    a.locator(".soc-remove").click()
    a.locator(".soc-sheet.is-small .soc-ok").click()
    expect(a.locator(".soc-friend")).to_have_count(0)
    assert not Friendship.objects.filter(user=zhang, friend=li).exists()
