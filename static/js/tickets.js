/* Ticket pages: live updates. realtime.js turns every server event into a "platform:event" DOM
   event; a ticket.* event makes the parts of the page that show that ticket (data-live-ticket) and
   any list of tickets (data-live-list) fetch themselves again through htmx (hx-trigger
   "ticket-changed"). No page reload. */
(function () {
  "use strict";

  var pendingList = null;
  var carried = {};
  // Live regions (by id) whose refresh is in flight, since when; and those that heard of another
  // change meanwhile. htmx queues a trigger that arrives during a request on the element that made
  // it, and a region swapped outerHTML is a new element by then: the queued request is dropped, and
  // the region keeps what the first response said. An answer approved while the page was fetching
  // the "in review" state stayed invisible until a reload. So a region is never triggered while its
  // request is in flight; it is marked stale and fetched once more when that request ends.
  var inFlight = {};
  var stale = {};
  // A request that never reports back (a browser quirk) must not block its region for good.
  var IN_FLIGHT_LIMIT = 15000;
  var greeted = false;

  function isLive(element) {
    return element && element.id && (element.hasAttribute("data-live-ticket") || element.hasAttribute("data-live-list"));
  }

  function refreshRegion(element) {
    if (!window.htmx) return;
    var since = inFlight[element.id];
    if (since && Date.now() - since < IN_FLIGHT_LIMIT) {
      stale[element.id] = true;
      return;
    }
    window.htmx.trigger(element, "ticket-changed");
  }

  function refresh(selector) {
    document.querySelectorAll(selector).forEach(refreshRegion);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail && event.detail.elt;
    if (isLive(element)) inFlight[element.id] = Date.now();
  });

  // For a region swapped outerHTML, htmx reports the end of the request on the nearest ancestor
  // still in the page (the old element is gone) and detail.elt is then that ancestor; the request's
  // own element is in detail.requestConfig.elt.
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    var element = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    if (!element || !element.id || !inFlight[element.id]) return;
    var id = element.id;
    delete inFlight[id];
    if (!stale[id]) return;
    delete stale[id];
    // After htmx has settled the new region (its settle delay is 20 ms), so it answers the trigger.
    setTimeout(function () {
      var current = document.getElementById(id);
      if (current) refreshRegion(current);
    }, 60);
  });

  document.addEventListener("platform:event", function (event) {
    var detail = event.detail || {};
    if (detail.type === "hello") {
      // The socket is open again after a break (a restart, a network change): what happened
      // meanwhile was sent to nobody, so every live part of the page is fetched once.
      if (greeted) {
        refresh("[data-live-ticket]");
        refresh("[data-live-list]");
      }
      greeted = true;
      return;
    }
    if (typeof detail.type !== "string" || detail.type.indexOf("ticket.") !== 0) return;
    var id = parseInt(detail.payload && detail.payload.id, 10);
    if (!isNaN(id)) refresh('[data-live-ticket="' + id + '"]');
    // A state change and its message often arrive together: fetch a list once for both.
    clearTimeout(pendingList);
    pendingList = setTimeout(function () { refresh("[data-live-list]"); }, 150);
  });

  // Regions holding forms (data-actions-key) are swapped only when the actions on offer changed,
  // so another user's update never wipes a half-written reply or answer. When they do change, what
  // was typed into a field that still exists is put back.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.hasAttribute("data-actions-key")) return;
    var match = /data-actions-key="([^"]*)"/.exec(event.detail.serverResponse || "");
    if (match && match[1] === target.getAttribute("data-actions-key")) {
      event.detail.shouldSwap = false;
      return;
    }
    var typed = {};
    target.querySelectorAll("textarea, input[type=text]").forEach(function (field) {
      if (field.id && field.value && field.value !== field.defaultValue) typed[field.id] = field.value;
    });
    if (target.id) carried[target.id] = typed;
  });

  document.addEventListener("htmx:afterSettle", function () {
    Object.keys(carried).forEach(function (regionId) {
      var region = document.getElementById(regionId);
      var typed = carried[regionId];
      delete carried[regionId];
      if (!region) return;
      Object.keys(typed).forEach(function (fieldId) {
        var field = document.getElementById(fieldId);
        if (field && region.contains(field) && !field.value) field.value = typed[fieldId];
      });
    });
  });
})();

/* 常用回复: choosing a canned reply in the compose box puts its text into the reply (after what is
   already typed), ready to edit before sending; the picker goes back to its prompt. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var picker = event.target.closest && event.target.closest("select[data-canned-target]");
    if (!picker || !picker.value) return;
    var option = picker.options[picker.selectedIndex];
    var field = document.getElementById(picker.getAttribute("data-canned-target"));
    if (field && option) {
      var text = option.getAttribute("data-body") || "";
      field.value = field.value ? field.value.replace(/\s*$/, "") + "\n" + text : text;
      field.focus();
    }
    picker.value = "";
  });
})();
