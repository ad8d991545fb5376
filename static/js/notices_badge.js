/* 公告's unread count on every page: the navigation's badge and any element marked
   data-notice-unread (the home page's tile, the inbox's tab) follow the socket. notice.published
   reaches only sockets whose user the notice is for (the server filters per socket), so it adds one;
   notice.read carries the count after a read on any of the user's devices; a withdrawal or a resync
   asks the server again. On the inbox page (#notice-inbox) the rows are fetched afresh when a notice
   arrives or is withdrawn, so it shows up without a reload. */
(function () {
  "use strict";
  var link = document.getElementById("nav-notices");
  if (!link) return;
  var countUrl = link.dataset.countUrl;
  var refreshTimer = null;

  function targets() {
    return document.querySelectorAll("#nav-notices-count, [data-notice-unread]");
  }

  function current() {
    var badge = document.getElementById("nav-notices-count");
    return badge ? parseInt(badge.dataset.count || "0", 10) || 0 : 0;
  }

  function show(count) {
    count = Math.max(0, count);
    targets().forEach(function (el) {
      el.dataset.count = String(count);
      el.textContent = count > 99 ? "99+" : String(count);
      el.hidden = count === 0;
    });
  }

  function ask() {
    if (!countUrl) return;
    fetch(countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && typeof data.unread === "number") show(data.unread); })
      .catch(function () {});
  }

  function refreshInbox() {
    var inbox = document.getElementById("notice-inbox");
    if (!inbox || !inbox.dataset.rowsUrl) return;
    // A national notice reaches many sockets at once: spread the refreshes a little.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      fetch(inbox.dataset.rowsUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          inbox.innerHTML = html;
          var status = document.getElementById("notice-inbox-status");
          if (status && status.dataset.arrived) status.textContent = status.dataset.arrived;
        })
        .catch(function () {});
    }, Math.floor(Math.random() * 400));
  }

  document.addEventListener("platform:event", function (e) {
    var event = e.detail || {};
    var payload = event.payload || {};
    if (event.type === "notice.published") {
      show(current() + 1);
      refreshInbox();
    } else if (event.type === "notice.read" && typeof payload.unread_count === "number") {
      show(payload.unread_count);
    } else if (event.type === "notice.withdrawn") {
      ask();
      refreshInbox();
    } else if (event.type === "notice.reminded") {
      refreshInbox();
    }
  });
  document.addEventListener("platform:resync", function () { ask(); refreshInbox(); });
})();
