/* The page's one websocket (/ws/). It re-dispatches every server event as a DOM event
   "platform:event" (detail = {id, type, payload, sent_at}) for page scripts, reconnects with backoff
   and resumes: it connects with ?last_event_id= (the id the page was rendered at, then the last id
   it received), so the server replays whatever happened in between, once and in order. When the
   server cannot replay ("resync") it dispatches "platform:resync" for pages to reload their data.
   It leaves the page when the server says the session has ended (e.g. account deactivated). */
(function () {
  "use strict";
  var body = document.body;
  var path = body.dataset.wsPath;
  if (!path || !("WebSocket" in window)) return;

  var indicator = document.getElementById("ws-status");
  var delay = 1000;
  var lastEventId = parseInt(body.dataset.lastEventId || "0", 10) || 0;
  var pingTimer = null;
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

  function scheduleReconnect() {
    setTimeout(connect, delay + Math.floor(Math.random() * 500));
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
      setState("open");
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
      setState("closed");
      // 4401: the server does not know this session any more; reconnecting would not help.
      if (closed.code === 4401) return;
      scheduleReconnect();
    });
  }

  connect();
})();
