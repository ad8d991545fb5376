/* The navigation's 聊天 badge: the total of unread chat messages. On every page it asks the API
   again when a chat event arrives (a message, a read position); the chat page, which knows each
   conversation's count, sets it directly through window.chatBadge.set(n). */
(function () {
  "use strict";
  var link = document.getElementById("nav-chat");
  var badge = document.getElementById("nav-chat-count");
  if (!link || !badge) return;
  var timer = null;

  function set(total) {
    total = Math.max(0, total | 0);
    badge.hidden = total === 0;
    badge.textContent = total > 99 ? "99+" : String(total);
    link.dataset.count = String(total);
  }

  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(link.dataset.countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data && typeof data.total === "number") set(data.total); })
        .catch(function () {});
    }, 250);
  }

  window.chatBadge = { set: set, refresh: refresh, managed: false };
  document.addEventListener("platform:event", function (event) {
    var type = event.detail && event.detail.type;
    if (window.chatBadge.managed) return;
    if (type === "chat.message" || type === "chat.read" || type === "chat.recalled" || type === "chat.hidden") refresh();
  });
  document.addEventListener("platform:resync", refresh);
})();
