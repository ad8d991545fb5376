/* The page's one websocket (/ws/). It re-dispatches every server event as a DOM event
   "platform:event" (detail = {id, type, payload, sent_at}) for page scripts, reconnects with backoff
   and resumes: it connects with ?last_event_id= (the id the page was rendered at, then the last id
   it received), so the server replays whatever happened in between, once and in order. When the
   server cannot replay ("resync") it dispatches "platform:resync" for pages to reload their data.
   It leaves the page when the server says the session has ended (e.g. account deactivated).
   Pages that write over the socket (the chat's chat.send) use window.platformSocket.send(frame),
   which answers false while the socket is not open, and hear "platform:socket" (detail.state
   "open" or "closed") to resend what was not acknowledged. */
(function () {
  "use strict";
  var body = document.body;
  var path = body.dataset.wsPath;
  if (!path || !("WebSocket" in window)) return;

  var indicator = document.getElementById("ws-status");
  var delay = 1000;
  var lastEventId = parseInt(body.dataset.lastEventId || "0", 10) || 0;
  var pingTimer = null;
  var current = null;
  var reconnectTimer = null;
  // Set when this page navigates away (e.g. its own sign-out form): the server's "session.ended"
  // then must not start a second navigation that would cut the first one short.
  var leaving = false;
  window.addEventListener("pagehide", function () { leaving = true; });
  window.addEventListener("beforeunload", function () {
    leaving = true;
    // A download also fires beforeunload and leaves the page where it is.
    setTimeout(function () { leaving = false; }, 5000);
  });

  function setState(state) {
    if (!indicator) return;
    indicator.dataset.state = state;
    var label = state === "open" ? indicator.dataset.labelOpen : indicator.dataset.labelClosed;
    indicator.title = label || "";
    indicator.setAttribute("aria-label", label || "");
  }

  function announce(state) {
    document.dispatchEvent(new CustomEvent("platform:socket", { detail: { state: state } }));
  }

  window.platformSocket = {
    send: function (frame) {
      if (!current || current.readyState !== WebSocket.OPEN) return false;
      current.send(JSON.stringify(frame));
      return true;
    },
    isOpen: function () { return !!current && current.readyState === WebSocket.OPEN; }
  };

  // Back on the network: try at once instead of waiting out the backoff.
  window.addEventListener("online", function () {
    if (current || reconnectTimer === null) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    delay = 1000;
    connect();
  });

  function scheduleReconnect() {
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, delay + Math.floor(Math.random() * 500));
    delay = Math.min(delay * 2, 60000);
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path +
      "?last_event_id=" + lastEventId;
    var socket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      scheduleReconnect();
      return;
    }
    socket.addEventListener("open", function () {
      delay = 1000;
      current = socket;
      setState("open");
      announce("open");
      pingTimer = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
      }, 25000);
    });
    socket.addEventListener("message", function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (err) { return; }
      if (typeof event.id === "number") {
        if (event.id <= lastEventId) return;
        lastEventId = event.id;
      } else if ((event.type === "hello" || event.type === "pong" || event.type === "resync") && event.payload) {
        lastEventId = Math.max(lastEventId, event.payload.last_event_id || 0);
        if (event.type === "resync") document.dispatchEvent(new CustomEvent("platform:resync", { detail: event }));
      }
      document.dispatchEvent(new CustomEvent("platform:event", { detail: event }));
      // The server closes the socket right after (code 4401): the session, token or account ended.
      if (event.type === "session.ended" && body.dataset.loginUrl && !leaving) {
        window.location.assign(body.dataset.loginUrl);
      }
    });
    socket.addEventListener("close", function (closed) {
      clearInterval(pingTimer);
      if (current === socket) current = null;
      setState("closed");
      announce("closed");
      // 4401: the server does not know this session any more; reconnecting would not help.
      if (closed.code === 4401) return;
      scheduleReconnect();
    });
  }

  connect();
})();
