/* The small screen above one counter: its number and the ticket it serves, live.
   Counter changes arrive on /display as `counter` events; a call to this counter
   flashes.  The screen also re-reads the public counter list on every (re)connect and
   every 30 s, so it is right even for a device whose zone does not include the counter. */
(function () {
  "use strict";
  const kit = window.motcuaBoardKit;
  const text = kit.text;
  const number = kit.data.counter.number;
  const FLASH_MS = 8000;
  const REFRESH_MS = 30000;
  const $ = (id) => document.getElementById(id);
  let counter = kit.data.counter;
  let services = [];

  function serviceName(code) {
    const s = services.find((x) => x.code === code);
    if (!s) return code;
    return kit.data.lang === "en" && s.name_en ? s.name_en : s.name_vi;
  }

  function pauseReason() {
    const key = "board.pause." + counter.pause_reason;
    if (!counter.pause_reason) return "";
    return key in kit.data.texts ? text(key) : counter.pause_reason;
  }

  /* What the screen says: [caption, big line, status line, showing a ticket?]. */
  function view() {
    const serving = counter.serving;
    if (serving) {
      const caption = serving.status === "called" ? "board.counter_screen.called" : "board.counter_screen.serving";
      return [text(caption), serving.label, "", true];
    }
    if (counter.state === "paused") return ["", text("board.counters.paused"), pauseReason(), false];
    if (counter.state === "closed") return ["", text("board.counter_screen.closed"), "", false];
    return ["", text("board.counter_screen.none"), "", false];
  }

  function render() {
    const [caption, label, status, ticket] = view();
    $("cs-caption").textContent = caption;
    $("cs-label").textContent = label;
    $("cs-status").textContent = status;
    const main = $("cs-main");
    main.classList.toggle("cs-idle", !ticket);
    main.classList.toggle("cs-paused", !ticket && counter.state === "paused");
    $("cs-services").textContent = (counter.services || []).map(serviceName).join(" · ");
    kit.fit($("cs-label"), ticket ? 340 : 160, 60);
  }

  function flash() {
    const main = $("cs-main");
    main.classList.remove("cs-flash");
    void main.offsetWidth; // restart the animation
    main.classList.add("cs-flash");
    setTimeout(() => main.classList.remove("cs-flash"), FLASH_MS);
  }

  function update(view) {
    if (view && view.number === number) {
      counter = view;
      render();
    }
  }

  async function refresh() {
    const r = await window.motcua.api("GET", "/counters");
    if (r.ok && r.data && Array.isArray(r.data.counters)) update(r.data.counters.find((c) => c.number === number));
  }

  const socket = window.motcua.socket("/display");
  window.motcuaCounterScreen = { socket, get counter() { return counter; } };
  socket.on("connect", () => {
    kit.setOffline(false);
    kit.syncClock();
    refresh();
  });
  socket.on("disconnect", () => kit.setOffline(true));
  socket.on("connect_error", () => {
    kit.setOffline(true);
    kit.retryRefused(socket);
  });
  socket.on("snapshot", (snap) => {
    services = (snap && snap.services) || services;
    update(((snap && snap.counters) || []).find((c) => c.number === number));
    render();
  });
  socket.on("queue", (body) => { if (body && Array.isArray(body.services)) services = body.services; });
  socket.on("counter", (body) => update(body && body.counter));
  socket.on("call", (call) => {
    if (!call || call.counter !== number) return;
    // A live call carries the counter as it is now (no counter event follows it);
    // a replayed one does not: show the called number all the same.
    if (call.counter_view && call.counter_view.number === number) counter = call.counter_view;
    else {
      counter = Object.assign({}, counter, {
        serving: Object.assign({}, counter.serving || {}, { label: call.label, status: "called" }),
      });
    }
    render();
    flash();
  });

  kit.keepStageFitted($("cs"));
  kit.renderClock();
  kit.setOffline(true);
  render();
  setInterval(kit.renderClock, 1000);
  setInterval(refresh, REFRESH_MS);
})();
