"""The chat page (聊天) in Chromium, at a laptop's and a phone's size: 张伟 finds 李娜 of another
city's school through 单位组织 and starts a conversation; they exchange text (Enter sends, pending
until the socket's acknowledgement, 已读 once read), a picture (thumbnail, full view) and a file
(name, size, download); 李娜 goes offline while 张伟 sends more, comes back and finds everything,
in order, with the unread count right. A colleague of 张伟's unit is under 本单位, anyone is found
by the directory search; the font size is kept; a message is recalled.

Runs on the ASGI server of tests/browser/conftest.py: the chat needs the websocket.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from chat.models import ChatPreference, Message
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(autouse=True)
def _generous_rate(settings):
    settings.CHAT_MESSAGES_PER_SECOND = 1000


@pytest.fixture
def people(tree):
    zhang = UserFactory(username="zhang_wei", name="张伟", unit=tree.school_a)
    chen = UserFactory(username="chen_jing", name="陈静", unit=tree.school_a)
    li = UserFactory(username="li_na", name="李娜", unit=tree.school_tj)
    return zhang, chen, li


def sign_in(page, account: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(account)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    expect(page.locator(".welcome")).to_be_visible()


def open_chat(page) -> None:
    page.goto("/chat/")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "open")


def png_bytes() -> bytes:
    image = Image.new("RGB", (640, 400), (30, 90, 168))
    for x in range(200, 440):
        for y in range(120, 280):
            image.putpixel((x, y), (255, 214, 102))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def watch_csp(page) -> None:
    page.add_init_script(
        "window.__violations = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )


def phone(size: str) -> bool:
    return size == "phone"


def back_to_list(page, size: str) -> None:
    if phone(size):
        page.locator("#chat-back").click()
        expect(page.locator("#conv-list")).to_be_visible()


def assert_no_sideways_scroll(page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"{what} scrolls sideways ({width}px)"


@pytest.mark.parametrize("size", SIZES)
def test_two_people_chat_send_a_picture_and_a_file_and_one_catches_up_after_being_offline(
    open_browser, asgi_server, people, password, screenshot, size, tmp_path
):
    _zhang, _chen, li = people
    a = open_browser()
    a.set_viewport_size(SIZES[size])
    watch_csp(a)
    sign_in(a, "zhang_wei", password)
    b = open_browser()
    b.set_viewport_size(SIZES[size])
    watch_csp(b)
    sign_in(b, "li_na", password)

    # 聊天 is in the navigation, enabled.
    if phone(size):
        a.locator(".nav-toggle").click()
    a.locator("#nav-chat").click()
    expect(a).to_have_url(re.compile(r"/chat/$"))
    expect(a.locator("#ws-status")).to_have_attribute("data-state", "open")
    expect(a.locator("#conv-empty")).to_be_visible()
    open_chat(b)

    # 张伟 finds 李娜 through 单位组织: 教育部 › 天津市 › 和平区 › 和平小学 › 李娜.
    a.locator("#tab-contacts").click()
    a.locator(".contact-subtab[data-pane=tree]").click()
    for unit in ("中华人民共和国教育部", "天津市", "和平区", "和平小学"):
        a.locator(".unit-row", has_text=unit).click()
    expect(a.locator(".tree-crumb")).to_have_count(5)
    screenshot(a, f"chat-tree-{size}")
    a.locator(".person-row", has_text="李娜").click()
    expect(a.locator("#chat-head-name")).to_have_text("李娜")
    expect(a.locator("#chat-head-sub")).to_contain_text("在线")
    screenshot(a, f"chat-start-{size}")

    # Text: Enter sends; the message is pending until acknowledged, then 未读 until 李娜 reads it.
    a.locator("#chat-input").fill("李老师您好，明天的教研活动改到三楼会议室")
    a.locator("#chat-input").press("Shift+Enter")
    a.locator("#chat-input").type("收到请回复 ")
    a.locator("#btn-emoji").click()
    expect(a.locator("#emoji-picker .emoji")).to_have_count(128)
    screenshot(a, f"chat-emoji-{size}")
    a.locator(".emoji", has_text="👍").click()
    a.locator("#chat-input").press("Enter")
    mine = a.locator(".msg.is-mine").last
    expect(mine.locator(".bubble")).to_have_text("李老师您好，明天的教研活动改到三楼会议室\n收到请回复 👍")
    expect(mine.locator(".msg-meta")).to_have_text("未读")
    expect(a.locator("#chat-input")).to_have_value("")

    # 李娜's list shows the conversation with its unread count, the navigation the total.
    row = b.locator(".conv-row", has_text="张伟")
    expect(row.locator(".conv-badge")).to_have_text("1")
    expect(row.locator(".conv-last")).to_contain_text("明天的教研活动")
    expect(b.locator("#nav-chat-count")).to_have_text("1")
    screenshot(b, f"chat-list-unread-{size}")
    row.click()
    expect(b.locator(".msg").last.locator(".bubble")).to_contain_text("收到请回复 👍")
    expect(b.locator("#nav-chat-count")).to_be_hidden()
    expect(mine.locator(".msg-meta")).to_have_text("已读")

    # 李娜 types: 张伟 sees the typing indicator, then the reply.
    b.locator("#chat-input").type("好的")
    expect(a.locator("#chat-typing")).to_contain_text("李娜")
    b.locator("#chat-input").press("Enter")
    expect(a.locator(".msg:not(.is-mine)").last.locator(".bubble")).to_have_text("好的")

    # A picture: a thumbnail on both sides, the full picture on a click.
    picture = tmp_path / "教室.png"
    picture.write_bytes(png_bytes())
    a.locator("#input-image").set_input_files(str(picture))
    expect(a.locator(".msg.is-mine.is-image img.msg-image")).to_have_count(1)
    received = b.locator(".msg.is-image img.msg-image")
    expect(received).to_have_count(1)
    expect(received).to_have_attribute("src", re.compile(r"variant=thumbnail"))
    b.wait_for_function("() => document.querySelector('img.msg-image').naturalWidth > 0")
    received.click()
    expect(b.locator("#chat-overlay")).to_be_visible()
    b.wait_for_function("() => document.getElementById('chat-dialog-img').naturalWidth === 640")
    screenshot(b, f"chat-image-full-{size}")
    b.keyboard.press("Escape")
    expect(b.locator("#chat-overlay")).to_be_hidden()

    # A file: name and size, downloaded by the other side.
    document = tmp_path / "教研安排.txt"
    document.write_text("周三下午 教研活动\n地点：三楼会议室\n", encoding="utf-8")
    a.locator("#input-file").set_input_files(str(document))
    card = b.locator(".msg-file", has_text="教研安排.txt")
    expect(card).to_be_visible()
    expect(card.locator(".msg-file-size")).to_contain_text("B")
    with b.expect_download() as download_info:
        card.click()
    downloaded = download_info.value.path()
    assert Path(downloaded).read_text(encoding="utf-8") == document.read_text(encoding="utf-8")
    screenshot(a, f"chat-conversation-{size}")
    screenshot(b, f"chat-conversation-peer-{size}")

    # 李娜 goes offline (her page closes); 张伟 sees her offline and sends three more messages.
    context = b.context
    b.close()
    expect(a.locator("#chat-head-sub")).to_contain_text("离线")
    for n in range(1, 4):
        a.locator("#chat-input").fill(f"离线消息 {n}")
        a.locator("#chat-input").press("Enter")
    expect(a.locator(".msg.is-mine .msg-meta", has_text="未读")).to_have_count(3)
    expect(a.locator(".msg-meta.is-sending")).to_have_count(0)

    # She comes back: three unread, and the conversation holds everything once, in order.
    b = context.new_page()
    b.set_viewport_size(SIZES[size])
    watch_csp(b)
    open_chat(b)
    row = b.locator(".conv-row", has_text="张伟")
    expect(row.locator(".conv-badge")).to_have_text("3")
    expect(b.locator("#nav-chat-count")).to_have_text("3")
    row.click()
    expect(b.locator(".msg .bubble", has_text="离线消息 3")).to_be_visible()
    # 以下为新消息 marks where the unread ones begin.
    expect(b.locator(".msg-divider")).to_have_text("以下为新消息")
    expect(b.locator(".msg-divider + .msg")).to_contain_text("离线消息 1")
    texts = [text.strip() for text in b.locator(".msg .bubble").all_inner_texts() if text.strip()]
    assert texts[-3:] == ["离线消息 1", "离线消息 2", "离线消息 3"], texts
    assert texts[0].startswith("李老师您好") and texts[1] == "好的", texts
    assert sum("离线消息 2" in text for text in texts) == 1
    expect(b.locator(".msg.is-image")).to_have_count(1)
    expect(b.locator(".msg.is-file")).to_have_count(1)
    expect(a.locator(".msg.is-mine .msg-meta", has_text="未读")).to_have_count(0)
    seqs = list(
        Message.objects.filter(conversation__memberships__user=li).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 8)), seqs
    screenshot(b, f"chat-caught-up-{size}")

    # While she is offline again (the context loses the network), 张伟's message waits; back online,
    # her socket resumes from its last event id and shows it without a reload.
    b.evaluate("window.__sameDocument = true")
    context.set_offline(True)
    a.locator("#chat-input").fill("断网期间的消息")
    a.locator("#chat-input").press("Enter")
    expect(a.locator(".msg.is-mine .msg-meta").last).to_have_text(re.compile("已读|未读"))
    context.set_offline(False)
    expect(b.locator(".msg .bubble", has_text="断网期间的消息")).to_have_count(1, timeout=20_000)
    assert b.evaluate("window.__sameDocument") is True

    # 张伟 recalls his last message: both sides see 撤回了一条消息.
    last = a.locator(".msg.is-mine").last
    last.locator(".bubble").click(button="right")
    a.locator("#msg-menu .chat-menu-row", has_text="撤回").click()
    expect(a.locator(".msg-notice", has_text="你撤回了一条消息")).to_have_count(1)
    expect(b.locator(".msg-notice", has_text="张伟撤回了一条消息")).to_have_count(1)
    expect(b.locator(".msg .bubble", has_text="断网期间的消息")).to_have_count(0)

    for page, who in ((a, "a"), (b, "b")):
        assert_no_sideways_scroll(page, f"the chat of {who}")
        assert page.evaluate("window.__violations") == []
    back_to_list(b, size)
    screenshot(b, f"chat-list-after-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_colleagues_search_font_size_and_block(open_browser, asgi_server, people, password, screenshot, size):
    zhang, chen, li = people
    a = open_browser()
    a.set_viewport_size(SIZES[size])
    sign_in(a, "zhang_wei", password)
    open_chat(a)

    # 本单位 lists the colleagues of 海淀实验小学; the directory search finds 李娜 by account.
    a.locator("#tab-contacts").click()
    expect(a.locator(".person-row", has_text="陈静")).to_be_visible()
    expect(a.locator(".person-row.is-self", has_text="张伟")).to_be_visible()
    a.locator("#contact-q").fill("li_na")
    expect(a.locator(".person-row", has_text="李娜")).to_be_visible()
    expect(a.locator(".person-row", has_text="陈静")).to_have_count(0)
    screenshot(a, f"chat-contacts-search-{size}")
    a.locator("#contact-q").fill("")
    a.locator(".person-row", has_text="陈静").click()
    expect(a.locator("#chat-head-name")).to_have_text("陈静")
    expect(a.locator("#chat-head-sub")).to_contain_text("离线")

    # 字体大小: kept in the chat preferences, applied to the window.
    a.locator("#chat-more summary").click()
    a.locator("#font-size").select_option("18")
    a.wait_for_function("() => getComputedStyle(document.getElementById('chat-messages')).fontSize === '18px'")
    for _ in range(50):
        if ChatPreference.objects.filter(user=zhang, font_size=18).exists():
            break
        a.wait_for_timeout(100)
    assert ChatPreference.objects.get(user=zhang).font_size == 18

    # History search: a message found by a Chinese word.
    for text in ("周五交教案", "下周一升旗仪式", "教案模板在群文件里"):
        a.locator("#chat-input").fill(text)
        a.locator("#chat-input").press("Enter")
    expect(a.locator(".msg.is-mine .msg-meta", has_text="未读")).to_have_count(3)
    a.locator("#btn-search").click()
    a.locator("#chat-search-q").fill("教案")
    a.locator("#chat-search-q").press("Enter")
    expect(a.locator(".search-hit")).to_have_count(2)
    screenshot(a, f"chat-search-{size}")
    a.locator("#chat-search-close").click()

    # 拒收: 张伟 refuses 陈静's messages; a message she sends is refused, said clearly.
    a.once("dialog", lambda dialog: dialog.accept())
    a.locator("#chat-more summary").click()
    a.locator("#btn-block").click()
    expect(a.locator("#chat-blocked")).to_be_visible()
    c = open_browser()
    c.set_viewport_size(SIZES[size])
    sign_in(c, "chen_jing", password)
    open_chat(c)
    c.locator(".conv-row", has_text="张伟").click()
    c.locator("#chat-input").fill("张老师在吗")
    c.locator("#chat-input").press("Enter")
    expect(c.locator(".msg-meta.is-failed")).to_contain_text("拒收")
    expect(c.locator(".msg-meta.is-failed")).not_to_contain_text("重发")
    screenshot(c, f"chat-blocked-{size}")
    assert not Message.objects.filter(sender=chen).exists()

    # /chat/?user=<id> (a link from elsewhere in the portal) opens the conversation with that person.
    a.goto(f"/chat/?user={li.pk}")
    expect(a.locator("#chat-head-name")).to_have_text("李娜")


def seed_history(zhang, chen, count: int) -> int:
    """``count`` messages from 张伟 to 陈静, stored through the service as a send stores them."""
    from chat import services

    conversation, _created = services.conversation_start(user=zhang, other_id=chen.pk)
    for n in range(1, count + 1):
        services.message_send(
            user=zhang, conversation_id=conversation.pk, text=f"历史消息 {n:02d}", client_id=f"seed-{n}"
        )
    return conversation.pk


PASTE_SCREENSHOT = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 300; canvas.height = 200;
  const context = canvas.getContext("2d");
  context.fillStyle = "#c0392b"; context.fillRect(0, 0, 300, 200);
  context.fillStyle = "#ffffff"; context.fillRect(100, 60, 100, 80);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const data = new DataTransfer();
  data.items.add(new File([blob], "image.png", { type: "image/png" }));
  document.getElementById("chat-input").dispatchEvent(
    new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true })
  );
}"""


