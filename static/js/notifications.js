/* The notification centre's live side: the bell's count in the top bar, a toast for each new
   notification and the "(n) " prefix on the tab's title while some are unread. It listens to the
   "platform:event" DOM events realtime.js dispatches for every server frame:
   - notification.created: the count rises by one and a toast shows the title (a link that opens the
     notification, which marks it read), hiding itself after a few seconds;
   - notification.read (read here or on another device): the count becomes payload.unread_count, and
     the notifications page shows those entries read.
   After a "platform:resync" (events were lost) the count is asked again from the API.
   No inline script or style: the strict Content-Security-Policy allows neither. */
(function () {
  "use strict";
  var bell = document.getElementById("notification-bell");
  if (!bell) return;
  var countEl = document.getElementById("bell-count");
  var labelEl = document.getElementById("bell-label");
  var TOAST_MS = 8000;
  var MAX_TOASTS = 3;
  var baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
  var stack = null;

  function count() {
    return parseInt(bell.dataset.count || "0", 10) || 0;
  }

  function setCount(value) {
    var n = Math.max(0, value | 0);
    bell.dataset.count = String(n);
    countEl.textContent = n > 99 ? "99+" : String(n);
    countEl.hidden = n === 0;
    var label = n ? (bell.dataset.labelUnread || "").replace("__N__", String(n)) : bell.dataset.label;
    if (labelEl) labelEl.textContent = label || "";
    bell.title = label || "";
    document.title = (n ? "(" + (n > 99 ? "99+" : n) + ") " : "") + baseTitle;
    // The notifications page's "n unread" beside its heading (the number leads in both languages).
    var heading = document.getElementById("notifications-unread");
    if (heading) {
      heading.dataset.count = String(n);
      heading.textContent = heading.textContent.replace(/\d+/, String(n));
    }
  }

  function openUrl(id) {
    return (bell.dataset.openUrl || "").replace(/\/0\/open\/$/, "/" + id + "/open/");
  }

  function toastStack() {
    if (!stack) {
      stack = document.createElement("div");
      stack.className = "toast-stack";
      stack.id = "toast-stack";
      stack.setAttribute("role", "status");
      stack.setAttribute("aria-live", "polite");
      document.body.appendChild(stack);
    }
    return stack;
  }

  function dismiss(toast) {
    clearTimeout(toast._timer);
    toast.classList.add("is-leaving");
    setTimeout(function () { toast.remove(); }, 200);
  }

  function showToast(notification) {
    var holder = toastStack();
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.dataset.notificationId = String(notification.id);
    var link = document.createElement("a");
    link.className = "toast-link";
    link.href = openUrl(notification.id);
    var title = document.createElement("strong");
    title.className = "toast-title";
    title.textContent = notification.title || "";
    link.appendChild(title);
    if (notification.body) {
      var body = document.createElement("span");
      body.className = "toast-body";
      body.textContent = notification.body.length > 120 ? notification.body.slice(0, 120) + "…" : notification.body;
      link.appendChild(body);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.textContent = "×";
    close.setAttribute("aria-label", bell.dataset.labelClose || "Close");
    close.addEventListener("click", function () { dismiss(toast); });
    toast.appendChild(link);
    toast.appendChild(close);
    holder.appendChild(toast);
    while (holder.children.length > MAX_TOASTS) holder.firstElementChild.remove();
    // Hidden after a while, unless the pointer or the keyboard is on it (someone is reading it).
    function arm() { toast._timer = setTimeout(function () { dismiss(toast); }, TOAST_MS); }
    toast.addEventListener("mouseenter", function () { clearTimeout(toast._timer); });
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusin", function () { clearTimeout(toast._timer); });
    toast.addEventListener("focusout", arm);
    arm();
  }

  // The notifications page: entries read elsewhere (another tab, the phone) lose their marks.
  function showRead(payload) {
    var list = document.getElementById("notification-list");
    if (!list) return;
    var ids = (payload.ids || []).map(String);
    list.querySelectorAll("[data-notification-id][data-unread]").forEach(function (item) {
      if (!payload.all && ids.indexOf(item.dataset.notificationId) === -1) return;
      item.removeAttribute("data-unread");
      item.classList.remove("is-unread");
      var form = item.querySelector(".notification-read-form");
      if (form) form.remove();
      var hidden = item.querySelector(".notification-title .visually-hidden");
      if (hidden) hidden.remove();
    });
  }

  // The notifications page: a new entry goes on top of the first page's list, unread.
  function showCreated(notification) {
    var list = document.getElementById("notification-list");
    if (!list || list.dataset.page !== "1" || list.querySelector('[data-notification-id="' + notification.id + '"]')) return;
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var item = document.createElement("li");
    item.className = "notification is-unread";
    item.dataset.notificationId = String(notification.id);
    item.setAttribute("data-unread", "");
    var dot = document.createElement("span");
    dot.className = "notification-dot";
    dot.setAttribute("aria-hidden", "true");
    var main = document.createElement("div");
    main.className = "notification-main";
    var link = document.createElement("a");
    link.className = "notification-title";
    link.href = openUrl(notification.id);
    link.textContent = notification.title || "";
    main.appendChild(link);
    if (notification.body) {
      var body = document.createElement("p");
      body.className = "notification-body";
      body.textContent = notification.body.length > 200 ? notification.body.slice(0, 199) + "…" : notification.body;
      main.appendChild(body);
    }
    var meta = document.createElement("div");
    meta.className = "notification-meta muted small";
    var time = document.createElement("time");
    time.dateTime = notification.created_at || "";
    // The server's local time as it wrote it ("2026-12-05T09:30:00+08:00" → "2026-12-05 09:30").
    time.textContent = (notification.created_at || "").slice(0, 16).replace("T", " ");
    meta.appendChild(time);
    main.appendChild(meta);
    item.appendChild(dot);
    item.appendChild(main);
    list.insertBefore(item, list.firstChild);
  }

  document.addEventListener("platform:event", function (event) {
    var frame = event.detail || {};
    var payload = frame.payload || {};
    if (frame.type === "notification.created") {
      setCount(count() + 1);
      showToast(payload);
      showCreated(payload);
    } else if (frame.type === "notification.read") {
      if (typeof payload.unread_count === "number") setCount(payload.unread_count);
      showRead(payload);
    }
  });

  document.addEventListener("platform:resync", function () {
    if (!bell.dataset.countUrl || !window.fetch) return;
    fetch(bell.dataset.countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && typeof data.unread_count === "number") setCount(data.unread_count); })
      .catch(function () {});
  });

  setCount(count());
})();
