/* 好友 in the chat page's contact panel: friends in the user's friend groups (分组), new friend
   requests (新的朋友, with the badge on 联系人), 查找联系人 with the profile card (用户资料) and
   添加好友 with a verification message. Also the small pieces chat_groups.js and
   chat_group_panel.js share: sheets (dialogs; full screen on a phone), prompts, menus, toasts.
   Runs after chat.js and uses what it exposes as window.chatHooks; it draws the "friends" pane of
   the contact panel (window.chatSocial.panes) and follows chat.friend_* events live. */
(function () {
  "use strict";
  var hooks = window.chatHooks;
  if (!hooks) return;
  var L = hooks.L, h = hooks.h, avatar = hooks.avatar, fmt = hooks.fmt, ME = hooks.ME;
  var api = hooks.api;

  // --- Shared pieces ------------------------------------------------------------------------------
  function errorText(error) {
    var fields = error && error.data && error.data.fields;
    if (fields) return Object.keys(fields).map(function (key) { return [].concat(fields[key]).join(" "); }).join(" ");
    return (error && error.message) || L.failed_generic;
  }
  function button(label, cls, onClick) {
    var node = h("button", cls || "btn btn-sm", label);
    node.type = "button";
    if (onClick) node.addEventListener("click", onClick);
    return node;
  }
  var sheets = [];
  // A dialog over the page: header with a title and ×, a body, an optional footer. `drawer` docks it
  // on the right (the group panel); on a phone every sheet takes the whole screen.
  function sheet(title, options) {
    options = options || {};
    var overlay = h("div", "soc-overlay" + (options.drawer ? " is-drawer" : ""));
    var box = h("div", "soc-sheet" + (options.wide ? " is-wide" : ""));
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    if (options.id) box.id = options.id;
    var head = h("header", "soc-sheet-head");
    var heading = h("h2", "soc-sheet-title", title);
    heading.id = "soc-title-" + (sheets.length + 1) + "-" + Date.now();
    box.setAttribute("aria-labelledby", heading.id);
    var close = button("×", "soc-close");
    close.setAttribute("aria-label", L.close);
    head.appendChild(heading);
    head.appendChild(close);
    var body = h("div", "soc-sheet-body");
    var foot = h("footer", "soc-sheet-foot");
    foot.hidden = true;
    box.appendChild(head);
    box.appendChild(body);
    box.appendChild(foot);
    overlay.appendChild(box);
    document.body.appendChild(overlay);
    var handle = {
      overlay: overlay, box: box, body: body, foot: foot, head: head, title: heading, closed: false,
      close: function () {
        if (handle.closed) return;
        handle.closed = true;
        overlay.remove();
        sheets.splice(sheets.indexOf(handle), 1);
        if (options.onClose) options.onClose();
      }
    };
    close.addEventListener("click", handle.close);
    overlay.addEventListener("mousedown", function (event) { if (event.target === overlay) handle.close(); });
    sheets.push(handle);
    return handle;
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && sheets.length) { closeMenu(); sheets[sheets.length - 1].close(); }
  });
  function field(labelText, input) {
    var wrap = h("label", "soc-field");
    wrap.appendChild(h("span", "soc-field-label small muted", labelText));
    wrap.appendChild(input);
    return wrap;
  }
  function input(type, options) {
    var node = h(type === "textarea" ? "textarea" : "input", "soc-input");
    if (type !== "textarea") node.type = type;
    options = options || {};
    if (options.max) node.maxLength = options.max;
    if (options.value) node.value = options.value;
    if (options.placeholder) node.placeholder = options.placeholder;
    if (options.rows) node.rows = options.rows;
    return node;
  }
  // A file field in the page's words (the browser's own would speak its own language).
  function filePicker(labelText, accept) {
    var wrap = h("div", "soc-filepick");
    var box = h("input", "soc-file");
    box.type = "file";
    box.accept = accept;
    box.hidden = true;
    var name = h("span", "muted small soc-filename", L.no_file);
    wrap.appendChild(button(labelText, "btn btn-secondary btn-sm", function () { box.click(); }));
    wrap.appendChild(name);
    wrap.appendChild(box);
    box.addEventListener("change", function () { name.textContent = box.files.length ? box.files[0].name : L.no_file; });
    return { node: wrap, input: box };
  }
  // A form's last lines: its error line, then 取消 (closes ``dialog``) and the submit button ``okLabel``.
  function formEnd(form, dialog, okLabel, small) {
    var size = small ? " btn-sm" : "";
    var error = h("p", "soc-error small");
    form.appendChild(error);
    var actions = h("div", "soc-actions");
    actions.appendChild(button(L.cancel, "btn btn-secondary" + size, dialog.close));
    var ok = button(okLabel, "btn soc-ok" + size);
    ok.type = "submit";
    actions.appendChild(ok);
    form.appendChild(actions);
    return { error: error, ok: ok };
  }
  // A one-question dialog (rename, remark …): resolves with the text, or null when cancelled.
  function ask(title, options) {
    options = options || {};
    return new Promise(function (resolve) {
      var answered = false;
      var dialog = sheet(title, { onClose: function () { if (!answered) resolve(null); } });
      dialog.box.classList.add("is-small");
      var form = h("form", "soc-form");
      var box = input(options.multiline ? "textarea" : options.type || "text", options);
      box.required = !options.optional;
      form.appendChild(field(options.label || title, box));
      var end = formEnd(form, dialog, options.ok || L.ok, true), error = end.error, ok = end.ok;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var value = box.value.trim();
        if (!value && !options.optional) return;
        if (!options.submit) { answered = true; resolve(value); dialog.close(); return; }
        ok.disabled = true;
        options.submit(value).then(function (result) { answered = true; resolve(result === undefined ? value : result); dialog.close(); })
          .catch(function (err) { ok.disabled = false; error.textContent = errorText(err); });
      });
      dialog.body.appendChild(form);
      box.focus();
      if (box.select) box.select();
    });
  }
  function confirmSheet(text, okLabel) {
    return new Promise(function (resolve) {
      var answered = false;
      var dialog = sheet(L.confirm_title, { onClose: function () { if (!answered) resolve(false); } });
      dialog.box.classList.add("is-small");
      dialog.body.appendChild(h("p", "soc-confirm-text", text));
      var actions = h("div", "soc-actions");
      actions.appendChild(button(L.cancel, "btn btn-secondary btn-sm", dialog.close));
      actions.appendChild(button(okLabel || L.ok, "btn btn-danger btn-sm soc-ok", function () { answered = true; resolve(true); dialog.close(); }));
      dialog.body.appendChild(actions);
    });
  }
  // A small menu under a button (a friend group's or a member's actions).
  var openMenuNode = null;
  function closeMenu() { if (openMenuNode) { openMenuNode.remove(); openMenuNode = null; } }
  function menu(anchor, items) {
    closeMenu();
    var node = h("div", "soc-menu");
    node.setAttribute("role", "menu");
    items.forEach(function (item) {
      if (!item) return;
      var row = button(item[0], "soc-menu-row" + (item[2] ? " is-danger" : ""), function () { closeMenu(); item[1](); });
      row.setAttribute("role", "menuitem");
      node.appendChild(row);
    });
    document.body.appendChild(node);
    var box = anchor.getBoundingClientRect();
    var top = box.bottom + 4;
    if (top + node.offsetHeight > window.innerHeight - 8) top = Math.max(8, box.top - node.offsetHeight - 4);
    node.style.top = top + "px";
    node.style.left = Math.max(8, Math.min(box.right - node.offsetWidth, window.innerWidth - node.offsetWidth - 8)) + "px";
    openMenuNode = node;
    var first = node.querySelector("button");
    if (first) first.focus();
  }
  document.addEventListener("mousedown", function (event) {
    if (openMenuNode && !openMenuNode.contains(event.target)) closeMenu();
  });
  var toastBox = null;
  function toast(text) {
    if (!toastBox) { toastBox = h("div", "soc-toasts"); toastBox.setAttribute("aria-live", "polite"); document.body.appendChild(toastBox); }
    var node = h("div", "soc-toast", text);
    toastBox.appendChild(node);
    setTimeout(function () { node.remove(); }, 5000);
  }
  function personName(person) { return person.name || person.nickname || person.account; }
  function unitOf(person) { return person.unit_name || (person.unit && person.unit.name) || ""; }
  // A row of a person: avatar, name, a line below; `right` (a node) on the right.
  function personLine(person, sub, right, avatarName) {
    var li = h("li", "soc-row");
    li.dataset.user = person.id;
    li.appendChild(avatar(avatarName || personName(person)));
    var text = h("div", "soc-row-text");
    text.appendChild(h("div", "soc-row-name", personName(person)));
    if (sub) text.appendChild(h("div", "soc-row-sub muted small", sub));
    li.appendChild(text);
    if (right) li.appendChild(right);
    return li;
  }
  function empty(text) { return h("p", "soc-empty muted", text); }

  var social = window.chatSocial = {
    panes: {}, hooks: hooks, api: api, errorText: errorText, button: button, sheet: sheet, ask: ask, confirm: confirmSheet,
    menu: menu, toast: toast, field: field, formEnd: formEnd, input: input, filePicker: filePicker, personName: personName, unitOf: unitOf,
    personLine: personLine, empty: empty
  };

  // --- 新的朋友: the badge -------------------------------------------------------------------------
  var newRequests = 0;
  function setBadge(count) {
    newRequests = count;
    ["contacts-badge", "friends-badge", "requests-badge"].forEach(function (id) {
      var node = document.getElementById(id);
      if (!node) return;
      node.textContent = count > 99 ? "99+" : String(count);
      node.hidden = !count;
    });
  }

  // --- 好友: the pane ------------------------------------------------------------------------------
  var collapsed = {};
  var friendData = { groups: [], friends: [] };
  function entryRow(icon, label, cls, onClick, badgeId) {
    var li = h("li", "soc-entry " + cls);
    li.tabIndex = 0;
    li.setAttribute("role", "button");
    li.appendChild(h("span", "soc-entry-icon", icon));
    li.appendChild(h("span", "soc-entry-label", label));
    if (badgeId) {
      var badge = h("span", "conv-badge", "");
      badge.id = badgeId;
      li.appendChild(badge);
    }
    li.addEventListener("click", onClick);
    li.addEventListener("keydown", function (event) { if (event.key === "Enter") onClick(); });
    return li;
  }
  social.entryRow = entryRow;
  function showFriends(body) {
    body.textContent = "";
    var entries = h("ul", "soc-entries");
    entries.appendChild(entryRow("✉", L.new_friends, "is-requests", openRequests, "requests-badge"));
    entries.appendChild(entryRow("+", L.find_people, "is-find", openFindPeople));
    body.appendChild(entries);
    setBadge(newRequests);
    var list = h("div", "soc-fgroups");
    list.appendChild(h("p", "muted small chat-pad", L.loading));
    body.appendChild(list);
    api("GET", "friends/").then(function (data) {
      friendData = data;
      list.textContent = "";
      var groups = [{ id: null, name: L.my_friends }].concat(data.groups);
      groups.forEach(function (group, index) { list.appendChild(groupSection(group, index - 1, data.groups.length)); });
      var add = button("+ " + L.new_group, "soc-link soc-new-fgroup", newFriendGroup);
      list.appendChild(add);
    }).catch(function (error) { list.textContent = errorText(error); });
  }
  social.panes.friends = showFriends;
  function refreshFriends() { hooks.refreshContacts("friends"); }
  function groupSection(group, position, count) {
    var key = group.id === null ? "default" : String(group.id);
    var friends = friendData.friends.filter(function (f) { return f.group === group.id; });
    var section = h("section", "soc-fgroup" + (collapsed[key] ? " is-collapsed" : ""));
    section.dataset.group = key;
    var head = h("div", "soc-fgroup-head");
    var toggle = button("", "soc-fgroup-toggle");
    toggle.setAttribute("aria-expanded", String(!collapsed[key]));
    toggle.appendChild(h("span", "soc-caret", "▸"));
    toggle.appendChild(h("span", "soc-fgroup-name", group.name));
    toggle.appendChild(h("span", "soc-fgroup-count muted small", String(friends.length)));
    toggle.addEventListener("click", function () {
      collapsed[key] = !collapsed[key];
      section.classList.toggle("is-collapsed", !!collapsed[key]);
      toggle.setAttribute("aria-expanded", String(!collapsed[key]));
    });
    head.appendChild(toggle);
    if (group.id !== null) {
      var more = button("⋯", "soc-more");
      more.setAttribute("aria-label", fmt(L.group_actions, { name: group.name }));
      more.addEventListener("click", function () {
        menu(more, [
          [L.rename, function () { renameFriendGroup(group); }],
          position > 0 ? [L.move_up, function () { moveFriendGroup(group, -1); }] : null,
          position < count - 1 ? [L.move_down, function () { moveFriendGroup(group, 1); }] : null,
          [L.delete_group, function () { deleteFriendGroup(group); }, true]
        ]);
      });
      head.appendChild(more);
    }
    section.appendChild(head);
    var ul = h("ul", "soc-list soc-friends");
    friends.forEach(function (friend) {
      var name = friend.remark || personName(friend.user);
      var sub = (friend.remark ? personName(friend.user) + " · " : "") + (unitOf(friend.user) || friend.user.account);
      var li = personLine({ id: friend.user.id, name: name }, sub, null, personName(friend.user));
      li.classList.add("soc-friend");
      li.tabIndex = 0;
      li.setAttribute("role", "button");
      li.addEventListener("click", function () { openCard(friend.user.id); });
      li.addEventListener("keydown", function (event) { if (event.key === "Enter") openCard(friend.user.id); });
      ul.appendChild(li);
    });
    if (!friends.length) ul.appendChild(h("li", "soc-none muted small", L.no_friends_here));
    section.appendChild(ul);
    return section;
  }
  function newFriendGroup() {
    ask(L.new_group, { label: L.group_name, max: 30, ok: L.create, submit: function (name) { return api("POST", "friend-groups/", { name: name }); } })
      .then(function (made) { if (made) refreshFriends(); });
  }
  function renameFriendGroup(group) {
    ask(L.rename, { label: L.group_name, max: 30, value: group.name, submit: function (name) { return api("PATCH", "friend-groups/" + group.id + "/", { name: name }); } })
      .then(function (made) { if (made) refreshFriends(); });
  }
  function moveFriendGroup(group, step) {
    var ids = friendData.groups.map(function (g) { return g.id; });
    var at = ids.indexOf(group.id);
    ids.splice(at, 1);
    ids.splice(at + step, 0, group.id);
    api("PUT", "friend-groups/", { groups: ids }).then(refreshFriends).catch(function (error) { toast(errorText(error)); });
  }
  function deleteFriendGroup(group) {
    confirmSheet(fmt(L.delete_group_confirm, { name: group.name }), L.delete).then(function (yes) {
      if (yes) api("DELETE", "friend-groups/" + group.id + "/").then(refreshFriends).catch(function (error) { toast(errorText(error)); });
    });
  }

  // --- 用户资料: a person's card, with 发消息 / 添加好友 / remark, group, remove --------------------
  function openCard(userId) {
    var dialog = sheet(L.profile, {});
    dialog.box.classList.add("is-card");
    dialog.body.appendChild(h("p", "muted small", L.loading));
    api("GET", "people/" + userId + "/").then(function (card) { drawCard(dialog, card); })
      .catch(function (error) { dialog.body.textContent = errorText(error); });
  }
  social.openCard = openCard;
  function cardLine(list, label, value) {
    if (!value) return;
    list.appendChild(h("dt", "muted", label));
    list.appendChild(h("dd", null, value));
  }
  function drawCard(dialog, card) {
    var body = dialog.body;
    body.textContent = "";
    var top = h("div", "soc-card-top");
    top.appendChild(avatar(personName(card)));
    var names = h("div", "soc-card-names");
    names.appendChild(h("div", "soc-card-name", card.remark || personName(card)));
    if (card.remark) names.appendChild(h("div", "muted small", fmt(L.name_is, { name: personName(card) })));
    if (card.nickname && card.nickname !== card.name) names.appendChild(h("div", "muted small", fmt(L.nickname_is, { name: card.nickname })));
    top.appendChild(names);
    body.appendChild(top);
    var list = h("dl", "soc-card-list");
    cardLine(list, L.account, card.account);
    cardLine(list, L.unit, unitOf(card));
    cardLine(list, L.phone, card.phone);
    cardLine(list, L.email, card.email);
    if (card.roles && card.roles.length) cardLine(list, L.roles, card.roles.map(function (r) { return r.role_display + (r.unit ? "（" + r.unit.name + "）" : ""); }).join("、"));
    if (card.is_friend) {
      var friend = friendData.friends.filter(function (f) { return f.user.id === card.id; })[0];
      var group = friend && friend.group ? friendData.groups.filter(function (g) { return g.id === friend.group; })[0] : null;
      cardLine(list, L.friend_group, group ? group.name : L.my_friends);
    }
    body.appendChild(list);
    var actions = h("div", "soc-card-actions");
    if (card.id !== ME) {
      actions.appendChild(button(L.send_message, "btn soc-send-message", function () { dialog.close(); sheets.slice().forEach(function (s) { s.close(); }); hooks.startWith(card.id); }));
    }
    if (card.is_friend) {
      actions.appendChild(button(L.set_remark, "btn btn-secondary soc-remark", function () {
        ask(L.set_remark, { label: L.remark, value: card.remark, max: 30, optional: true, submit: function (remark) { return api("PATCH", "friends/" + card.id + "/", { remark: remark }); } })
          .then(function (done) { if (done !== null) { refreshFriends(); dialog.close(); openCard(card.id); } });
      }));
      actions.appendChild(button(L.move_to_group, "btn btn-secondary soc-move", function () { chooseGroup(card, dialog); }));
      actions.appendChild(button(L.remove_friend, "btn btn-secondary soc-remove is-danger", function () {
        confirmSheet(fmt(L.remove_friend_confirm, { name: personName(card) }), L.remove_friend).then(function (yes) {
          if (!yes) return;
          api("DELETE", "friends/" + card.id + "/").then(function () { dialog.close(); refreshFriends(); })
            .catch(function (error) { toast(errorText(error)); });
        });
      }));
    } else if (card.id !== ME) {
      if (card.request_pending) actions.appendChild(h("span", "soc-tag", L.request_pending));
      else actions.appendChild(button(L.add_friend, "btn btn-secondary soc-add-friend", function () { addFriend(card, dialog); }));
    }
    body.appendChild(actions);
  }
  function chooseGroup(card, cardDialog) {
    var dialog = sheet(L.move_to_group, {});
    dialog.box.classList.add("is-small");
    var ul = h("ul", "soc-list soc-choose");
    [{ id: null, name: L.my_friends }].concat(friendData.groups).forEach(function (group) {
      var li = h("li", "soc-choice", group.name);
      li.tabIndex = 0;
      li.setAttribute("role", "button");
      li.addEventListener("click", function () {
        api("PATCH", "friends/" + card.id + "/", { group: group.id }).then(function () {
          dialog.close();
          cardDialog.close();
          refreshFriends();
          toast(fmt(L.moved_to, { name: personName(card), group: group.name }));
        }).catch(function (error) { toast(errorText(error)); });
      });
      ul.appendChild(li);
    });
    dialog.body.appendChild(ul);
  }
  // 添加好友: the verification message (验证信息), prefilled with who is asking.
  function addFriend(card, cardDialog) {
    var unit = document.getElementById("chat-app").dataset.unitName;
    var me = document.getElementById("chat-app").dataset.meName;
    ask(L.add_friend, {
      label: L.verification, multiline: true, rows: 3, max: 100, optional: true, ok: L.send,
      value: unit ? fmt(L.i_am_of, { unit: unit, name: me }) : fmt(L.i_am, { name: me }),
      submit: function (message) { return api("POST", "friend-requests/", { user: card.id, message: message }); }
    }).then(function (made) {
      if (!made) return;
      toast(made.status === "accepted" ? fmt(L.now_friends, { name: personName(card) }) : L.request_sent);
      if (cardDialog) { cardDialog.close(); openCard(card.id); }
      if (made.status === "accepted") refreshFriends();
      if (findRefresh) findRefresh();
    });
  }

  // --- 新的朋友: requests received and sent --------------------------------------------------------
  var requestsDialog = null;
  function openRequests() {
    var dialog = requestsDialog = sheet(L.new_friends, { id: "soc-requests", onClose: function () { requestsDialog = null; } });
    var tabs = h("div", "soc-tabs");
    var list = h("ul", "soc-list soc-requests");
    ["received", "sent"].forEach(function (direction) {
      var tab = button(direction === "received" ? L.received : L.sent, "soc-tab" + (direction === "received" ? " is-active" : ""), function () {
        tabs.querySelectorAll(".soc-tab").forEach(function (t) { t.classList.toggle("is-active", t === tab); });
        dialog.direction = direction;
        loadRequests(dialog, list);
      });
      tab.dataset.direction = direction;
      tabs.appendChild(tab);
    });
    dialog.direction = "received";
    dialog.list = list;
    dialog.body.appendChild(tabs);
    dialog.body.appendChild(list);
    loadRequests(dialog, list);
  }
  function loadRequests(dialog, list) {
    var direction = dialog.direction;
    api("GET", "friend-requests/?direction=" + direction).then(function (data) {
      if (dialog.closed || dialog.direction !== direction) return;
      list.textContent = "";
      if (!data.results.length) list.appendChild(h("li", "soc-empty muted", L.no_requests));
      data.results.forEach(function (request) { list.appendChild(requestRow(request, direction, dialog)); });
      if (direction === "received" && data.new_requests) api("POST", "friend-requests/seen/").then(function () { setBadge(0); });
      else if (direction === "received") setBadge(0);
    }).catch(function (error) { list.textContent = errorText(error); });
  }
  function requestRow(request, direction, dialog) {
    var person = direction === "received" ? request.from_user : request.to_user;
    var right = h("div", "soc-request-actions");
    if (request.status === "pending" && direction === "received") {
      right.appendChild(button(L.decline, "btn btn-secondary btn-sm soc-decline", function () { decide(request, false, dialog); }));
      right.appendChild(button(L.accept, "btn btn-sm soc-accept", function () { decide(request, true, dialog); }));
    } else {
      right.appendChild(h("span", "soc-tag is-" + request.status, request.status === "pending" ? L.request_pending : request.status === "accepted" ? L.added : L.declined));
    }
    var li = personLine(person, unitOf(person) || person.account, right);
    li.classList.add("soc-request");
    li.dataset.request = request.id;
    var text = li.querySelector(".soc-row-text");
    if (request.message) text.appendChild(h("div", "soc-verify small", fmt(L.verification_is, { message: request.message })));
    text.appendChild(h("div", "soc-time muted small", hooks.stamp(new Date(request.created_at))));
    text.querySelector(".soc-row-name").classList.add("is-link");
    text.querySelector(".soc-row-name").addEventListener("click", function () { openCard(person.id); });
    return li;
  }
  function decide(request, accept, dialog) {
    api("POST", "friend-requests/" + request.id + "/decide/", { accept: accept }).then(function () {
      loadRequests(dialog, dialog.list);
      refreshFriends();
      if (accept) toast(fmt(L.now_friends, { name: personName(request.from_user) }));
    }).catch(function (error) { toast(errorText(error)); });
  }

  // --- 查找联系人 -----------------------------------------------------------------------------------
  var findRefresh = null;
  function openFindPeople() {
    var dialog = sheet(L.find_people, { id: "soc-find-people", onClose: function () { findRefresh = null; } });
    var box = input("search", { max: 100, placeholder: L.find_people_hint });
    box.classList.add("soc-search");
    var list = h("ul", "soc-list soc-people");
    dialog.body.appendChild(box);
    dialog.body.appendChild(list);
    var timer = null;
    function search() {
      var q = box.value.trim();
      clearTimeout(timer);
      if (!q) { list.textContent = ""; return; }
      timer = setTimeout(function () {
        api("GET", "people/?q=" + encodeURIComponent(q)).then(function (people) {
          if (box.value.trim() !== q) return;
          list.textContent = "";
          if (!people.length) list.appendChild(h("li", "soc-empty muted", L.no_people));
          people.forEach(function (person) {
            var right;
            if (person.id === ME) right = h("span", "soc-tag", L.you_tag);
            else if (person.is_friend) right = h("span", "soc-tag is-accepted", L.already_friends);
            else if (person.request_pending) right = h("span", "soc-tag", L.request_pending);
            else right = button(L.add, "btn btn-sm soc-add", function (event) { event.stopPropagation(); addFriend(person, null); });
            var li = personLine(person, person.account + (unitOf(person) ? " · " + unitOf(person) : ""), right);
            li.tabIndex = 0;
            li.classList.add("is-clickable");
            li.addEventListener("click", function () { openCard(person.id); });
            list.appendChild(li);
          });
        }).catch(function (error) { list.textContent = errorText(error); });
      }, 250);
    }
    findRefresh = search;
    box.addEventListener("input", search);
    box.focus();
  }
  social.openFindPeople = openFindPeople;

  // --- Live ----------------------------------------------------------------------------------------
  function ensureConv(id) {
    if (!id || hooks.convs.has(id)) return;
    api("GET", "conversations/" + id + "/").then(function (conv) { hooks.convs.set(conv.id, conv); hooks.renderList(); }).catch(function () {});
  }
  document.addEventListener("platform:event", function (event) {
    var frame = event.detail || {};
    var payload = frame.payload || {};
    switch (frame.type) {
      case "chat.friend_request":
        if (payload.to_user.id !== ME) break;
        setBadge(payload.new_requests);
        toast(fmt(L.request_toast, { name: payload.from_user.name }));
        if (requestsDialog && requestsDialog.direction === "received") loadRequests(requestsDialog, requestsDialog.list);
        break;
      case "chat.friend_request_decided":
        if (requestsDialog) loadRequests(requestsDialog, requestsDialog.list);
        if (payload.status === "accepted") {
          refreshFriends();
          ensureConv(payload.conversation);
          if (payload.from_user.id === ME) toast(fmt(L.accepted_toast, { name: payload.to_user.name }));
        }
        break;
      case "chat.friend_removed":
        refreshFriends();
        break;
    }
  });
  document.addEventListener("platform:resync", function () {
    refreshFriends();
    api("GET", "friend-requests/").then(function (data) { setBadge(data.new_requests); }).catch(function () {});
  });
  // The badge after the page's own start (its list and pending sends go first).
  (hooks.ready || Promise.resolve()).catch(function () {}).then(function () {
    return api("GET", "friend-requests/").then(function (data) { setBadge(data.new_requests); });
  }).catch(function () {});
})();
