"""The portal's chat page (/chat/) and the navigation's 聊天 entry with its unread total."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from chat import services


def test_the_chat_page_needs_a_sign_in(client):
    response = client.get(reverse("chat:index"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_chat_page_starts_the_script_with_the_user_the_font_size_and_chinese_words(client, zhang):
    services.font_size_set(user=zhang, font_size=18)
    client.force_login(zhang)
    response = client.get(reverse("chat:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-me="{zhang.pk}"' in page
    assert f'data-unit="{zhang.unit_id}"' in page
    assert 'data-font-size="18"' in page
    assert '<option value="18" selected>' in page
    labels = json.loads(re.search(r'<script id="chat-labels" type="application/json">(.*?)</script>', page, re.S)[1])
    assert labels["recalled_other"] % {"name": "张伟"} == "张伟撤回了一条消息"
    assert labels["read"] == "已读" and labels["unread"] == "未读"
    # Scripts carry the nonce; previews of pictures being sent are blob: images, nothing else is.
    policy = response["Content-Security-Policy"]
    assert "blob:" in re.search(r"img-src[^;]*", policy)[0]
    assert "unsafe-inline" not in re.search(r"script-src[^;]*", policy)[0]
    for src in re.findall(r'<script src="([^"]+)"', page):
        assert src.startswith("/static/"), src
    assert 'nonce="' in re.search(r'<script src="/static/js/chat.js"[^>]*>', page)[0]


def test_the_navigation_links_the_chat_with_the_unread_total(client, zhang, li):
    conversation, _created = services.conversation_start(user=li, other_id=zhang.pk)
    for n in range(3):
        services.message_send(user=li, conversation_id=conversation.pk, text=f"第{n}条", client_id=f"n{n}")
    client.force_login(zhang)
    page = client.get(reverse("home")).content.decode()
    link = re.search(r'<a id="nav-chat"[^>]*>.*?</a>', page, re.S)[0]
    assert f'href="{reverse("chat:index")}"' in link
    assert re.search(r'id="nav-chat-count">3</span>', link)
    services.read_up_to(user=zhang, conversation_id=conversation.pk)
    page = client.get(reverse("home")).content.decode()
    assert re.search(r'id="nav-chat-count" hidden>', page)


def test_the_chat_page_carries_the_friends_and_groups_scripts_and_their_words_in_chinese(client, zhang):
    client.force_login(zhang)
    page = client.get(reverse("chat:index")).content.decode()
    for script in ("chat_contacts.js", "chat_groups.js", "chat_group_panel.js"):
        assert 'nonce="' in re.search(rf'<script src="/static/js/{script}"[^>]*>', page)[0]
    assert 'data-pane="friends"' in page and 'data-pane="groups"' in page
    labels = json.loads(re.search(r'<script id="chat-labels" type="application/json">(.*?)</script>', page, re.S)[1])
    assert labels["new_friends"] == "新的朋友" and labels["find_group"] == "查找群组"
    assert labels["accept"] == "接受" and labels["decline"] == "拒绝"
    # Every word the three scripts use is there, and none is left in English.
    scripts = Path(settings.BASE_DIR, "static", "js")
    used = set()
    for script in ("chat_contacts.js", "chat_groups.js", "chat_group_panel.js"):
        used |= set(re.findall(r"\bL\.([a-z_]+)", (scripts / script).read_text()))
    assert used <= set(labels), sorted(used - set(labels))
    english = [key for key in used if re.fullmatch(r"[\x00-\x7f“”…]*", labels[key])]
    assert english == [], english
