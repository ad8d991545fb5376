/* The chat page (聊天): conversation list, contacts (本单位, 单位组织, search), and the chat window.
   Reads over the chat REST API (/api/v1/chat/); sends text over the page's one websocket
   (window.platformSocket, static/js/realtime.js) as chat.send with a client id, shown as pending
   until its chat.ack and sent again after a reconnect (the server keeps one message per client id);
   pictures and files go over REST. Live events (chat.message, chat.read, chat.recalled,
   chat.hidden, chat.typing, chat.presence) arrive as "platform:event" and are replayed in order
   after a reconnect, so the window catches up with whatever it missed. */
(function () {
  "use strict";
  var app = document.getElementById("chat-app");
  if (!app) return;

  var L = JSON.parse(document.getElementById("chat-labels").textContent);
  var API = app.dataset.api;
  var ME = parseInt(app.dataset.me, 10);
  var ME_NAME = app.dataset.meName;
  var MY_UNIT = app.dataset.unit ? parseInt(app.dataset.unit, 10) : null;
  var PAGE = 30;
  var RECALL_MS = 2 * 60 * 1000;
  var csrf = "";
  try { csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (err) { csrf = ""; }

  function $(id) { return document.getElementById(id); }
  var el = {
    list: $("conv-list"), empty: $("conv-empty"), tabConv: $("tab-conversations"), tabContacts: $("tab-contacts"),
    panelConv: $("panel-conversations"), panelContacts: $("panel-contacts"), contactQ: $("contact-q"),
    contactBody: $("contact-body"), placeholder: $("chat-placeholder"), win: $("chat-window"), back: $("chat-back"),
    headAvatar: $("chat-head-avatar"), headName: $("chat-head-name"), headSub: $("chat-head-sub"),
    messages: $("chat-messages"), msgList: $("msg-list"), older: $("chat-older"), typing: $("chat-typing"),
    input: $("chat-input"), send: $("btn-send"), error: $("chat-error"), emojiBtn: $("btn-emoji"),
    emoji: $("emoji-picker"), imageBtn: $("btn-image"), fileBtn: $("btn-file"), captureBtn: $("btn-capture"),
    inputImage: $("input-image"), inputFile: $("input-file"), fontSize: $("font-size"), blockBtn: $("btn-block"),
    blocked: $("chat-blocked"), more: $("chat-more"), searchBtn: $("btn-search"), search: $("chat-search"),
    searchForm: $("chat-search-form"), searchQ: $("chat-search-q"), searchResults: $("chat-search-results"),
    searchClose: $("chat-search-close"), date: $("chat-date"), overlay: $("chat-overlay"), dialogTitle: $("chat-dialog-title"),
    dialogImg: $("chat-dialog-img"), dialogActions: $("chat-dialog-actions"), dialogOk: $("chat-dialog-ok"),
    dialogCancel: $("chat-dialog-cancel"), menu: $("msg-menu"), newPill: $("chat-new-pill")
  };

  var S = {
    convs: new Map(),        // conversation id -> row from the API (kept current by events)
    current: null,           // the open conversation's id
    msgs: new Map(),         // seq -> message of the open conversation
    hasMore: false,          // older messages exist
    loadingOlder: false,
    pending: new Map(),      // client_id -> {conversation, kind, text, file, preview, status, error, created}
    blocked: new Set(),      // user ids I refuse messages from
    nodes: new Map(),        // message key -> {sig, node}: elements reused between renders
    typingTimer: null,
    firstUnread: 0,          // the open conversation's first unread seq when it was opened (以下为新消息)
    lastTypingSent: 0,
    socketWasOpen: false
  };

  // --- Helpers ------------------------------------------------------------------------------------
  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }
  function initial(name) { return (name || "?").charAt(0).toUpperCase(); }
  function avatar(name, online) {
    var span = document.createElement("span");
    span.className = "avatar chat-avatar";
    span.textContent = initial(name);
    if (online !== undefined) {
      var dot = document.createElement("span");
      dot.className = "presence-dot" + (online ? " is-online" : "");
      span.appendChild(dot);
    }
    return span;
  }
  function h(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function dayKey(d) { return d.getFullYear() + "-" + d.getMonth() + "-" + d.getDate(); }
  function hm(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function dayLabel(d) {
    var now = new Date();
    var yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    if (dayKey(d) === dayKey(now)) return null;
    if (dayKey(d) === dayKey(yesterday)) return L.yesterday;
    if (d.getFullYear() === now.getFullYear()) return (d.getMonth() + 1) + "月" + d.getDate() + "日";
    return d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日";
  }
  function stamp(d) { var day = dayLabel(d); return day ? day + " " + hm(d) : hm(d); }
  function listTime(d) { return dayLabel(d) || hm(d); }
  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return pad16(b); }).join("");
  }
  function pad16(b) { return (b < 16 ? "0" : "") + b.toString(16); }
  function showError(text) {
    el.error.textContent = text || "";
    if (text) setTimeout(function () { if (el.error.textContent === text) el.error.textContent = ""; }, 6000);
  }

  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") init.headers["X-CSRFToken"] = csrf;
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    var url = path.indexOf("/") === 0 ? path : API + path;
    return fetch(url, init).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { var error = new Error(data.detail || response.statusText); error.data = data; error.status = response.status; throw error; }
        return data;
      });
    });
  }

  // --- Conversation list --------------------------------------------------------------------------
  function convName(conv) { return conv.name || (conv.peer ? conv.peer.name || conv.peer.account : ""); }
  function preview(message) {
    if (!message) return "";
    if (message.recalled) return message.sender.id === ME ? L.recalled_self : fmt(L.recalled_other, { name: message.sender.name });
    if (message.kind === "image") return L.image;
    if (message.kind === "file") return L.file + " " + (message.file ? message.file.name : "");
    return message.text;
  }
  function sortedConvs() {
    return Array.from(S.convs.values()).sort(function (a, b) {
      var ta = a.last_message_at || "", tb = b.last_message_at || "";
      if (ta !== tb) return ta < tb ? 1 : -1;
      return b.id - a.id;
    });
  }
  function renderList() {
    el.list.textContent = "";
    var rows = sortedConvs();
    el.empty.hidden = rows.length > 0;
    var total = 0;
    rows.forEach(function (conv) {
      total += conv.unread || 0;
      var li = h("li", "conv-row" + (conv.id === S.current ? " is-active" : ""));
      li.dataset.conversation = conv.id;
      li.tabIndex = 0;
      li.setAttribute("role", "button");
      var face = avatar(convName(conv), conv.peer ? !!conv.peer_online : undefined);
      if (conv.kind === "group") face.classList.add("is-group");
      li.appendChild(face);
      var text = h("div", "conv-text");
      var top = h("div", "conv-top");
      top.appendChild(h("span", "conv-name", convName(conv)));
      top.appendChild(h("span", "conv-time", conv.last_message_at ? listTime(new Date(conv.last_message_at)) : ""));
      text.appendChild(top);
      var bottom = h("div", "conv-bottom");
      bottom.appendChild(h("span", "conv-last", preview(conv.last_message)));
      if (conv.unread) bottom.appendChild(h("span", "conv-badge", conv.unread > 99 ? "99+" : String(conv.unread)));
      text.appendChild(bottom);
      li.appendChild(text);
      el.list.appendChild(li);
    });
    if (window.chatBadge) window.chatBadge.set(total);
    document.title = document.title.replace(/^\(\d+\+?\) /, "");
    if (total) document.title = "(" + (total > 99 ? "99+" : total) + ") " + document.title;
  }
  function loadConversations() {
    return api("GET", "conversations/").then(function (rows) {
      S.convs.clear();
      rows.forEach(function (row) { S.convs.set(row.id, row); });
      renderList();
      if (S.current && S.convs.has(S.current)) renderHead();
    });
  }
  el.list.addEventListener("click", function (event) {
    var row = event.target.closest(".conv-row");
    if (row) openConversation(parseInt(row.dataset.conversation, 10));
  });
  el.list.addEventListener("keydown", function (event) {
    var row = event.target.closest(".conv-row");
    if (row && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); openConversation(parseInt(row.dataset.conversation, 10)); }
  });

  // --- Tabs and the phone's two views ---------------------------------------------------------
  function showTab(which) {
    var contacts = which === "contacts";
    el.tabConv.classList.toggle("is-active", !contacts);
    el.tabContacts.classList.toggle("is-active", contacts);
    el.tabConv.setAttribute("aria-selected", String(!contacts));
    el.tabContacts.setAttribute("aria-selected", String(contacts));
    el.panelConv.hidden = contacts;
    el.panelContacts.hidden = !contacts;
    if (contacts && !el.contactBody.dataset.loaded) { el.contactBody.dataset.loaded = "1"; showContacts("mine"); }
  }
  el.tabConv.addEventListener("click", function () { showTab("conversations"); });
  el.tabContacts.addEventListener("click", function () { showTab("contacts"); });
  function setView(view) {
    app.dataset.view = view;
    document.body.classList.toggle("chat-open", view === "chat");
  }
  el.back.addEventListener("click", function () {
    if (history.state && history.state.chat) history.back();
    else closeConversation();
  });
  window.addEventListener("popstate", function () { if (S.current) closeConversation(); });
  function closeConversation() {
    S.current = null;
    setView("list");
    el.win.hidden = true;
    el.placeholder.hidden = false;
    renderList();
  }

  // --- Contacts: 本单位, 单位组织, search --------------------------------------------------------
  var contactPane = "mine";
  var treeStack = [{ id: null, name: L.all_units }];
  function personRow(person) {
    var li = h("li", "person-row");
    li.dataset.user = person.id;
    li.tabIndex = 0;
    li.setAttribute("role", "button");
    li.appendChild(avatar(person.name || person.account));
    var text = h("div", "person-text");
    text.appendChild(h("div", "person-name", (person.name || person.account) + (person.id === ME ? " " + L.you : "")));
    var sub = person.account + (person.unit && person.unit.name ? " · " + person.unit.name : "");
    text.appendChild(h("div", "person-sub muted small", sub));
    li.appendChild(text);
    if (person.id === ME) li.classList.add("is-self");
    return li;
  }
  function peopleList(results, next) {
    var wrap = h("div", "people");
    var ul = h("ul", "person-list");
    wrap.appendChild(ul);
    function add(rows, nextUrl) {
      rows.forEach(function (person) { ul.appendChild(personRow(person)); });
      if (!nextUrl) return;
      var more = h("button", "btn btn-secondary btn-sm contact-more", L.load_more);
      more.type = "button";
      more.addEventListener("click", function () {
        more.disabled = true;
        api("GET", nextUrl).then(function (page) { more.remove(); add(page.results, page.next); });
      });
      wrap.appendChild(more);
    }
    add(results, next);
    return wrap;
  }
  function showContacts(pane) {
    contactPane = pane;
    document.querySelectorAll(".contact-subtab").forEach(function (button) {
      button.classList.toggle("is-active", button.dataset.pane === pane);
    });
    if (el.contactQ.value.trim()) return searchPeople();
    // 好友 and 群组 are drawn by chat_contacts.js / chat_groups.js (window.chatSocial).
    if (window.chatSocial && window.chatSocial.panes[pane]) return window.chatSocial.panes[pane](el.contactBody);
    if (pane === "mine") return showMyUnit();
    return showTree();
  }
  function loading() { el.contactBody.textContent = ""; el.contactBody.appendChild(h("p", "muted small chat-pad", L.loading)); }
  function showMyUnit() {
    if (!MY_UNIT) { el.contactBody.textContent = ""; el.contactBody.appendChild(h("p", "muted chat-pad", L.no_unit)); return; }
    loading();
    api("GET", "/api/v1/org/units/" + MY_UNIT + "/members/").then(function (page) {
      if (contactPane !== "mine" || el.contactQ.value.trim()) return;
      el.contactBody.textContent = "";
      el.contactBody.appendChild(h("div", "contact-caption muted small", app.dataset.unitName));
      el.contactBody.appendChild(peopleList(page.results, page.next));
    });
  }
  function showTree() {
    loading();
    var here = treeStack[treeStack.length - 1];
    var unitsUrl = "/api/v1/org/units/" + (here.id ? "?parent=" + here.id : "");
    var requests = [api("GET", unitsUrl)];
    if (here.id) requests.push(api("GET", "/api/v1/org/units/" + here.id + "/members/"));
    Promise.all(requests).then(function (answers) {
      if (contactPane !== "tree" || el.contactQ.value.trim()) return;
      el.contactBody.textContent = "";
      var crumbs = h("nav", "tree-crumbs small");
      treeStack.forEach(function (step, index) {
        var crumb = h("button", "tree-crumb", step.name);
        crumb.type = "button";
        crumb.disabled = index === treeStack.length - 1;
        crumb.addEventListener("click", function () { treeStack = treeStack.slice(0, index + 1); showTree(); });
        crumbs.appendChild(crumb);
      });
      el.contactBody.appendChild(crumbs);
      var units = answers[0].results;
      if (units.length) {
        el.contactBody.appendChild(h("div", "contact-caption muted small", L.units));
        var ul = h("ul", "unit-list");
        units.forEach(function (unit) {
          var li = h("li", "unit-row");
          li.tabIndex = 0;
          li.setAttribute("role", "button");
          li.dataset.unit = unit.id;
          li.appendChild(h("span", "unit-icon", unit.kind === "school" ? "🏫" : "🏛️"));
          li.appendChild(h("span", "unit-name", unit.name));
          li.appendChild(h("span", "unit-go", "›"));
          li.addEventListener("click", function () { treeStack.push({ id: unit.id, name: unit.name }); showTree(); });
          li.addEventListener("keydown", function (event) { if (event.key === "Enter") li.click(); });
          ul.appendChild(li);
        });
        el.contactBody.appendChild(ul);
      }
      if (answers[1]) {
        el.contactBody.appendChild(h("div", "contact-caption muted small", L.members));
        if (answers[1].results.length) el.contactBody.appendChild(peopleList(answers[1].results, answers[1].next));
        else el.contactBody.appendChild(h("p", "muted small chat-pad", L.no_people));
      }
    });
  }
  var searchTimer = null;
  function searchPeople() {
    var q = el.contactQ.value.trim();
    if (!q) return showContacts(contactPane);
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      api("GET", "/api/v1/users/?search=" + encodeURIComponent(q)).then(function (page) {
        if (el.contactQ.value.trim() !== q) return;
        el.contactBody.textContent = "";
        if (!page.results.length) { el.contactBody.appendChild(h("p", "muted chat-pad", L.no_people)); return; }
        el.contactBody.appendChild(peopleList(page.results, page.next));
      }).catch(function (error) { el.contactBody.textContent = error.message; });
    }, 250);
  }
  el.contactQ.addEventListener("input", searchPeople);
  document.querySelectorAll(".contact-subtab").forEach(function (button) {
    button.addEventListener("click", function () { el.contactQ.value = ""; showContacts(button.dataset.pane); });
  });
  function startWith(userId) {
    if (userId === ME) return;
    api("POST", "conversations/", { user: userId }).then(function (conv) {
      S.convs.set(conv.id, conv);
      showTab("conversations");
      openConversation(conv.id);
    }).catch(function (error) { window.alert(error.message || L.start_failed); });
  }
  el.contactBody.addEventListener("click", function (event) {
    var row = event.target.closest(".person-row");
    if (row) startWith(parseInt(row.dataset.user, 10));
  });
  el.contactBody.addEventListener("keydown", function (event) {
    var row = event.target.closest(".person-row");
    if (row && event.key === "Enter") startWith(parseInt(row.dataset.user, 10));
  });

  // --- The chat window ------------------------------------------------------------------------
  function currentConv() { return S.current ? S.convs.get(S.current) : null; }
  function renderHead() {
    var conv = currentConv();
    if (!conv) return;
    var name = convName(conv);
    el.headAvatar.textContent = "";
    el.headAvatar.appendChild(avatar(name, conv.peer ? !!conv.peer_online : undefined));
    el.headName.textContent = name;
    var sub = [];
    if (conv.peer) sub.push(conv.peer_online ? L.online : L.offline);
    if (conv.peer && conv.peer.unit_name) sub.push(conv.peer.unit_name);
    el.headSub.textContent = sub.join(" · ");
    el.headSub.classList.toggle("is-online", !!conv.peer_online);
    var blocked = conv.peer && S.blocked.has(conv.peer.id);
    el.blockBtn.hidden = !conv.peer;
    el.blockBtn.textContent = blocked ? L.unblock : L.block;
    el.blocked.hidden = !blocked;
    el.blocked.textContent = blocked ? L.blocked_note : "";
    if (window.chatSocial && window.chatSocial.onHead) window.chatSocial.onHead(conv);
  }
  function openConversation(id) {
    var conv = S.convs.get(id);
    if (!conv) return;
    var narrow = window.matchMedia("(max-width: 720px)").matches;
    if (narrow && app.dataset.view !== "chat") history.pushState({ chat: id }, "");
    S.current = id;
    S.msgs = new Map();
    S.nodes = new Map();
    S.hasMore = false;
    S.firstUnread = conv.unread ? (conv.read_seq || 0) + 1 : 0;
    el.newPill.hidden = true;
    el.msgList.textContent = "";
    el.typing.textContent = "";
    el.search.hidden = true;
    el.emoji.hidden = true;
    el.placeholder.hidden = true;
    el.win.hidden = false;
    setView("chat");
    renderHead();
    renderList();
    api("GET", "conversations/" + id + "/messages/?limit=" + PAGE).then(function (page) {
      if (S.current !== id) return;
      page.results.forEach(addMessage);
      S.hasMore = page.has_more;
      conv.peer_read_seq = Math.max(conv.peer_read_seq || 0, page.peer_read_seq || 0);
      renderMessages({ bottom: true });
      markRead();
    });
    if (!narrow) el.input.focus();
  }
  function addMessage(message) {
    S.msgs.set(message.seq, message);
    if (message.client_id && S.pending.has(message.client_id)) dropPending(message.client_id);
  }
  function dropPending(clientId) {
    var item = S.pending.get(clientId);
    if (item && item.preview) URL.revokeObjectURL(item.preview);
    S.pending.delete(clientId);
    savePending();
  }
  // Unacknowledged texts outlive a reload of the tab (sessionStorage): sent again, same client id.
  var PENDING_KEY = "chat.pending." + ME;
  function savePending() {
    var texts = [];
    S.pending.forEach(function (item, clientId) {
      if (item.kind === "text" && item.status === "sending") {
        texts.push({ id: clientId, conversation: item.conversation, text: item.text, created: item.created });
      }
    });
    try { sessionStorage.setItem(PENDING_KEY, JSON.stringify(texts)); } catch (err) { /* private mode */ }
  }
  function restorePending() {
    var texts = [];
    try { texts = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "[]"); } catch (err) { texts = []; }
    texts.forEach(function (t) {
      S.pending.set(t.id, { conversation: t.conversation, kind: "text", text: t.text, status: "sending", created: t.created });
    });
  }
  function lastSeq() {
    var max = 0;
    S.msgs.forEach(function (_m, seq) { if (seq > max) max = seq; });
    return max;
  }
  function oldestSeq() {
    var min = Infinity;
    S.msgs.forEach(function (_m, seq) { if (seq < min) min = seq; });
    return min === Infinity ? 0 : min;
  }
  function atBottom() { return el.messages.scrollHeight - el.messages.scrollTop - el.messages.clientHeight < 60; }

  function fileBody(message, file, preview) {
    if (message.kind === "image") {
      var img = h("img", "msg-image");
      img.alt = file.name || "";
      var w = file.width || 200, hgt = file.height || 150;
      var scale = Math.min(1, 220 / w, 220 / hgt);
      img.width = Math.max(40, Math.round(w * scale));
      img.height = Math.max(40, Math.round(hgt * scale));
      img.src = preview || file.thumbnail_url || file.url;
      if (file.url && !preview) img.dataset.full = file.url;
      return img;
    }
    var card = h(file.url ? "a" : "div", "msg-file");
    if (file.url) { card.href = file.url; card.setAttribute("download", file.name); }
    var dot = (file.name || "").lastIndexOf(".");
    var ext = dot > 0 ? file.name.slice(dot + 1, dot + 5).toUpperCase() : "FILE";
    card.appendChild(h("span", "msg-file-icon ext-" + ext.toLowerCase(), ext));
    var text = h("span", "msg-file-text");
    text.appendChild(h("span", "msg-file-name", file.name));
    text.appendChild(h("span", "msg-file-size muted small", size(file.size || 0)));
    card.appendChild(text);
    return card;
  }
  function messageNode(message, pending) {
    var mine = message.sender.id === ME;
    // A group's changes (joined, removed, announcement …) are told in its stream as a notice.
    if (message.kind === "system") return h("li", "msg-notice msg-system", message.text);
    if (message.recalled) {
      return h("li", "msg-notice", mine ? L.recalled_self : fmt(L.recalled_other, { name: message.sender.name }));
    }
    var li = h("li", "msg" + (mine ? " is-mine" : "") + (message.kind !== "text" ? " is-" + message.kind : ""));
    if (message.id) li.dataset.id = message.id;
    if (message.seq) li.dataset.seq = message.seq;
    li.appendChild(avatar(message.sender.name));
    var body = h("div", "msg-body");
    var bubble = h("div", "bubble");
    var conv = currentConv();
    if (!mine && conv && conv.kind === "group") body.appendChild(h("div", "msg-name small muted", message.sender.name));
    if (message.kind === "text") bubble.textContent = message.text;
    else bubble.appendChild(fileBody(message, message.file || {}, pending && pending.preview));
    body.appendChild(bubble);
    if (mine) {
      var meta = h("div", "msg-meta small");
      if (pending) {
        if (pending.status === "refused") {
          meta.classList.add("is-failed", "is-final");
          meta.textContent = pending.error + " · " + L.delete;
          meta.dataset.discard = message.client_id;
          meta.setAttribute("role", "button");
          meta.tabIndex = 0;
        } else if (pending.status === "failed") {
          meta.classList.add("is-failed");
          meta.textContent = (pending.error ? pending.error + " · " : "") + L.failed;
          meta.dataset.retry = message.client_id;
          meta.setAttribute("role", "button");
          meta.tabIndex = 0;
        } else { meta.classList.add("is-sending"); meta.textContent = L.sending; }
      } else if (!conv || conv.kind !== "group") { // a group has no one 已读 to show
        var read = conv && message.seq <= (conv.peer_read_seq || 0);
        meta.classList.add(read ? "is-read" : "is-unread");
        meta.textContent = read ? L.read : L.unread;
      }
      body.appendChild(meta);
    }
    if (!pending) {
      var menu = h("button", "msg-more", "⋯");
      menu.type = "button";
      menu.setAttribute("aria-label", L.load_more);
      body.appendChild(menu);
    }
    li.appendChild(body);
    return li;
  }
  function pendingAsMessage(clientId, item) {
    return {
      id: null, seq: null, sender: { id: ME, name: ME_NAME }, kind: item.kind, text: item.text || "",
      file: item.file ? { name: item.file.name, size: item.file.size, width: item.width, height: item.height } : null,
      client_id: clientId, created_at: item.created, recalled: false
    };
  }
  function renderMessages(options) {
    options = options || {};
    var stick = options.bottom || atBottom();
    var fromBottom = el.messages.scrollHeight - el.messages.scrollTop;
    var conv = currentConv();
    var items = Array.from(S.msgs.values()).sort(function (a, b) { return a.seq - b.seq; });
    var pending = [];
    S.pending.forEach(function (item, clientId) { if (item.conversation === S.current) pending.push([clientId, item]); });
    var fragment = document.createDocumentFragment();
    var previous = null;
    var keep = new Map();
    function place(message, pendingItem) {
      var when = new Date(message.created_at);
      if (!previous || when - previous > 5 * 60 * 1000 || dayKey(when) !== dayKey(previous)) {
        fragment.appendChild(h("li", "msg-time", stamp(when)));
      }
      previous = when;
      if (!pendingItem && S.firstUnread && message.seq === S.firstUnread && message.sender.id !== ME) {
        fragment.appendChild(h("li", "msg-divider", L.new_below));
      }
      var key = message.id ? "m" + message.id : "p" + message.client_id;
      var read = !pendingItem && message.sender.id === ME && conv && message.seq <= (conv.peer_read_seq || 0);
      var sig = [message.recalled, message.text, read, pendingItem ? pendingItem.status + pendingItem.error : ""].join("|");
      var cached = S.nodes.get(key);
      var node = cached && cached.sig === sig ? cached.node : messageNode(message, pendingItem);
      keep.set(key, { sig: sig, node: node });
      fragment.appendChild(node);
    }
    items.forEach(function (message) { place(message, null); });
    pending.forEach(function (pair) { place(pendingAsMessage(pair[0], pair[1]), pair[1]); });
    S.nodes = keep;
    el.msgList.textContent = "";
    el.msgList.appendChild(fragment);
    el.older.hidden = !items.length;
    el.older.textContent = S.hasMore ? L.older : L.no_more;
    if (stick) { el.messages.scrollTop = el.messages.scrollHeight; el.newPill.hidden = true; }
    else if (options.keep) el.messages.scrollTop = el.messages.scrollHeight - fromBottom;
  }
  function loadOlder(limit) {
    if (!S.current || !S.hasMore || S.loadingOlder) return Promise.resolve();
    var id = S.current;
    S.loadingOlder = true;
    el.older.textContent = L.loading;
    return api("GET", "conversations/" + id + "/messages/?limit=" + (limit || PAGE) + "&before=" + oldestSeq()).then(function (page) {
      S.loadingOlder = false;
      if (S.current !== id) return;
      page.results.forEach(addMessage);
      S.hasMore = page.has_more;
      renderMessages({ keep: true });
    }, function () { S.loadingOlder = false; });
  }
  el.messages.addEventListener("scroll", function () {
    if (el.messages.scrollTop < 80) loadOlder();
    if (atBottom()) { el.newPill.hidden = true; markRead(); }
  });
  el.newPill.addEventListener("click", function () {
    el.messages.scrollTop = el.messages.scrollHeight;
    el.newPill.hidden = true;
    markRead();
  });
  // After a reconnect or a gap: whatever the open conversation has beyond what is shown.
  function loadNewer() {
    var id = S.current;
    if (!id) return;
    var after = lastSeq();
    api("GET", "conversations/" + id + "/messages/?limit=200&after=" + after).then(function (page) {
      if (S.current !== id) return;
      page.results.forEach(addMessage);
      var conv = currentConv();
      if (conv) conv.peer_read_seq = Math.max(conv.peer_read_seq || 0, page.peer_read_seq || 0);
      renderMessages();
      if (page.has_more) loadNewer();
      else markRead();
    });
  }

  // Read position: what is on screen, while the page is visible.
  var readSent = {};
  function markRead() {
    var conv = currentConv();
    if (!conv || document.visibilityState !== "visible" || !atBottom()) return;
    var seq = Math.max(lastSeq(), conv.last_seq || 0);
    if (!seq || (readSent[conv.id] || 0) >= seq && !conv.unread) return;
    readSent[conv.id] = seq;
    conv.unread = 0;
    conv.read_seq = seq;
    renderList();
    var frame = { type: "chat.read", conversation: conv.id, seq: seq };
    if (!window.platformSocket || !window.platformSocket.send(frame)) {
      api("POST", "conversations/" + conv.id + "/read/", { seq: seq }).catch(function () {});
    }
  }
  document.addEventListener("visibilitychange", markRead);

  // --- Sending --------------------------------------------------------------------------------
  function sendFrame(clientId) {
    var item = S.pending.get(clientId);
    if (!item || item.kind !== "text") return;
    item.status = "sending";
    item.sentAt = Date.now();
    var frame = { type: "chat.send", client_id: clientId, conversation: item.conversation, text: item.text };
    if (window.platformSocket && window.platformSocket.send(frame)) return;
    // No socket: the same message over REST (the client id keeps it one message).
    api("POST", "conversations/" + item.conversation + "/messages/", { text: item.text, client_id: clientId })
      .then(function (message) { acknowledged(message); })
      .catch(function (error) { if (error.status) failed(clientId, error.message, error.data && error.data.code); });
  }
  function sendText() {
    var text = el.input.value;
    if (!text.trim() || !S.current) return;
    if (text.length > 5000) { showError(L.too_long); return; }
    var clientId = newClientId();
    S.pending.set(clientId, { conversation: S.current, kind: "text", text: text, status: "sending", created: new Date().toISOString() });
    el.input.value = "";
    grow();
    savePending();
    renderMessages({ bottom: true });
    sendFrame(clientId);
  }
  function acknowledged(message) {
    var conv = S.convs.get(message.conversation);
    dropPending(message.client_id);
    if (conv) {
      conv.last_message = message;
      conv.last_message_at = message.created_at;
      conv.last_seq = Math.max(conv.last_seq || 0, message.seq);
      conv.unread = 0;
    }
    if (message.conversation === S.current) { addMessage(message); renderMessages({ bottom: true }); }
    renderList();
  }
  // Refusals that a resend cannot change (拒收, not a member, invalid) are shown without "retry".
  var FINAL = { blocked: true, you_blocked: true, not_found: true, invalid: true };
  function failed(clientId, detail, code) {
    var item = S.pending.get(clientId);
    if (!item) return;
    item.status = FINAL[code] ? "refused" : "failed";
    item.error = detail || "";
    savePending();
    if (item.conversation === S.current) renderMessages();
  }
  el.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendText(); }
  });
  el.send.addEventListener("click", sendText);
  // The compose box grows with its text on a phone (up to its max-height), as messengers' do.
  function grow() {
    if (!window.matchMedia("(max-width: 720px)").matches) { el.input.style.height = ""; return; }
    el.input.style.height = "auto";
    el.input.style.height = Math.max(40, el.input.scrollHeight) + "px";
  }
  el.input.addEventListener("input", grow);
  el.input.addEventListener("input", function () {
    var now = Date.now();
    if (!S.current || now - S.lastTypingSent < 3000 || !el.input.value) return;
    S.lastTypingSent = now;
    if (window.platformSocket) window.platformSocket.send({ type: "chat.typing", conversation: S.current });
  });
  el.msgList.addEventListener("click", function (event) {
    var discard = event.target.closest("[data-discard]");
    if (discard) { dropPending(discard.dataset.discard); renderMessages(); return; }
    var retry = event.target.closest("[data-retry]");
    if (retry) {
      var item = S.pending.get(retry.dataset.retry);
      if (item && item.kind === "text") sendFrame(retry.dataset.retry);
      else if (item) upload(item.blob, item.kind, retry.dataset.retry);
      renderMessages();
      return;
    }
    var img = event.target.closest("img.msg-image");
    if (img && img.dataset.full) { viewImage(img.dataset.full); return; }
    var more = event.target.closest(".msg-more");
    if (more) openMenu(more.closest(".msg"), more);
  });

  // Pictures and files: over REST, multipart, with the same client id rule.
  function upload(blob, kind, clientId) {
    if (!S.current) return;
    var conversation = S.current;
    var name = blob.name || "截图.png";
    clientId = clientId || newClientId();
    var item = S.pending.get(clientId);
    if (!item) {
      item = { conversation: conversation, kind: kind, blob: blob, file: { name: name, size: blob.size }, created: new Date().toISOString() };
      if (kind === "image") item.preview = URL.createObjectURL(blob);
      S.pending.set(clientId, item);
    }
    item.status = "sending";
    item.error = "";
    renderMessages({ bottom: true });
    var form = new FormData();
    form.append("file", blob, name);
    form.append("client_id", clientId);
    api("POST", "conversations/" + conversation + "/messages/", form).then(function (message) {
      acknowledged(message);
    }).catch(function (error) {
      var detail = error.data && error.data.fields ? Object.values(error.data.fields).flat().join(" ") : error.message;
      failed(clientId, detail || L.upload_failed, error.data && error.data.code);
    });
  }
  el.imageBtn.addEventListener("click", function () { el.inputImage.click(); });
  el.fileBtn.addEventListener("click", function () { el.inputFile.click(); });
  el.inputImage.addEventListener("change", function () {
    Array.from(el.inputImage.files).forEach(function (file) { upload(file, "image"); });
    el.inputImage.value = "";
  });
  el.inputFile.addEventListener("change", function () {
    Array.from(el.inputFile.files).forEach(function (file) { upload(file, file.type.indexOf("image/") === 0 ? "image" : "file"); });
    el.inputFile.value = "";
  });
  el.messages.addEventListener("dragover", function (event) { event.preventDefault(); });
  el.messages.addEventListener("drop", function (event) {
    event.preventDefault();
    Array.from(event.dataTransfer.files).forEach(function (file) { upload(file, file.type.indexOf("image/") === 0 ? "image" : "file"); });
  });

  // A pasted screenshot (or a captured screen) is shown first and sent on 发送.
  var confirmAction = null;
  function confirmImage(blob, title) {
    var url = URL.createObjectURL(blob);
    el.dialogTitle.textContent = title;
    el.dialogImg.src = url;
    el.dialogActions.hidden = false;
    el.overlay.hidden = false;
    confirmAction = function (ok) {
      URL.revokeObjectURL(url);
      if (ok) upload(blob, "image");
    };
    el.dialogOk.focus();
  }
  function viewImage(url) {
    el.dialogTitle.textContent = "";
    el.dialogImg.src = url;
    el.dialogActions.hidden = true;
    el.overlay.hidden = false;
    confirmAction = null;
  }
  function closeOverlay(ok) {
    el.overlay.hidden = true;
    el.dialogImg.removeAttribute("src");
    var action = confirmAction;
    confirmAction = null;
    if (action) action(ok);
    el.input.focus();
  }
  el.dialogOk.addEventListener("click", function () { closeOverlay(true); });
  el.dialogCancel.addEventListener("click", function () { closeOverlay(false); });
  el.overlay.addEventListener("click", function (event) { if (event.target === el.overlay || (!confirmAction && event.target === el.dialogImg)) closeOverlay(false); });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape" && !el.overlay.hidden) closeOverlay(false); });
  el.input.addEventListener("paste", function (event) {
    var items = (event.clipboardData && event.clipboardData.items) || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file" && items[i].type.indexOf("image/") === 0) {
        event.preventDefault();
        var blob = items[i].getAsFile();
        var named = new File([blob], "截图.png", { type: blob.type || "image/png" });
        confirmImage(named, L.send_screenshot);
        return;
      }
    }
  });
  if (navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) {
    el.captureBtn.hidden = false;
    el.captureBtn.addEventListener("click", function () {
      navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }).then(function (stream) {
        var video = document.createElement("video");
        video.muted = true;
        video.srcObject = stream;
        return video.play().then(function () {
          return new Promise(function (resolve) { setTimeout(resolve, 300); });
        }).then(function () {
          var canvas = document.createElement("canvas");
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          canvas.getContext("2d").drawImage(video, 0, 0);
          stream.getTracks().forEach(function (track) { track.stop(); });
          canvas.toBlob(function (blob) {
            if (blob) confirmImage(new File([blob], "截图.png", { type: "image/png" }), L.send_screenshot);
          }, "image/png");
        });
      }).catch(function (error) { if (error && error.name !== "NotAllowedError") showError(L.capture_failed); });
    });
  }

  // Emoji.
  (window.CHAT_EMOJI || []).forEach(function (emoji) {
    var button = h("button", "emoji", emoji);
    button.type = "button";
    el.emoji.appendChild(button);
  });
  el.emojiBtn.addEventListener("click", function () {
    el.emoji.hidden = !el.emoji.hidden;
    el.emojiBtn.setAttribute("aria-expanded", String(!el.emoji.hidden));
  });
  el.emoji.addEventListener("click", function (event) {
    var button = event.target.closest(".emoji");
    if (!button) return;
    var start = el.input.selectionStart, end = el.input.selectionEnd, value = el.input.value;
    el.input.value = value.slice(0, start) + button.textContent + value.slice(end);
    el.input.selectionStart = el.input.selectionEnd = start + button.textContent.length;
    el.emoji.hidden = true;
    el.emojiBtn.setAttribute("aria-expanded", "false");
    el.input.focus();
  });
  document.addEventListener("click", function (event) {
    if (!el.emoji.hidden && !el.emoji.contains(event.target) && !el.emojiBtn.contains(event.target)) el.emoji.hidden = true;
    if (!el.menu.hidden && !el.menu.contains(event.target) && !event.target.closest(".msg-more")) el.menu.hidden = true;
    if (el.more.open && !el.more.contains(event.target)) el.more.open = false;
  });

  // A message's menu: copy, recall (own, 2 minutes), delete for me.
  function openMenu(node, anchor) {
    var seq = parseInt(node.dataset.seq, 10);
    var message = S.msgs.get(seq);
    if (!message) return;
    el.menu.textContent = "";
    function item(label, action) {
      var button = h("button", "chat-menu-row", label);
      button.type = "button";
      button.setAttribute("role", "menuitem");
      button.addEventListener("click", function () { el.menu.hidden = true; action(); });
      el.menu.appendChild(button);
    }
    if (message.kind === "text" && navigator.clipboard) item(L.copy, function () { navigator.clipboard.writeText(message.text).catch(function () {}); });
    if (message.sender.id === ME && Date.now() - new Date(message.created_at) < RECALL_MS) {
      item(L.recall, function () {
        api("POST", "conversations/" + S.current + "/messages/" + message.id + "/recall/").then(function (recalled) {
          applyRecalled(recalled);
        }).catch(function (error) { showError(error.message); });
      });
    }
    item(L.delete, function () {
      api("DELETE", "conversations/" + S.current + "/messages/" + message.id + "/").then(function () {
        S.msgs.delete(message.seq);
        renderMessages();
      }).catch(function (error) { showError(error.message); });
    });
    var box = anchor.getBoundingClientRect();
    var host = app.getBoundingClientRect();
    el.menu.hidden = false;
    var left = Math.min(box.left - host.left, host.width - el.menu.offsetWidth - 8);
    el.menu.style.left = Math.max(8, left) + "px";
    el.menu.style.top = (box.bottom - host.top + 4) + "px";
  }
  el.msgList.addEventListener("contextmenu", function (event) {
    var node = event.target.closest(".msg[data-seq]");
    if (!node) return;
    event.preventDefault();
    openMenu(node, node.querySelector(".bubble"));
  });
  function applyRecalled(message) {
    var conv = S.convs.get(message.conversation);
    if (conv && conv.last_message && conv.last_message.id === message.id) conv.last_message = message;
    if (message.conversation === S.current && S.msgs.has(message.seq)) { S.msgs.set(message.seq, message); renderMessages(); }
    renderList();
  }

  // Search in the history.
  el.searchBtn.addEventListener("click", function () {
    el.search.hidden = !el.search.hidden;
    if (!el.search.hidden) el.searchQ.focus();
  });
  el.searchClose.addEventListener("click", function () { el.search.hidden = true; el.searchResults.textContent = ""; el.searchQ.value = ""; });
  el.searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var q = el.searchQ.value.trim();
    if (!q || !S.current) return;
    api("GET", "conversations/" + S.current + "/messages/?limit=50&q=" + encodeURIComponent(q)).then(function (page) {
      el.searchResults.textContent = "";
      if (!page.results.length) { el.searchResults.appendChild(h("li", "muted small", L.no_results)); return; }
      page.results.forEach(function (message) {
        var li = h("li", "search-hit");
        li.tabIndex = 0;
        li.appendChild(h("span", "search-hit-meta muted small", message.sender.name + " · " + stamp(new Date(message.created_at))));
        li.appendChild(highlighted(preview(message), q));
        li.addEventListener("click", function () { jumpTo(message.seq); });
        el.searchResults.appendChild(li);
      });
    }).catch(function (error) { el.searchResults.textContent = ""; el.searchResults.appendChild(h("li", "chat-error", error.data && error.data.fields ? Object.values(error.data.fields).flat().join(" ") : error.message)); });
  });
  // 跳到日期: the first message of that day (or after it), then the same path as a search hit.
  el.date.addEventListener("change", function () {
    if (!el.date.value || !S.current) return;
    api("GET", "conversations/" + S.current + "/messages/?limit=1&date=" + el.date.value).then(function (page) {
      el.searchResults.textContent = "";
      if (page.results.length) jumpTo(page.results[0].seq);
      else el.searchResults.appendChild(h("li", "muted small", L.no_results));
    }).catch(function (error) { showError(error.message); });
  });
  // The hit's text with the searched words marked (text nodes only: no markup from messages).
  function highlighted(text, q) {
    var span = h("span", "search-hit-text");
    var words = q.split(/\s+/).filter(Boolean).map(function (w) { return w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
    if (!words.length) { span.textContent = text; return span; }
    var parts = text.split(new RegExp("(" + words.join("|") + ")", "gi"));
    parts.forEach(function (part, index) {
      if (!part) return;
      span.appendChild(index % 2 ? h("mark", null, part) : document.createTextNode(part));
    });
    return span;
  }
  function jumpTo(seq) {
    var tries = 0;
    (function step() {
      if (!S.msgs.has(seq) && S.hasMore && tries++ < 50) { loadOlder(200).then(step); return; }
      var node = el.msgList.querySelector('.msg[data-seq="' + seq + '"]');
      if (!node) return;
      node.scrollIntoView({ block: "center" });
      node.classList.add("is-found");
      setTimeout(function () { node.classList.remove("is-found"); }, 2500);
    })();
  }

  // Font size (字体大小), kept in the user's chat preferences.
  function applyFont(px) { app.style.setProperty("--chat-font", px + "px"); }
  applyFont(parseInt(app.dataset.fontSize, 10) || 14);
  el.fontSize.addEventListener("change", function () {
    var px = parseInt(el.fontSize.value, 10);
    applyFont(px);
    api("PATCH", "preferences/", { font_size: px }).catch(function (error) { showError(error.message); });
  });

  // 拒收 (block) and its undoing.
  el.blockBtn.addEventListener("click", function () {
    var conv = currentConv();
    if (!conv || !conv.peer) return;
    el.more.open = false;
    var peer = conv.peer;
    if (S.blocked.has(peer.id)) {
      api("DELETE", "blocks/" + peer.id + "/").then(function () { S.blocked.delete(peer.id); renderHead(); });
      return;
    }
    if (!window.confirm(fmt(L.block_confirm, { name: convName(conv) }))) return;
    api("POST", "blocks/", { user: peer.id }).then(function () { S.blocked.add(peer.id); renderHead(); })
      .catch(function (error) { showError(error.message); });
  });

  // --- Live events -----------------------------------------------------------------------------
  var fetchingConv = {};
  function ensureConv(id) {
    if (S.convs.has(id) || fetchingConv[id]) return;
    fetchingConv[id] = true;
    api("GET", "conversations/" + id + "/").then(function (conv) {
      delete fetchingConv[id];
      S.convs.set(conv.id, conv);
      renderList();
    }, function () { delete fetchingConv[id]; });
  }
  function onMessage(payload) {
    var message = payload.message;
    var conv = S.convs.get(payload.conversation);
    if (!conv) { ensureConv(payload.conversation); return; }
    if (message.seq >= (conv.last_seq || 0)) {
      conv.last_message = message;
      conv.last_message_at = message.created_at;
      conv.last_seq = message.seq;
    }
    conv.unread = payload.unread;
    if (payload.conversation === S.current) {
      var gap = S.msgs.size && message.seq > lastSeq() + 1;
      var below = !atBottom();
      addMessage(message);
      if (message.sender.id !== ME) el.typing.textContent = "";
      renderMessages();
      if (below && message.sender.id !== ME) el.newPill.hidden = false;
      if (gap) loadNewer();
      markRead();
    }
    renderList();
  }
  document.addEventListener("platform:event", function (event) {
    var frame = event.detail || {};
    var payload = frame.payload || {};
    var conv;
    switch (frame.type) {
      case "chat.message":
        onMessage(payload);
        break;
      case "chat.ack":
        var item = S.pending.get(payload.client_id);
        if (!item) break;
        acknowledged({
          id: payload.id, conversation: payload.conversation, seq: payload.seq, sender: { id: ME, name: ME_NAME },
          kind: "text", text: item.text, file: null, client_id: payload.client_id, created_at: payload.created_at,
          recalled: false, recalled_at: null
        });
        break;
      case "error":
        if (payload.client_id && S.pending.has(payload.client_id)) failed(payload.client_id, payload.detail, payload.code);
        break;
      case "chat.read":
        conv = S.convs.get(payload.conversation);
        if (!conv) break;
        if (payload.user === ME) { conv.unread = payload.unread; conv.read_seq = payload.read_seq; renderList(); }
        else {
          conv.peer_read_seq = Math.max(conv.peer_read_seq || 0, payload.read_seq);
          if (payload.conversation === S.current) renderMessages();
        }
        break;
      case "chat.recalled":
        applyRecalled(payload.message);
        break;
      case "chat.hidden":
        if (payload.conversation === S.current) {
          S.msgs.forEach(function (message, seq) { if (message.id === payload.message_id) S.msgs.delete(seq); });
          renderMessages();
        }
        break;
      case "chat.typing":
        if (payload.conversation !== S.current || payload.user === ME) break;
        conv = currentConv();
        el.typing.textContent = fmt(L.typing, { name: convName(conv) });
        clearTimeout(S.typingTimer);
        S.typingTimer = setTimeout(function () { el.typing.textContent = ""; }, 4000);
        break;
      case "chat.presence":
        S.convs.forEach(function (row) { if (row.peer && row.peer.id === payload.user) row.peer_online = payload.online; });
        renderList();
        renderHead();
        break;
    }
  });
  document.addEventListener("platform:resync", function () {
    loadConversations().then(function () { if (S.current) loadNewer(); });
  });
  // The socket is back: send again what was never acknowledged, and read what the open
  // conversation got meanwhile (the replay brings the events; this covers a conversation
  // the replay could not, e.g. after a resync).
  document.addEventListener("platform:socket", function (event) {
    if (event.detail.state !== "open") return;
    S.pending.forEach(function (item, clientId) { if (item.kind === "text" && item.status === "sending") sendFrame(clientId); });
    if (S.socketWasOpen) { loadConversations(); if (S.current) loadNewer(); }
    S.socketWasOpen = true;
  });
  // An acknowledgement that never came (a socket that died without closing): send again.
  setInterval(function () {
    var now = Date.now();
    S.pending.forEach(function (item, clientId) {
      if (item.kind === "text" && item.status === "sending" && now - (item.sentAt || 0) > 10000) sendFrame(clientId);
    });
  }, 5000);

  // What chat_contacts.js and chat_groups.js use of this page (they draw 好友, 群组 and the group panel).
  window.chatHooks = {
    L: L, api: api, h: h, avatar: avatar, fmt: fmt, size: size, stamp: stamp, ME: ME, MY_UNIT: MY_UNIT,
    convs: S.convs, currentConv: currentConv, showTab: showTab, startWith: startWith, renderList: renderList,
    open: function (id) {
      if (S.convs.has(id)) { showTab("conversations"); openConversation(id); return Promise.resolve(); }
      return api("GET", "conversations/" + id + "/").then(function (conv) {
        S.convs.set(conv.id, conv);
        showTab("conversations");
        openConversation(conv.id);
      });
    },
    refreshContacts: function (pane) { if (contactPane === pane && !el.contactQ.value.trim()) showContacts(pane); },
    drop: function (id) {
      S.convs.delete(id);
      if (S.current === id) closeConversation();
      renderList();
    }
  };

  // --- Start ----------------------------------------------------------------------------------
  if (window.matchMedia("(max-width: 720px)").matches) el.input.placeholder = el.input.dataset.placeholderShort;
  if (window.chatBadge) window.chatBadge.managed = true;
  restorePending();
  window.chatHooks.ready = Promise.all([loadConversations(), api("GET", "blocks/")]).then(function (answers) {
    (answers[1] || []).forEach(function (row) { S.blocked.add(row.user.id); });
    // /chat/?c=<conversation> opens one; /chat/?user=<id> starts (or opens) the one with a person.
    var params = new URLSearchParams(location.search);
    var wanted = parseInt(params.get("c") || "", 10);
    var person = parseInt(params.get("user") || "", 10);
    if (wanted && S.convs.has(wanted)) openConversation(wanted);
    else if (person) startWith(person);
    if (window.platformSocket && window.platformSocket.isOpen()) {
      S.pending.forEach(function (item, clientId) { if (item.status === "sending") sendFrame(clientId); });
    }
  });
})();