@pytest.mark.parametrize("size", SIZES)
def test_history_pages_a_lost_send_is_resent_a_pasted_screenshot_and_delete_for_me(
    open_browser, asgi_server, people, password, screenshot, size
):
    zhang, chen, _li = people
    conversation_id = asgi_server.call(seed_history, zhang, chen, 65)
    a = open_browser()
    a.set_viewport_size(SIZES[size])

    # The page's socket goes through a route that can swallow a chat.send (as a connection that
    # dies after the frame left) and drop the connection.
    routes = []
    swallow = {"send": False, "swallowed": 0}

    def route(ws):
        server = ws.connect_to_server()

        def from_page(message):
            if swallow["send"] and '"chat.send"' in str(message):
                swallow["send"] = False
                swallow["swallowed"] += 1
                return
            server.send(message)

        ws.on_message(from_page)
        routes.append(ws)

    a.route_web_socket(re.compile(r"/ws/"), route)
    sign_in(a, "zhang_wei", password)
    open_chat(a)

    # The newest page first; scrolling up loads the older ones, until the first message.
    a.locator(".conv-row", has_text="陈静").click()
    expect(a.locator(".msg .bubble", has_text="历史消息 65")).to_be_visible()
    expect(a.locator(".msg .bubble", has_text="历史消息 01")).to_have_count(0)
    for _ in range(5):
        a.locator("#chat-messages").evaluate("(box) => { box.scrollTop = 0; }")
        a.wait_for_timeout(300)
        if a.locator(".msg .bubble", has_text="历史消息 01").count():
            break
    expect(a.locator(".msg .bubble", has_text="历史消息 01")).to_have_count(1)
    expect(a.locator("#chat-older")).to_have_text("没有更早的消息了")
    texts = [text.strip() for text in a.locator(".msg .bubble").all_inner_texts()]
    assert texts == [f"历史消息 {n:02d}" for n in range(1, 66)], texts
    screenshot(a, f"chat-history-top-{size}")

    # A send whose frame is lost stays 发送中; when the connection drops and comes back, the page
    # sends it again with the same client id: one message, acknowledged.
    swallow["send"] = True
    a.locator("#chat-input").fill("这条消息第一次没送到")
    a.locator("#chat-input").press("Enter")
    expect(a.locator(".msg-meta.is-sending")).to_have_count(1)
    assert swallow["swallowed"] == 1
    routes[-1].close(code=4000, reason="dropped")
    expect(a.locator(".msg-meta.is-sending")).to_have_count(0, timeout=15_000)
    expect(a.locator(".msg.is-mine").last.locator(".msg-meta")).to_have_text("未读")
    assert Message.objects.filter(conversation_id=conversation_id, text="这条消息第一次没送到").count() == 1
    assert len(routes) >= 2

    # A pasted screenshot is shown first, then sent as a picture.
    a.evaluate(PASTE_SCREENSHOT)
    expect(a.locator("#chat-overlay")).to_be_visible()
    expect(a.locator("#chat-dialog-title")).to_have_text("发送这张截图？")
    a.locator("#chat-dialog-ok").click()
    expect(a.locator(".msg.is-mine.is-image img.msg-image")).to_have_count(1)
    expect(a.locator(".msg.is-mine.is-image .msg-meta")).to_have_text("未读")
    pasted = Message.objects.get(conversation_id=conversation_id, kind="image")
    assert pasted.file_name.endswith(".png") and pasted.width == 300 and pasted.height == 200
    screenshot(a, f"chat-pasted-{size}")

    # A lost send survives a reload of the tab: the page sends it again with its client id.
    swallow["send"] = True
    a.locator("#chat-input").fill("刷新之前没送到的消息")
    a.locator("#chat-input").press("Enter")
    expect(a.locator(".msg-meta.is-sending")).to_have_count(1)
    a.reload()
    a.locator(".conv-row", has_text="陈静").click()
    expect(a.locator(".msg.is-mine", has_text="刷新之前没送到的消息").locator(".msg-meta")).to_have_text("未读")
    assert Message.objects.filter(conversation_id=conversation_id, text="刷新之前没送到的消息").count() == 1

    # 删除 hides a message for 张伟 only; it stays hidden after a reload.
    target = a.locator(".msg", has_text="历史消息 64")
    target.locator(".bubble").click(button="right")
    a.locator("#msg-menu .chat-menu-row", has_text="删除").click()
    expect(a.locator(".msg .bubble", has_text="历史消息 64")).to_have_count(0)
    a.reload()
    a.locator(".conv-row", has_text="陈静").click()
    expect(a.locator(".msg .bubble", has_text="历史消息 63")).to_be_visible()
    expect(a.locator(".msg .bubble", has_text="历史消息 64")).to_have_count(0)
    assert Message.objects.filter(conversation_id=conversation_id, text="历史消息 64").exists()

    # 跳到日期: today's first message, loaded by paging back from the newest.
    expect(a.locator(".msg .bubble", has_text="历史消息 01")).to_have_count(0)
    a.locator("#btn-search").click()
    today = timezone.localdate().isoformat()
    a.locator("#chat-date").fill(today)
    first = a.locator(".msg", has_text="历史消息 01")
    expect(first).to_have_class(re.compile("is-found"))
    expect(first).to_be_in_viewport()
