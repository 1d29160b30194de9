/* The hall board in a browser (smart TVs): the same data, order rules and sounds as
   the pygame board (display/state.py, display/audio.py).

   Order: every call carries its seq and the seq of the call before it on this board's
   stream (prev_seq).  A call whose prev_seq is ahead of what the board has seen waits
   in a buffer while the board asks the server to replay the missing ones (`resync`);
   after a reconnect the board asks for everything after the last call it showed.  So a
   call is never shown twice, never out of order, and never lost to a network blip.
   Sound: chime then voice, one announcement at a time, none dropped; a recall is a new
   call and plays again; after an outage only calls of the last minute are voiced (the
   others just appear in the list).  TVs that block autoplay get a one-time button.
   The drawing (main call, marked recent calls, paged columns) is in board_view.js. */
(function () {
  "use strict";
  const kit = window.motcuaBoardKit;
  const el = window.motcua.el;
  const text = kit.text;

  const ANNOUNCE_MAX_AGE_MS = 60000;
  const RESYNC_RETRY_MS = 5000;
  const GAP_TIMEOUT_MS = 30000;
  const RECENT_MAX = 8;
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
  };
  const view = window.motcuaBoardView.create(S);

  // --- sounds ------------------------------------------------------------------------
  const sound = window.motcuaBoardAudio.createAnnouncer({
    chime: document.getElementById("bd-chime"),
    button: document.getElementById("bd-sound"),
    maxAgeMs: ANNOUNCE_MAX_AGE_MS,
    now: kit.serverNow,
    // how each announcement went, for the supervisor's device list (issue 16.4)
    report: (id, status, detail) => {
      const socket = window.motcuaBoard && window.motcuaBoard.socket;
      if (socket && socket.connected) socket.emit("sound_status", { status, detail: detail.slice(0, 200), announcement: id });
      else pendingReport = { status, detail: detail.slice(0, 200), announcement: id };
    },
  });
  let pendingReport = null; // the last outcome while offline, sent on connect

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
      else if (queues) view.renderServices();
      if (tile) renderCalls();
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
    if (takeQueue(body)) view.renderServices();
  }

  function setCounter(c) {
    if (!c || !Number.isInteger(c.number)) return false;
    if (S.zone !== null && c.zone !== null && c.zone !== S.zone) S.counters.delete(c.number);
    else S.counters.set(c.number, c);
    return true;
  }

  function onCounter(body) {
    if (setCounter(body && body.counter)) {
      renderTiles();
      renderCalls(); // a counter that paused or moved on ends its call
    }
  }

  // A called ticket moved on (no-show, finished, transferred, or the citizen came).
  function onCallState(body) {
    if (!body || !Number.isInteger(body.seq) || typeof body.state !== "string") return;
    const mark = (c) => (c.seq === body.seq ? Object.assign({}, c, { state: body.state }) : c);
    S.recent = S.recent.map(mark);
    if (S.current) S.current = mark(S.current);
    if (S.pending.has(body.seq)) S.pending.set(body.seq, mark(S.pending.get(body.seq)));
    renderCalls();
  }

  function tick() {
    kit.renderClock();
    view.tick();
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

  // --- drawing (board_view.js) -----------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  function renderTiles() {
    view.renderCounters();
    view.renderServices();
  }

  function renderCalls() {
    view.renderCurrent(false);
    view.renderRecent();
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
      kit.fit($("bd-center"), 44, 40);
    }
    view.renderCurrent(restartFlash);
    view.renderRecent();
    renderTiles();
    renderNotice();
  }

  // --- connection ----------------------------------------------------------------------
  const socket = window.motcua.socket("/display");
  window.motcuaBoard = {
    state: S, audioLog: sound.log, announced: sound.announced, queue: sound.queue, socket, view,
  };

  // socket.io delivers the events that arrived with the connection (the snapshot)
  // before "connect" fires, so the per-connection flag is reset on "disconnect".
  socket.on("connect", () => {
    S.connected = true;
    kit.setOffline(false);
    if (pendingReport) socket.emit("sound_status", pendingReport);
    pendingReport = null;
    sound.probe();
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
  socket.on("call_state", onCallState);
  // A supervisor's "Phát thử âm thanh": chime, then the test sentence, reported back.
  socket.on("sound_test", (test) => {
    if (test && typeof test.id === "string") sound.enqueue("test-" + test.id, test.audio_url, kit.serverNow());
  });

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
