/* The hall board in a browser (smart TVs): the same data, order rules and sounds as
   the pygame board (display/state.py, display/audio.py).

   Order: every call carries its seq and the seq of the call before it on this board's
   stream (prev_seq).  A call whose prev_seq is ahead of what the board has seen waits
   in a buffer while the board asks the server to replay the missing ones (`resync`);
   after a reconnect the board asks for everything after the last call it showed.  So a
   call is never shown twice, never out of order, and never lost to a network blip.
   Sound: chime then voice, one announcement at a time, none dropped; a recall is a new
   call and plays again; after an outage only calls of the last minute are voiced (the
   others just appear in the list).  TVs that block autoplay get a one-time button. */
(function () {
  "use strict";
  const kit = window.motcuaBoardKit;
  const el = window.motcua.el;
  const text = kit.text;

  const FLASH_MS = 8000;
  const ANNOUNCE_MAX_AGE_MS = 60000;
  const RESYNC_RETRY_MS = 5000;
  const GAP_TIMEOUT_MS = 30000;
  const RECENT_MAX = 8;
  const RECENT_ROWS = 7;
  const PAGE_MS = 10000;
  const COUNTERS_PER_PAGE = 10;
  const SERVICES_PER_PAGE = 4;
  const NOTICE_SPEED_PX_S = 120;

  const S = {
    lastSeq: 0,
    baseline: false,
    current: null,
    recent: [],
    counters: new Map(),
    services: [],
    queueVersion: 0,
    zone: null,
    center: kit.data.center || "",
    notice: "",
    pending: new Map(),
    gapSince: null,
    resyncAskedAt: null,
    connected: false,
    snapshotThisConnection: false,
    pages: { counters: -1, services: -1 },
  };

  // --- sounds ------------------------------------------------------------------------
  const sound = window.motcuaBoardAudio.createAnnouncer({
    chime: document.getElementById("bd-chime"),
    button: document.getElementById("bd-sound"),
    maxAgeMs: ANNOUNCE_MAX_AGE_MS,
    now: kit.serverNow,
  });

  function announce(call) {
    const at = kit.parseTime(call.at);
    if (kit.serverNow() - at > ANNOUNCE_MAX_AGE_MS) return; // shown, not voiced
    sound.enqueue("call-" + call.seq, call.audio_url, at);
  }

  // --- order and state ---------------------------------------------------------------
  const prevOf = (call) => (Number.isInteger(call.prev_seq) ? call.prev_seq : call.seq - 1);
  const ticketKey = (call) => (call.ticket_id !== null && call.ticket_id !== undefined ? "t" + call.ticket_id : "l" + call.label);

  function pushRecent(call) {
    const key = ticketKey(call);
    S.recent = [call].concat(S.recent.filter((c) => ticketKey(c) !== key)).slice(0, RECENT_MAX);
    S.current = call;
  }

  function askResync() {
    S.resyncAskedAt = Date.now();
    const socket = window.motcuaBoard.socket;
    if (socket.connected) socket.emit("resync", { after: S.lastSeq });
  }

  function clearGap() {
    S.gapSince = null;
    S.resyncAskedAt = null;
  }

  function show(call) {
    S.baseline = true;
    S.lastSeq = call.seq;
    call.arrivedAt = Date.now();
    pushRecent(call);
    announce(call);
  }

  function releasePending() {
    while (S.pending.size) {
      const first = Math.min(...S.pending.keys());
      const call = S.pending.get(first);
      if (prevOf(call) > S.lastSeq) break;
      S.pending.delete(first);
      if (call.seq > S.lastSeq) show(call);
    }
    if (!S.pending.size) clearGap();
  }

  function onCall(call) {
    if (!call || !Number.isInteger(call.seq)) return;
    // A live call carries its counter and the queues as they are now: no counter or
    // queue event follows it.
    const tile = setCounter(call.counter_view);
    const queues = takeQueue(call.queue);
    if (!showNow(call)) {
      if (tile) renderTiles();
      if (queues) renderServices(true);
      return;
    }
    show(call);
    releasePending();
    render(true);
  }

  // Whether a call is shown now: not when seen before, nor when it waits behind a gap.
  function showNow(call) {
    if (!S.baseline) return true;
    if (call.seq <= S.lastSeq || S.pending.has(call.seq)) return false; // seen
    if (prevOf(call) <= S.lastSeq) return true;
    S.pending.set(call.seq, call);
    if (S.gapSince === null) {
      S.gapSince = Date.now();
      askResync();
    }
    return false;
  }

  function setSideData(snap) {
    S.zone = snap.zone === undefined ? null : snap.zone;
    S.center = snap.center || S.center;
    S.notice = snap.notice || "";
    S.counters = new Map((snap.counters || []).map((c) => [c.number, c]));
    S.services = snap.services || [];
    S.queueVersion = Number.isInteger(snap.queue_version) ? snap.queue_version : 0;
  }

  function onSnapshot(snap) {
    if (!snap || !Number.isInteger(snap.seq)) return;
    const onConnect = !S.snapshotThisConnection;
    S.snapshotThisConnection = true;
    // Each connection re-reads the server's clock before judging any call's age.
    const clockRead = onConnect ? kit.syncClock() : Promise.resolve();
    setSideData(snap);
    if (S.baseline && onConnect && snap.seq >= S.lastSeq) {
      // Back after an outage: the calls missed come back through resync, in order,
      // each voiced if it is still fresh.
      if (snap.seq > S.lastSeq) clockRead.then(askResync, askResync);
      render(false);
      return;
    }
    // First load, a resync too large to replay, or a server whose history went back.
    const previous = S.lastSeq;
    const reconnect = S.baseline;
    const calls = (snap.calls || []).slice().sort((a, b) => a.seq - b.seq);
    S.recent = [];
    S.current = null;
    for (const call of calls) {
      if (reconnect && call.seq > previous && kit.serverNow() - kit.parseTime(call.at) <= ANNOUNCE_MAX_AGE_MS) {
        call.arrivedAt = Date.now();
        announce(call);
      }
      pushRecent(call);
    }
    S.lastSeq = Math.max(snap.seq, ...calls.map((c) => c.seq), 0);
    S.baseline = true;
    for (const seq of Array.from(S.pending.keys())) if (seq <= S.lastSeq) S.pending.delete(seq);
    releasePending();
    render(true);
  }

  // A queue summary, unless a newer one is shown: a call's and a flush's summaries may
  // arrive out of order (the server numbers them).
  function takeQueue(body) {
    if (!body || !Array.isArray(body.services)) return false;
    if (Number.isInteger(body.version)) {
      if (body.version <= S.queueVersion) return false;
      S.queueVersion = body.version;
    }
    S.services = body.services;
    return true;
  }

  function onQueue(body) {
    if (takeQueue(body)) renderServices(true);
  }

  function setCounter(c) {
    if (!c || !Number.isInteger(c.number)) return false;
    if (S.zone !== null && c.zone !== null && c.zone !== S.zone) S.counters.delete(c.number);
    else S.counters.set(c.number, c);
    return true;
  }

  function renderTiles() {
    renderCounters(true);
    renderServices(true);
  }

  function onCounter(body) {
    if (setCounter(body && body.counter)) renderTiles();
  }

  function tick() {
    kit.renderClock();
    renderCounters(false);
    renderServices(false);
    if (!S.pending.size || S.gapSince === null) return;
    const now = Date.now();
    if (now - S.gapSince >= GAP_TIMEOUT_MS) {
      // The server never sent the missing calls: show the buffered ones, in order.
      const first = S.pending.get(Math.min(...S.pending.keys()));
      S.lastSeq = Math.max(S.lastSeq, prevOf(first));
      releasePending();
      if (S.pending.size) {
        S.gapSince = now;
        askResync();
      }
      render(true);
    } else if (now - (S.resyncAskedAt || S.gapSince) >= RESYNC_RETRY_MS) {
      askResync();
    }
  }

  // --- drawing -------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  function serviceName(code, fallback) {
    const s = S.services.find((x) => x.code === code);
    if (!s) return fallback || code || "";
    return kit.data.lang === "en" && s.name_en ? s.name_en : s.name_vi;
  }

  function renderCurrent(restartFlash) {
    const call = S.current;
    $("bd-none").hidden = !!call;
    $("bd-call").hidden = !call;
    const panel = $("bd-current");
    if (!call) {
      panel.classList.remove("bd-flash");
      return;
    }
    $("bd-label").textContent = call.label;
    $("bd-counter").textContent = text("board.call.counter", { number: call.counter });
    $("bd-service").textContent = serviceName(call.service, call.service_name);
    let extra = call.counter_name || "";
    const plain = [String(call.counter), text("board.call.counter", { number: call.counter }), "Quầy " + call.counter, "Counter " + call.counter];
    if (plain.includes(extra)) extra = "";
    if (call.recall) extra = extra ? text("board.call.recall") + " · " + extra : text("board.call.recall");
    $("bd-extra").textContent = extra;
    kit.fit($("bd-label"), 220, 60);
    kit.fit($("bd-counter"), 190, 60);
    const age = call.arrivedAt ? Date.now() - call.arrivedAt : Infinity;
    if (restartFlash && age < FLASH_MS) {
      panel.classList.remove("bd-flash");
      void panel.offsetWidth; // restart the animation for the new call
      panel.classList.add("bd-flash");
    } else if (age >= FLASH_MS) {
      panel.classList.remove("bd-flash");
    }
  }

  function renderRecent() {
    const list = $("bd-recent");
    list.replaceChildren(...S.recent.filter((c) => c !== S.current).slice(0, RECENT_ROWS).map((c) =>
      el("li", { class: "bd-recent-row" },
        el("span", { class: "bd-recent-label", text: c.label }),
        el("span", { class: "bd-recent-counter", text: text("board.recent.row_counter", { number: c.counter }) }))));
  }

  function pageOf(items, perPage, kind, force) {
    const pages = Math.max(1, Math.ceil(items.length / perPage));
    const index = Math.floor(kit.serverNow() / PAGE_MS) % pages;
    if (!force && index === S.pages[kind]) return null;
    S.pages[kind] = index;
    $("bd-" + kind + "-pager").textContent = pages > 1 ? text("board.page", { page: index + 1, pages }) : "";
    return items.slice(index * perPage, (index + 1) * perPage);
  }

  function pauseReason(c) {
    if (!c.pause_reason) return "";
    const key = "board.pause." + c.pause_reason;
    return key in kit.data.texts ? text(key) : c.pause_reason;
  }

  function renderCounters(force) {
    const shown = Array.from(S.counters.values()).filter((c) => c.state !== "closed").sort((a, b) => a.number - b.number);
    const page = pageOf(shown, COUNTERS_PER_PAGE, "counters", force);
    if (page === null) return;
    const list = $("bd-counters");
    list.classList.toggle("bd-two-cols", shown.length > 5);
    list.replaceChildren(...page.map((c) => {
      const paused = c.state === "paused";
      const status = paused
        ? el("span", { class: "bd-tile-paused", text: text("board.counters.paused") })
        : c.serving
          ? el("span", { class: "bd-tile-serving", text: c.serving.label })
          : el("span", { class: "bd-tile-free", text: text("board.counters.free") });
      // Second line: what the counter serves, or why it is paused.
      const detail = paused && pauseReason(c)
        ? el("span", { class: "bd-tile-reason", text: pauseReason(c) })
        : el("span", { class: "bd-tile-services", text: (c.services || []).map((code) => serviceName(code, code)).join(" · ") });
      return el("li", { class: "bd-tile" + (paused ? " bd-tile-is-paused" : ""), "data-counter": String(c.number) },
        el("span", { class: "bd-tile-name", text: text("board.call.counter", { number: c.number }) }),
        status,
        detail);
    }));
  }

  function zoneServices() {
    if (S.zone === null) return S.services;
    const codes = new Set();
    for (const c of S.counters.values()) for (const code of c.services || []) codes.add(code);
    return codes.size ? S.services.filter((s) => codes.has(s.code)) : S.services;
  }

  function renderServices(force) {
    const page = pageOf(zoneServices(), SERVICES_PER_PAGE, "services", force);
    if (page === null) return;
    $("bd-services").replaceChildren(...page.map((s) => {
      const name = kit.data.lang === "en" && s.name_en ? s.name_en : s.name_vi;
      const line = s.open
        ? [el("span", { class: "bd-svc-waiting", text: text("board.services.waiting", { count: s.waiting }) }),
          s.waiting && s.estimated_wait_min
            ? el("span", { class: "bd-svc-estimate", text: text("board.services.estimate", { minutes: s.estimated_wait_min }) })
            : ""]
        : [el("span", { class: "bd-svc-closed", text: text("board.services.closed") })];
      return el("li", { class: "bd-svc" + (s.open ? "" : " bd-svc-is-closed"), "data-service": s.code },
        el("span", { class: "bd-svc-name", text: name }),
        el("span", { class: "bd-svc-line" }, ...line));
    }));
  }

  let noticeShown = null;
  function renderNotice() {
    const notice = S.notice.split(/\s+/).join(" ").trim();
    if (notice === noticeShown) return;
    noticeShown = notice;
    const span = $("bd-notice-text");
    span.textContent = notice;
    const distance = span.offsetWidth + $("bd-notice").clientWidth;
    span.style.animationDuration = Math.max(10, distance / NOTICE_SPEED_PX_S) + "s";
  }

  let centerFitted = null;
  function render(restartFlash) {
    if (S.center !== centerFitted) {
      centerFitted = S.center;
      $("bd-center").textContent = S.center;
      kit.fit($("bd-center"), 46, 26);
    }
    renderCurrent(restartFlash);
    renderRecent();
    renderCounters(true);
    renderServices(true);
    renderNotice();
  }

  // --- connection ----------------------------------------------------------------------
  const socket = window.motcua.socket("/display");
  window.motcuaBoard = {
    state: S, audioLog: sound.log, announced: sound.announced, queue: sound.queue, socket,
  };

  // socket.io delivers the events that arrived with the connection (the snapshot)
  // before "connect" fires, so the per-connection flag is reset on "disconnect".
  socket.on("connect", () => {
    S.connected = true;
    kit.setOffline(false);
  });
  socket.on("disconnect", () => {
    S.connected = false;
    S.snapshotThisConnection = false;
    kit.setOffline(true);
  });
  socket.on("connect_error", () => {
    S.connected = false;
    kit.setOffline(true);
    kit.retryRefused(socket);
  });
  socket.on("snapshot", onSnapshot);
  socket.on("call", onCall);
  socket.on("queue", onQueue);
  socket.on("counter", onCounter);

  kit.keepStageFitted($("bd-board"));
  kit.renderClock();
  kit.setOffline(true);
  render(false);
  if (document.fonts && document.fonts.ready) {
    // Text is measured to fit its box: measure again with the bundled font loaded.
    document.fonts.ready.then(() => {
      centerFitted = null;
      noticeShown = null;
      render(false);
    });
  }
  setInterval(tick, 1000);
})();
