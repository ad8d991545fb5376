/* The group panel (群聊信息), opened from a group conversation's head: 成员 (roles; administrators
   remove, appoint or dismiss administrators, transfer the ownership, mute; join requests to
   approve), 群公告 (newest pinned; administrators publish and delete), 群共享 (upload, search,
   download; the uploader or an administrator deletes) and 设置 (profile, 全员禁言, member limit,
   退出 / 解散). Follows chat.group_* events live. Uses window.chatSocial (chat_contacts.js,
   chat_groups.js). */
(function () {
  "use strict";
  var social = window.chatSocial;
  if (!social || !social.picker) return;
  var hooks = social.hooks;
  var L = hooks.L, api = social.api, h = hooks.h, avatar = hooks.avatar, fmt = hooks.fmt, ME = hooks.ME;
  var button = social.button, errorText = social.errorText, toast = social.toast;
  var groupButton = document.getElementById("btn-group");
  var headSub = document.getElementById("chat-head-sub");
  var headAvatar = document.getElementById("chat-head-avatar");
  var cache = {};      // conversation id -> the group (GET groups/{id}/)
  var panel = null;    // the open panel: {id, dialog, tab, group}

  function loadGroup(id) {
    return api("GET", "groups/" + id + "/").then(function (group) { cache[id] = group; return group; });
  }
  function headLine(group) {
    var parts = [fmt(L.member_count, { count: group.member_count })];
    if (group.disbanded) parts.push(L.disbanded);
    else if (group.all_muted) parts.push(L.all_muted_on);
    return parts.join(" · ");
  }
  // A muted member (or everyone but the administrators under 全员禁言) and a disbanded group's
  // members cannot send: the compose box says so instead of refusing each message.
  var input = document.getElementById("chat-input");
  var sendButton = document.getElementById("btn-send");
  var placeholder = null;
  function applyLock(group) {
    if (placeholder === null) placeholder = input.placeholder;
    var muted = !!group && !group.disbanded && (group.my_muted || (group.all_muted && group.my_role === "member"));
    var closed = !!group && group.disbanded;
    input.disabled = sendButton.disabled = muted || closed;
    input.placeholder = muted ? L.you_are_muted : closed ? L.group_closed : placeholder;
  }
  function showGroupHead(conv, group) {
    var current = hooks.currentConv();
    if (!current || current.id !== conv.id) return;
    headSub.textContent = headLine(group);
    applyLock(group);
    var face = headAvatar.querySelector(".chat-avatar");
    if (face) {
      face.classList.add("is-group");
      if (group.avatar_url && !face.querySelector("img")) {
        var img = h("img");
        img.src = group.avatar_url;
        img.alt = "";
        face.textContent = "";
        face.appendChild(img);
      }
    }
  }
  // chat.js draws a conversation's head; for a group this adds the member count and the panel button.
  social.onHead = function (conv) {
    var isGroup = conv.kind === "group";
    groupButton.hidden = !isGroup;
    if (!isGroup) { applyLock(null); return; }
    if (cache[conv.id]) showGroupHead(conv, cache[conv.id]);
    else loadGroup(conv.id).then(function (group) { showGroupHead(conv, group); }).catch(function () {});
  };
  groupButton.addEventListener("click", function () {
    var conv = hooks.currentConv();
    if (conv && conv.kind === "group") openPanel(conv.id);
  });

  function isAdmin(group) { return group.my_role === "owner" || group.my_role === "admin"; }
  function openPanel(id, tab) {
    if (panel) panel.dialog.close();
    var dialog = social.sheet(L.group_info, { drawer: true, id: "group-panel", onClose: function () { panel = null; } });
    panel = { id: id, dialog: dialog, tab: tab || "members", group: null };
    var top = h("div", "gp-top");
    var tabs = h("div", "soc-tabs gp-tabs");
    var content = h("div", "gp-content");
    dialog.body.appendChild(top);
    dialog.body.appendChild(tabs);
    dialog.body.appendChild(content);
    panel.top = top;
    panel.content = content;
    [["members", L.members_tab], ["announcements", L.announcements_tab], ["files", L.files_tab], ["settings", L.settings_tab]].forEach(function (pair) {
      var node = button(pair[1], "soc-tab" + (pair[0] === panel.tab ? " is-active" : ""), function () { showTab(pair[0]); });
      node.dataset.tab = pair[0];
      tabs.appendChild(node);
    });
    panel.tabs = tabs;
    refresh();
  }
  social.openGroupPanel = openPanel;
  function showTab(tab) {
    panel.tab = tab;
    panel.tabs.querySelectorAll(".soc-tab").forEach(function (node) { node.classList.toggle("is-active", node.dataset.tab === tab); });
    draw();
  }
  // One refresh at a time: an action's own reload and the chat.group_updated it causes come
  // together; the second waits for the first and runs once after it.
  var refreshing = null, again = false;
  function refresh() {
    if (!panel) return Promise.resolve();
    if (refreshing) { again = true; return refreshing; }
    var id = panel.id;
    refreshing = loadGroup(id).then(function (group) {
      if (!panel || panel.id !== id) return;
      panel.group = group;
      drawTop(group);
      draw();
      social.onHead(hooks.convs.get(id) || { id: id, kind: "group" });
    }).catch(function (error) { if (panel) panel.content.textContent = errorText(error); }).then(function () {
      refreshing = null;
      if (again) { again = false; refresh(); }
    });
    return refreshing;
  }
  function drawTop(group) {
    var top = panel.top;
    top.textContent = "";
    var pic;
    if (group.avatar_url) { pic = h("img", "gp-avatar"); pic.src = group.avatar_url; pic.alt = ""; }
    else pic = social.groupAvatar(group.name);
    top.appendChild(pic);
    var text = h("div", "gp-top-text");
    text.appendChild(h("div", "gp-name", group.name));
    text.appendChild(h("div", "muted small", fmt(L.group_number, { number: group.number }) + " · " + headLine(group)));
    if (group.description) text.appendChild(h("div", "gp-desc small", group.description));
    top.appendChild(text);
  }
  function draw() {
    var content = panel.content;
    content.textContent = "";
    content.appendChild(h("p", "muted small", L.loading));
    ({ members: drawMembers, announcements: drawAnnouncements, files: drawFiles, settings: drawSettings })[panel.tab](content, panel.group);
  }
  function reloadAfter(promise) {
    return promise.then(refresh).catch(function (error) { toast(errorText(error)); });
  }

  // --- 成员 --------------------------------------------------------------------------------------
  function roleText(role) { return role === "owner" ? L.role_owner : role === "admin" ? L.role_admin : ""; }
  function drawMembers(content, group) {
    var asks = [api("GET", "groups/" + group.id + "/members/")];
    if (isAdmin(group)) asks.push(api("GET", "groups/" + group.id + "/join-requests/"));
    Promise.all(asks).then(function (answers) {
      if (!panel || panel.group !== group || panel.tab !== "members") return;
      var members = answers[0];
      content.textContent = "";
      var bar = h("div", "gp-bar");
      bar.appendChild(h("span", "gp-count", fmt(L.members_of_limit, { count: members.length, limit: group.member_limit })));
      if (!group.disbanded && (isAdmin(group) || group.members_can_invite)) {
        bar.appendChild(button("+ " + L.add_members, "btn btn-sm gp-add-members", function () { addMembers(group, members); }));
      }
      content.appendChild(bar);
      var requests = (answers[1] || []).filter(function (r) { return r.status === "pending"; });
      if (requests.length) {
        content.appendChild(h("div", "contact-caption muted small", L.join_requests));
        var rl = h("ul", "soc-list gp-join-requests");
        requests.forEach(function (request) {
          var right = h("div", "soc-request-actions");
          right.appendChild(button(L.decline, "btn btn-secondary btn-sm", function () { reloadAfter(api("POST", "groups/" + group.id + "/join-requests/" + request.id + "/decide/", { accept: false })); }));
          right.appendChild(button(L.approve, "btn btn-sm gp-approve", function () { reloadAfter(api("POST", "groups/" + group.id + "/join-requests/" + request.id + "/decide/", { accept: true })); }));
          var li = social.personLine(request.user, social.unitOf(request.user), right);
          if (request.message) li.querySelector(".soc-row-text").appendChild(h("div", "soc-verify small", fmt(L.verification_is, { message: request.message })));
          rl.appendChild(li);
        });
        content.appendChild(rl);
      }
      var ul = h("ul", "soc-list gp-members");
      members.forEach(function (member) { ul.appendChild(memberRow(group, member)); });
      content.appendChild(ul);
    }).catch(function (error) { content.textContent = errorText(error); });
  }
  function memberRow(group, member) {
    var person = member.user;
    var right = h("div", "soc-row-side");
    if (member.role !== "member") right.appendChild(h("span", "soc-role is-" + member.role, roleText(member.role)));
    if (member.muted) right.appendChild(h("span", "soc-tag is-muted", L.muted));
    var actions = memberActions(group, member);
    if (actions.length) {
      var more = button("⋯", "soc-more gp-member-more");
      more.setAttribute("aria-label", fmt(L.member_actions, { name: social.personName(person) }));
      more.addEventListener("click", function (event) { event.stopPropagation(); social.menu(more, actions); });
      right.appendChild(more);
    }
    var li = social.personLine({ id: person.id, name: social.personName(person) + (person.id === ME ? " " + L.you : "") }, social.unitOf(person) || person.account, right);
    li.classList.add("gp-member", "is-clickable");
    li.dataset.role = member.role;
    li.querySelector(".soc-row-text").addEventListener("click", function () { social.openCard(person.id); });
    return li;
  }
  function memberActions(group, member) {
    var person = member.user, id = person.id, base = "groups/" + group.id + "/";
    if (id === ME || group.disbanded || !isAdmin(group)) return [];
    var owner = group.my_role === "owner";
    if (member.role === "owner" || (member.role === "admin" && !owner)) return [];
    var name = social.personName(person);
    var items = [];
    if (owner) {
      items.push(member.role === "admin"
        ? [L.dismiss_admin, function () { reloadAfter(api("POST", base + "admins/", { user: id, admin: false })); }]
        : [L.appoint_admin, function () { reloadAfter(api("POST", base + "admins/", { user: id, admin: true })); }]);
      items.push([L.transfer_owner, function () {
        social.confirm(fmt(L.transfer_confirm, { name: name }), L.transfer_owner).then(function (yes) {
          if (yes) reloadAfter(api("POST", base + "transfer/", { user: id }));
        });
      }]);
    }
    items.push(member.muted
      ? [L.unmute, function () { reloadAfter(api("POST", base + "mute/", { user: id, muted: false })); }]
      : [L.mute, function () { reloadAfter(api("POST", base + "mute/", { user: id, muted: true })); }]);
    items.push([L.remove_member, function () {
      social.confirm(fmt(L.remove_member_confirm, { name: name }), L.remove_member).then(function (yes) {
        if (yes) reloadAfter(api("DELETE", base + "members/" + id + "/"));
      });
    }, true]);
    return items;
  }
  function addMembers(group, members) {
    var dialog = social.sheet(L.add_members, { id: "soc-add-members", wide: true });
    var pick = social.picker(new Set(members.map(function (m) { return m.user.id; })));
    dialog.body.appendChild(pick.node);
    var actions = h("div", "soc-actions");
    actions.appendChild(button(L.cancel, "btn btn-secondary", dialog.close));
    var ok = button(L.add, "btn soc-ok", function () {
      var users = Array.from(pick.selected.keys());
      if (!users.length) return;
      ok.disabled = true;
      api("POST", "groups/" + group.id + "/members/", { users: users }).then(function () { dialog.close(); refresh(); })
        .catch(function (error) { ok.disabled = false; toast(errorText(error)); });
    });
    actions.appendChild(ok);
    dialog.body.appendChild(actions);
  }

  // --- 群公告 --------------------------------------------------------------------------------------
  function drawAnnouncements(content, group) {
    api("GET", "groups/" + group.id + "/announcements/").then(function (rows) {
      if (!panel || panel.group !== group || panel.tab !== "announcements") return;
      content.textContent = "";
      if (isAdmin(group) && !group.disbanded) {
        var form = h("form", "gp-publish");
        var text = social.input("textarea", { max: 2000, rows: 3, placeholder: L.announcement_hint });
        text.required = true;
        form.appendChild(text);
        var publish = button(L.publish, "btn btn-sm gp-publish-btn");
        publish.type = "submit";
        form.appendChild(publish);
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          if (!text.value.trim()) return;
          publish.disabled = true;
          reloadAfter(api("POST", "groups/" + group.id + "/announcements/", { text: text.value.trim() }));
        });
        content.appendChild(form);
      }
      if (!rows.length) { content.appendChild(social.empty(L.no_announcements)); return; }
      var ul = h("ul", "soc-list gp-announcements");
      rows.forEach(function (row, index) {
        var li = h("li", "gp-announcement" + (index === 0 ? " is-pinned" : ""));
        var meta = h("div", "gp-meta small muted");
        if (index === 0) meta.appendChild(h("span", "soc-tag is-pinned", L.pinned));
        meta.appendChild(h("span", null, social.personName(row.author) + " · " + hooks.stamp(new Date(row.created_at))));
        if (isAdmin(group) && !group.disbanded) {
          meta.appendChild(button(L.delete, "soc-link is-danger gp-delete", function () {
            social.confirm(L.delete_announcement_confirm, L.delete).then(function (yes) {
              if (yes) reloadAfter(api("DELETE", "groups/" + group.id + "/announcements/" + row.id + "/"));
            });
          }));
        }
        li.appendChild(meta);
        li.appendChild(h("div", "gp-announcement-text", row.text));
        ul.appendChild(li);
      });
      content.appendChild(ul);
    }).catch(function (error) { content.textContent = errorText(error); });
  }

  // --- 群共享 --------------------------------------------------------------------------------------
  function drawFiles(content, group, query) {
    query = query || "";
    api("GET", "groups/" + group.id + "/files/" + (query ? "?q=" + encodeURIComponent(query) : "")).then(function (rows) {
      if (!panel || panel.group !== group || panel.tab !== "files") return;
      content.textContent = "";
      var bar = h("div", "gp-bar gp-files-bar");
      var search = h("form", "gp-file-search");
      var q = social.input("search", { max: 100, placeholder: L.search_files, value: query });
      search.appendChild(q);
      search.addEventListener("submit", function (event) { event.preventDefault(); drawFiles(content, group, q.value.trim()); });
      bar.appendChild(search);
      if (!group.disbanded) {
        var picker = h("input", "gp-file-input");
        picker.type = "file";
        picker.hidden = true;
        var upload = button(L.upload, "btn btn-sm gp-upload", function () { picker.click(); });
        picker.addEventListener("change", function () {
          if (!picker.files.length) return;
          var form = new FormData();
          form.append("file", picker.files[0]);
          upload.disabled = true;
          upload.textContent = L.uploading;
          reloadAfter(api("POST", "groups/" + group.id + "/files/", form));
        });
        bar.appendChild(picker);
        bar.appendChild(upload);
      }
      content.appendChild(bar);
      content.appendChild(h("div", "gp-quota small muted", fmt(L.quota, { used: hooks.size(group.files_used), quota: hooks.size(group.file_quota) })));
      if (!rows.length) { content.appendChild(social.empty(query ? L.no_results : L.no_files)); return; }
      var ul = h("ul", "soc-list gp-files");
      rows.forEach(function (file) {
        var li = h("li", "soc-row gp-file");
        var ext = (file.name.split(".").pop() || "").toLowerCase().slice(0, 4);
        li.appendChild(h("span", "msg-file-icon ext-" + ext, ext.toUpperCase()));
        var text = h("div", "soc-row-text");
        var link = h("a", "gp-file-name", file.name);
        link.href = file.url;
        link.setAttribute("download", file.name);
        text.appendChild(link);
        text.appendChild(h("div", "soc-row-sub muted small", hooks.size(file.size) + " · " + social.personName(file.uploader) + " · " + hooks.stamp(new Date(file.created_at))));
        li.appendChild(text);
        if (file.uploader.id === ME || isAdmin(group)) {
          li.appendChild(button(L.delete, "soc-link is-danger gp-delete", function () {
            social.confirm(fmt(L.delete_file_confirm, { name: file.name }), L.delete).then(function (yes) {
              if (yes) reloadAfter(api("DELETE", "groups/" + group.id + "/files/" + file.id + "/"));
            });
          }));
        }
        ul.appendChild(li);
      });
      content.appendChild(ul);
    }).catch(function (error) { content.textContent = errorText(error); });
  }

  // --- 设置 ----------------------------------------------------------------------------------------
  function drawSettings(content, group) {
    content.textContent = "";
    var base = "groups/" + group.id + "/";
    var list = h("dl", "soc-card-list gp-settings");
    function line(label, value) { list.appendChild(h("dt", "muted", label)); list.appendChild(h("dd", null, value)); }
    line(L.group_name, group.name);
    line(L.group_number_label, group.number);
    line(L.description, group.description || "—");
    line(L.join_policy, social.policyText(group.join_policy));
    line(L.member_limit, String(group.member_limit));
    content.appendChild(list);
    var admin = isAdmin(group) && !group.disbanded;
    if (admin) {
      content.appendChild(button(L.edit_profile, "btn btn-secondary btn-sm gp-edit", function () { editProfile(group); }));
      var mute = h("label", "gp-switch");
      var box = h("input");
      box.type = "checkbox";
      box.checked = group.all_muted;
      box.addEventListener("change", function () { reloadAfter(api("POST", base + "mute/", { muted: box.checked })); });
      mute.appendChild(box);
      mute.appendChild(h("span", null, L.mute_all));
      content.appendChild(mute);
      var invite = h("label", "gp-switch");
      var inviteBox = h("input");
      inviteBox.type = "checkbox";
      inviteBox.checked = group.members_can_invite;
      inviteBox.addEventListener("change", function () { reloadAfter(api("PATCH", base, { members_can_invite: inviteBox.checked })); });
      invite.appendChild(inviteBox);
      invite.appendChild(h("span", null, L.members_can_invite));
      content.appendChild(invite);
    }
    if (group.my_role === "owner" && !group.disbanded) {
      content.appendChild(button(L.set_member_limit, "btn btn-secondary btn-sm gp-limit", function () {
        social.ask(L.set_member_limit, {
          label: L.member_limit_hint, value: String(group.member_limit), type: "number",
          submit: function (value) { return api("PATCH", base, { member_limit: parseInt(value, 10) || 0 }); }
        }).then(function (done) { if (done) refresh(); });
      }));
    }
    if (group.disbanded) return;
    var danger = h("div", "gp-danger");
    danger.appendChild(button(L.leave_group, "btn btn-secondary gp-leave", function () {
      social.confirm(fmt(L.leave_confirm, { name: group.name }), L.leave_group).then(function (yes) {
        if (!yes) return;
        api("POST", base + "leave/").then(function () { if (panel) panel.dialog.close(); hooks.drop(group.id); })
          .catch(function (error) { toast(errorText(error)); });
      });
    }));
    if (group.my_role === "owner") {
      danger.appendChild(button(L.disband_group, "btn btn-danger gp-disband", function () {
        social.confirm(fmt(L.disband_confirm, { name: group.name }), L.disband_group).then(function (yes) {
          if (yes) reloadAfter(api("DELETE", base));
        });
      }));
    }
    content.appendChild(danger);
  }
  function editProfile(group) {
    var dialog = social.sheet(L.edit_profile, {});
    var form = h("form", "soc-form");
    var name = social.input("text", { max: 50, value: group.name });
    name.required = true;
    var description = social.input("textarea", { max: 500, rows: 3, value: group.description });
    var avatarPick = social.filePicker(L.choose_image, "image/*");
    var file = avatarPick.input;
    var policy = h("select", "soc-input");
    ["approval", "open", "closed"].forEach(function (value) {
      var option = h("option", null, social.policyText(value));
      option.value = value;
      option.selected = value === group.join_policy;
      policy.appendChild(option);
    });
    form.appendChild(social.field(L.group_name, name));
    form.appendChild(social.field(L.description, description));
    form.appendChild(social.field(L.avatar_optional, avatarPick.node));
    form.appendChild(social.field(L.join_policy, policy));
    var end = social.formEnd(form, dialog, L.save), error = end.error, ok = end.ok;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new FormData();
      body.append("name", name.value.trim());
      body.append("description", description.value.trim());
      body.append("join_policy", policy.value);
      if (file.files.length) body.append("avatar", file.files[0]);
      ok.disabled = true;
      api("PATCH", "groups/" + group.id + "/", body).then(function () { dialog.close(); refresh(); })
        .catch(function (err) { ok.disabled = false; error.textContent = errorText(err); });
    });
    dialog.body.appendChild(form);
  }

  // --- Live ----------------------------------------------------------------------------------------
  // The server could not replay what was missed: read the open group again.
  document.addEventListener("platform:resync", function () {
    cache = {};
    if (panel) refresh();
  });
  document.addEventListener("platform:event", function (event) {
    var frame = event.detail || {};
    var payload = frame.payload || {};
    var id = payload.conversation;
    switch (frame.type) {
      case "chat.group_updated":
        delete cache[id];
        if (panel && panel.id === id) refresh();
        else {
          var conv = hooks.currentConv();
          if (conv && conv.id === id) social.onHead(conv);
        }
        break;
      case "chat.group_join_request":
        toast(fmt(L.join_request_toast, { name: payload.user.name }));
        if (panel && panel.id === id && panel.tab === "members") refresh();
        break;
      case "chat.group_removed":
        delete cache[id];
        if (panel && panel.id === id) panel.dialog.close();
        if (payload.reason === "removed") toast(L.removed_from_group);
        hooks.drop(id);
        break;
    }
  });
})();
