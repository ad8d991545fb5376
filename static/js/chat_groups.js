/* 群组 in the chat page's contact panel: my groups, 创建群组 (name, announcement, description,
   avatar, members picked from 好友, 本单位, 单位组织 and the directory search, several at once) and
   查找群组 (by name or number, then 申请加入). The member picker is shared with the group panel
   (chat_group_panel.js) for 添加群成员. Uses window.chatSocial from chat_contacts.js. */
(function () {
  "use strict";
  var social = window.chatSocial;
  if (!social) return;
  var hooks = social.hooks;
  var L = hooks.L, api = social.api, h = hooks.h, avatar = hooks.avatar, fmt = hooks.fmt, ME = hooks.ME;
  var button = social.button, sheet = social.sheet, errorText = social.errorText, toast = social.toast;

  function groupAvatar(name) {
    var node = avatar(name);
    node.classList.add("is-group");
    return node;
  }
  social.groupAvatar = groupAvatar;
  function policyText(policy) { return policy === "open" ? L.policy_open : policy === "closed" ? L.policy_closed : L.policy_approval; }
  social.policyText = policyText;

  // --- 群组: the pane -----------------------------------------------------------------------------
  function showGroups(body) {
    body.textContent = "";
    var entries = h("ul", "soc-entries");
    entries.appendChild(social.entryRow("+", L.create_group, "is-create", function () { openCreate(); }));
    entries.appendChild(social.entryRow("#", L.find_group, "is-find-group", openFindGroup));
    body.appendChild(entries);
    var list = h("ul", "soc-list soc-groups");
    list.appendChild(h("li", "muted small chat-pad", L.loading));
    body.appendChild(list);
    api("GET", "groups/").then(function (rows) {
      list.textContent = "";
      if (!rows.length) list.appendChild(h("li", "soc-empty muted", L.no_groups));
      rows.forEach(function (group) {
        var li = h("li", "soc-row soc-group is-clickable");
        li.dataset.conversation = group.id;
        li.tabIndex = 0;
        li.setAttribute("role", "button");
        li.appendChild(groupAvatar(group.name));
        var text = h("div", "soc-row-text");
        var name = h("div", "soc-row-name", group.name);
        text.appendChild(name);
        text.appendChild(h("div", "soc-row-sub muted small", fmt(L.group_sub, { count: group.member_count, number: group.number })));
        li.appendChild(text);
        if (group.my_role !== "member") li.appendChild(h("span", "soc-role is-" + group.my_role, group.my_role === "owner" ? L.role_owner : L.role_admin));
        li.addEventListener("click", function () { hooks.open(group.id); });
        li.addEventListener("keydown", function (event) { if (event.key === "Enter") hooks.open(group.id); });
        list.appendChild(li);
      });
    }).catch(function (error) { list.textContent = errorText(error); });
  }
  social.panes.groups = showGroups;

  // --- 查找群组 ------------------------------------------------------------------------------------
  function openFindGroup() {
    var dialog = sheet(L.find_group, { id: "soc-find-group" });
    var form = h("form", "soc-searchbar");
    var box = social.input("search", { max: 100, placeholder: L.find_group_hint });
    box.classList.add("soc-search");
    form.appendChild(box);
    var go = button(L.search, "btn btn-sm");
    go.type = "submit";
    form.appendChild(go);
    var list = h("ul", "soc-list soc-found-groups");
    dialog.body.appendChild(form);
    dialog.body.appendChild(list);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var q = box.value.trim();
      if (!q) return;
      api("GET", "groups/search/?q=" + encodeURIComponent(q)).then(function (rows) {
        list.textContent = "";
        if (!rows.length) list.appendChild(h("li", "soc-empty muted", L.no_groups_found));
        rows.forEach(function (group) { list.appendChild(foundGroup(group)); });
      }).catch(function (error) { list.textContent = errorText(error); });
    });
    box.focus();
  }
  function foundGroup(group) {
    var li = h("li", "soc-row soc-found-group");
    li.dataset.conversation = group.id;
    li.appendChild(groupAvatar(group.name));
    var text = h("div", "soc-row-text");
    text.appendChild(h("div", "soc-row-name", group.name));
    text.appendChild(h("div", "soc-row-sub muted small", fmt(L.group_card, { number: group.number, count: group.member_count, limit: group.member_limit })));
    if (group.description) text.appendChild(h("div", "soc-row-desc small", group.description));
    text.appendChild(h("div", "soc-row-sub muted small", policyText(group.join_policy)));
    li.appendChild(text);
    var right = h("div", "soc-row-side");
    if (hooks.convs.has(group.id)) right.appendChild(button(L.open_chat, "btn btn-secondary btn-sm", function () { closeAll(); hooks.open(group.id); }));
    else if (group.join_policy === "closed") right.appendChild(h("span", "soc-tag", L.invite_only));
    else right.appendChild(button(group.join_policy === "open" ? L.join : L.ask_to_join, "btn btn-sm soc-join", function () { join(group, right); }));
    li.appendChild(right);
    return li;
  }
  function closeAll() { document.querySelectorAll(".soc-overlay .soc-close").forEach(function (x) { x.click(); }); }
  function join(group, right) {
    function done(result) {
      right.textContent = "";
      if (result.joined) { toast(fmt(L.joined, { name: group.name })); closeAll(); hooks.open(group.id); return; }
      right.appendChild(h("span", "soc-tag", L.join_pending));
    }
    if (group.join_policy === "open") {
      api("POST", "groups/" + group.id + "/join/", {}).then(done).catch(function (error) { toast(errorText(error)); });
      return;
    }
    social.ask(L.ask_to_join, {
      label: L.join_message, multiline: true, rows: 3, max: 200, optional: true, ok: L.send,
      value: fmt(L.i_am, { name: document.getElementById("chat-app").dataset.meName }),
      submit: function (message) { return api("POST", "groups/" + group.id + "/join/", { message: message }); }
    }).then(function (result) { if (result) done(result); });
  }

  // --- The member picker: 好友, 本单位, 单位组织, search; several at once --------------------------
  // `exclude`: ids already in the group (shown checked and fixed). Answers {node, selected (Map)}.
  function picker(exclude) {
    exclude = exclude || new Set();
    var selected = new Map();
    var node = h("div", "soc-picker");
    var chips = h("div", "soc-chips");
    chips.appendChild(h("span", "muted small soc-chips-empty", L.none_selected));
    var tabs = h("div", "soc-tabs");
    var bar = social.input("search", { max: 100, placeholder: L.search_people_hint });
    bar.classList.add("soc-search");
    var crumbs = h("nav", "tree-crumbs small");
    var list = h("ul", "soc-list soc-pick-list");
    node.appendChild(chips);
    node.appendChild(tabs);
    node.appendChild(bar);
    node.appendChild(crumbs);
    node.appendChild(list);
    var source = "friends";
    var stack = [{ id: null, name: L.all_units }];
    function drawChips() {
      chips.textContent = "";
      if (!selected.size) chips.appendChild(h("span", "muted small soc-chips-empty", L.none_selected));
      selected.forEach(function (person, id) {
        var chip = button(social.personName(person) + " ×", "soc-chip", function () { selected.delete(id); drawChips(); syncChecks(); });
        chip.dataset.user = id;
        chips.appendChild(chip);
      });
      node.dispatchEvent(new CustomEvent("picker:change", { detail: selected.size }));
    }
    function syncChecks() {
      list.querySelectorAll(".soc-pick input").forEach(function (box) {
        var id = parseInt(box.value, 10);
        if (!exclude.has(id)) box.checked = selected.has(id);
      });
    }
    function personRow(person) {
      var label = h("label", "soc-row soc-pick");
      var box = h("input");
      box.type = "checkbox";
      box.value = person.id;
      box.checked = exclude.has(person.id) || selected.has(person.id);
      box.disabled = exclude.has(person.id) || person.id === ME;
      box.addEventListener("change", function () {
        if (box.checked) selected.set(person.id, person); else selected.delete(person.id);
        drawChips();
      });
      label.appendChild(box);
      label.appendChild(avatar(social.personName(person)));
      var text = h("div", "soc-row-text");
      text.appendChild(h("div", "soc-row-name", social.personName(person)));
      text.appendChild(h("div", "soc-row-sub muted small", social.unitOf(person) || person.account || ""));
      label.appendChild(text);
      var li = h("li");
      li.appendChild(label);
      return li;
    }
    function people(rows) {
      rows.forEach(function (person) { list.appendChild(personRow(person)); });
      if (!rows.length) list.appendChild(h("li", "soc-empty muted", L.no_people));
    }
    function load() {
      list.textContent = "";
      crumbs.textContent = "";
      crumbs.hidden = source !== "tree";
      bar.hidden = source !== "search";
      var q = bar.value.trim();
      if (source === "friends") {
        api("GET", "friends/").then(function (data) { people(data.friends.map(function (f) { return f.remark ? Object.assign({}, f.user, { name: f.remark }) : f.user; })); });
      } else if (source === "mine") {
        if (!hooks.MY_UNIT) { list.appendChild(h("li", "soc-empty muted", L.no_unit)); return; }
        api("GET", "/api/v1/org/units/" + hooks.MY_UNIT + "/members/").then(function (page) { people(page.results); });
      } else if (source === "search") {
        if (!q) return;
        api("GET", "/api/v1/users/?search=" + encodeURIComponent(q)).then(function (page) { if (bar.value.trim() === q) people(page.results); });
      } else {
        var here = stack[stack.length - 1];
        stack.forEach(function (step, index) {
          var crumb = button(step.name, "tree-crumb", function () { stack = stack.slice(0, index + 1); load(); });
          crumb.disabled = index === stack.length - 1;
          crumbs.appendChild(crumb);
        });
        var asks = [api("GET", "/api/v1/org/units/" + (here.id ? "?parent=" + here.id : ""))];
        if (here.id) asks.push(api("GET", "/api/v1/org/units/" + here.id + "/members/"));
        Promise.all(asks).then(function (answers) {
          answers[0].results.forEach(function (unit) {
            var li = h("li", "unit-row");
            li.tabIndex = 0;
            li.appendChild(h("span", "unit-icon", unit.kind === "school" ? "🏫" : "🏛️"));
            li.appendChild(h("span", "unit-name", unit.name));
            li.appendChild(h("span", "unit-go", "›"));
            li.addEventListener("click", function () { stack.push({ id: unit.id, name: unit.name }); load(); });
            list.appendChild(li);
          });
          if (answers[1]) answers[1].results.forEach(function (person) { list.appendChild(personRow(person)); });
        });
      }
    }
    [["friends", L.friends], ["mine", L.my_unit], ["tree", L.unit_tree], ["search", L.search]].forEach(function (pair) {
      var tab = button(pair[1], "soc-tab" + (pair[0] === source ? " is-active" : ""), function () {
        source = pair[0];
        tabs.querySelectorAll(".soc-tab").forEach(function (t) { t.classList.toggle("is-active", t === tab); });
        load();
        if (source === "search") bar.focus();
      });
      tab.dataset.source = pair[0];
      tabs.appendChild(tab);
    });
    var timer = null;
    bar.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(load, 250); });
    load();
    return { node: node, selected: selected };
  }
  social.picker = picker;

  // --- 创建群组 ------------------------------------------------------------------------------------
  function openCreate() {
    var dialog = sheet(L.create_group, { id: "soc-create-group", wide: true });
    var form = h("form", "soc-form soc-create");
    var info = h("div", "soc-create-info");
    var name = social.input("text", { max: 50, placeholder: L.group_name_hint });
    name.name = "name";
    name.required = true;
    var announcement = social.input("textarea", { max: 2000, rows: 3, placeholder: L.announcement_hint });
    announcement.name = "announcement";
    var description = social.input("textarea", { max: 500, rows: 2 });
    description.name = "description";
    var avatarPick = social.filePicker(L.choose_image, "image/*");
    var file = avatarPick.input;
    file.name = "avatar";
    var policy = h("select", "soc-input");
    policy.name = "join_policy";
    ["approval", "open", "closed"].forEach(function (value) {
      var option = h("option", null, policyText(value));
      option.value = value;
      policy.appendChild(option);
    });
    info.appendChild(social.field(L.group_name, name));
    info.appendChild(social.field(L.announcement, announcement));
    info.appendChild(social.field(L.description, description));
    info.appendChild(social.field(L.avatar_optional, avatarPick.node));
    info.appendChild(social.field(L.join_policy, policy));
    var members = h("div", "soc-create-members");
    var count = h("div", "soc-field-label small muted", fmt(L.members_selected, { count: 0 }));
    members.appendChild(count);
    var pick = picker(new Set([ME]));
    members.appendChild(pick.node);
    pick.node.addEventListener("picker:change", function (event) { count.textContent = fmt(L.members_selected, { count: event.detail }); });
    var cols = h("div", "soc-create-cols");
    cols.appendChild(info);
    cols.appendChild(members);
    form.appendChild(cols);
    var end = social.formEnd(form, dialog, L.create), error = end.error, ok = end.ok;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var users = Array.from(pick.selected.keys());
      var body = { name: name.value.trim(), announcement: announcement.value.trim(), description: description.value.trim(), join_policy: policy.value, users: users };
      ok.disabled = true;
      // The avatar goes after the group is made (multipart), the rest as JSON with the member list.
      api("POST", "groups/", body).then(function (group) {
        if (!file.files.length) return group;
        var form = new FormData();
        form.append("avatar", file.files[0]);
        return api("PATCH", "groups/" + group.id + "/", form).catch(function (err) { toast(errorText(err)); return group; });
      }).then(function (group) {
        dialog.close();
        hooks.refreshContacts("groups");
        toast(fmt(L.group_created, { name: group.name }));
        hooks.open(group.id);
      }).catch(function (err) { ok.disabled = false; error.textContent = errorText(err); });
    });
    dialog.body.appendChild(form);
    name.focus();
  }
  social.openCreate = openCreate;

  document.addEventListener("platform:resync", function () { hooks.refreshContacts("groups"); });
  // Joined a group, left it, or a group changed: the 群组 pane follows.
  document.addEventListener("platform:event", function (event) {
    var frame = event.detail || {};
    var payload = frame.payload || {};
    if (frame.type === "chat.group_updated" && (payload.change === "created" || payload.change === "profile" || payload.change === "members_added" || payload.change === "disbanded")) hooks.refreshContacts("groups");
    if (frame.type === "chat.group_removed") hooks.refreshContacts("groups");
    if (frame.type === "chat.group_join_decided") {
      hooks.refreshContacts("groups");
      toast(payload.status === "approved" ? L.join_approved : L.join_declined);
    }
  });
})();
