/* Ticket pages: live updates. realtime.js turns every server event into a "platform:event" DOM
   event; a ticket.* event makes the parts of the page that show that ticket (data-live-ticket) and
   any list of tickets (data-live-list) fetch themselves again through htmx (hx-trigger
   "ticket-changed"). No page reload. */
(function () {
  "use strict";

  var pendingList = null;
  var carried = {};

  function refresh(selector) {
    if (!window.htmx) return;
    document.querySelectorAll(selector).forEach(function (element) {
      window.htmx.trigger(element, "ticket-changed");
    });
  }

  document.addEventListener("platform:event", function (event) {
    var detail = event.detail || {};
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
