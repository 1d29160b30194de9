/* The kiosk page: take a number with one touch (or two, with a priority class).
   State lives here; the server sends live counts (`queue`), the printer's state
   (`printer`) and each ticket's print outcome (`print_status`) on /kiosk. */
(function () {
  "use strict";
  const M = window.motcua;
  const data = JSON.parse(document.getElementById("kiosk-data").textContent);
  const $ = (id) => document.getElementById(id);

  const state = {
    lang: "vi",
    priority: null, // code of the chosen priority class, or null
    services: data.services,
    busy: false,
    screen: "start",
    revoked: false,
    socketUp: true,
    printer: { printer: null, agent: true },
    current: null, // the ticket on the confirmation screen
    statuses: new Map(), // job_id → print_status (may arrive before the HTTP answer)
    skew: Date.parse(data.server_now) - Date.now(),
  };
  const timers = { idle: 0, confirm: 0, countdown: 0, print: 0, toast: 0, banner: 0 };
  const DONE_LOCK_MS = 800; // a double tap on a tile must not also press "Xong"

  // --- text ------------------------------------------------------------------------------
  function tr(key, params) {
    const texts = data.texts[state.lang] || data.texts.vi;
    const s = texts["kiosk." + key] || data.texts.vi["kiosk." + key] || key;
    return params ? M.fmt(s, params) : s;
  }
  function counted(base, n) {
    if (n === 0) return tr(base + "_none");
    if (n === 1) return tr(base + "_one");
    return tr(base, { n });
  }
  function serviceName(s) {
    return (state.lang === "en" && s.name_en) || s.name_vi;
  }
  function priorityName(code) {
    const p = data.priorities.find((x) => x.code === code);
    return p ? (state.lang === "en" ? p.en : p.vi) : code;
  }
  function hhmm(text) {
    return text.replace(/^0(\d)/, "$1");
  }
  function hoursText(hours) {
    const sessions = (hours && hours.sessions) || [];
    const split = sessions.length > 1;
    const parts = sessions.map(([a, b]) => {
      const key = !split ? "session" : parseInt(a, 10) < 12 ? "session_morning" : "session_afternoon";
      // one session never breaks across lines ("sáng 7:00–11:30" stays together)
      return tr(key, { from: hhmm(a), to: hhmm(b) }).replace(/ /g, "\u00a0").replace(/–/g, "\u2060–\u2060");
    });
    return tr("hours", { hours: parts.join(", ") });
  }
  function centerNow() {
    // the center's wall clock, from the server's time (the kiosk PC's clock may be off)
    return new Date(Date.now() + state.skew + data.utc_offset_min * 60000);
  }
  function localOf(iso) {
    return new Date(Date.parse(iso) + data.utc_offset_min * 60000);
  }
  const pad2 = (n) => String(n).padStart(2, "0");

  // --- screens -----------------------------------------------------------------------------
  function show(screen) {
    state.screen = screen;
    for (const name of ["start", "priority", "confirm", "revoked"]) {
      $("screen-" + name).hidden = name !== screen;
    }
  }

  function renderStatic() {
    document.documentElement.lang = state.lang;
    $("center-name").textContent = data.center[state.lang] || data.center.vi;
    $("lang").textContent = tr("lang_switch");
    $("priority-name").textContent = tr("priority_button");
    $("priority-hint").textContent = tr("priority_hint");
    $("priority-cancel").textContent = tr("back");
    $("scan-hint").textContent = tr("scan_hint");
    $("priority-back").textContent = tr("back");
    $("priority-title").textContent = tr("priority_title");
    $("c-your").textContent = tr("your_number");
    $("c-done").textContent = tr("done");
    $("r-title").textContent = tr("revoked_title");
    $("r-body").textContent = tr("revoked_body");
    // demo mode issues at any hour: said beside the office hours, as the board says it
    $("hours").textContent = hoursText(data.hours) + (data.demo ? " · " + tr("demo_mode") : "");
    const start = $("screen-start");
    start.classList.toggle("with-priority", !!state.priority);
    if (state.priority) {
      $("title").textContent = tr("priority_label", { name: priorityName(state.priority) });
      $("subtitle").textContent = tr("choose_service");
    } else {
      $("title").textContent = tr("title");
      $("subtitle").textContent = tr("choose_service");
    }
    $("priority-btn").hidden = !!state.priority;
    $("priority-cancel").hidden = !state.priority;
    renderTiles();
    renderClasses();
    renderClock();
    renderBanner();
    if (state.current) renderConfirm();
  }

  function gridShape(n, kind) {
    // Service tiles: 2 columns standing, 4 lying (8 services = 4×2 or 2×4 big tiles);
    // priority classes are few and long-named: one column standing, three lying.
    const landscape = window.innerWidth > window.innerHeight;
    let cols;
    if (kind === "classes") cols = landscape ? 3 : n <= 6 ? 1 : 2;
    else if (landscape) cols = n <= 3 ? n : n <= 8 ? 4 : n <= 10 ? 5 : 6;
    else cols = n <= 4 ? 1 : n <= 10 ? 2 : 3;
    cols = Math.max(1, Math.min(cols, n || 1));
    return { cols, rows: Math.max(1, Math.ceil(n / cols)) };
  }

  // --- service tiles -------------------------------------------------------------------------
  const tiles = new Map(); // code → button
  function tileFor(code) {
    let b = tiles.get(code);
    if (!b) {
      b = M.el("button", { class: "k-tile", type: "button", "data-code": code });
      b.setAttribute("role", "listitem");
      b.append(
        M.el("span", { class: "k-tile-name" }),
        M.el("span", { class: "k-tile-line k-tile-count" }),
        M.el("span", { class: "k-tile-line k-tile-wait" })
      );
      b.addEventListener("click", () => take(code));
      tiles.set(code, b);
    }
    return b;
  }

  function renderTiles() {
    const box = $("tiles");
    const list = state.services;
    const { cols, rows } = gridShape(list.length);
    box.style.setProperty("--cols", cols);
    box.style.setProperty("--rows", rows);
    // Smaller type when tiles are small (many services), so nothing is clipped.
    const cellH = (box.clientHeight || window.innerHeight * 0.6) / rows;
    const vmin = Math.min(window.innerWidth, window.innerHeight) / 100;
    box.style.setProperty("--name-size", Math.min(5, Math.max(2.6, cellH / vmin / 6)) + "vmin");
    box.style.setProperty("--line-size", Math.min(3, Math.max(1.8, cellH / vmin / 10)) + "vmin");
    const wanted = list.map((s) => s.code);
    for (const [code, b] of tiles) if (!wanted.includes(code)) { b.remove(); tiles.delete(code); }
    list.forEach((s, i) => {
      const b = tileFor(s.code);
      if (box.children[i] !== b) box.insertBefore(b, box.children[i] || null);
      const [name, count, wait] = b.children;
      name.textContent = serviceName(s);
      b.classList.toggle("closed", !s.open);
      b.setAttribute("aria-disabled", s.open ? "false" : "true");
      if (s.open) {
        count.className = "k-tile-line k-tile-count";
        count.textContent = counted("waiting", s.waiting);
        wait.textContent = counted("wait", s.estimated_wait_min);
      } else {
        count.className = "k-tile-state";
        const reopens = reopensToday(s);
        count.textContent =
          tr(s.closed_reason === "daily_cap_reached" ? "cap_reached" : "closed") +
          (reopens ? " · " + reopens : "");
        wait.textContent = hoursText(data.demo ? data.hours : s.hours);
      }
    });
  }

  function reopensToday(s) {
    if (s.closed_reason === "daily_cap_reached" || !s.next_open) return "";
    const at = localOf(s.next_open);
    const today = centerNow();
    if (at.getUTCDate() !== today.getUTCDate() || at.getUTCMonth() !== today.getUTCMonth()) return "";
    return tr("reopens", { time: at.getUTCHours() + ":" + pad2(at.getUTCMinutes()) });
  }

  // --- priority classes -------------------------------------------------------------------
  function renderClasses() {
    const box = $("classes");
    const { cols, rows } = gridShape(data.priorities.length, "classes");
    box.style.setProperty("--cols", cols);
    box.style.setProperty("--rows", rows);
    box.replaceChildren(
      ...data.priorities.map((p) => {
        const b = M.el("button", { class: "k-class", type: "button", text: priorityName(p.code) });
        b.setAttribute("role", "listitem");
        b.setAttribute("data-code", p.code);
        b.addEventListener("click", () => {
          state.priority = p.code;
          show("start");
          renderStatic();
        });
        return b;
      })
    );
  }

  // --- taking a number ----------------------------------------------------------------------
  async function take(code) {
    const s = state.services.find((x) => x.code === code);
    if (state.busy || state.revoked || state.screen !== "start" || !s || !s.open) return;
    state.busy = true; // set before anything async: a second tap does nothing
    const tile = tiles.get(code);
    $("tiles").classList.add("busy");
    tile.classList.add("busy");
    const count = tile.children[1];
    count.textContent = tr("issuing");
    let res;
    try {
      res = await M.api("POST", "/tickets", {
        service: code,
        priority: state.priority || "normal",
        lang: state.lang,
      });
    } finally {
      state.busy = false;
      $("tiles").classList.remove("busy");
      tile.classList.remove("busy");
    }
    if (res.ok) {
      showConfirm(res.data);
      return;
    }
    const err = res.error || {};
    if (err.code === "csrf_failed") {
      window.location.reload();
    } else if (res.status === 401 || res.status === 403) {
      showRevoked();
    } else if (res.status === 409) {
      toast(tr(err.code === "service_closed" ? "error_closed" : "error_cap"));
      refreshServices();
    } else if (res.status === 429) {
      toast(tr("error_busy"));
    } else if (res.status === 0) {
      toast(tr("error_offline"));
    } else {
      toast(tr("error_generic"));
    }
    renderTiles();
  }

  // --- check-in of a number taken from home ------------------------------------------------
  // A USB QR scanner types what it reads as keys, then Enter: the ticket's tracking URL
  // (from the phone) or the CCCD chip card's `id|old id|name|…`.  Keys more than a
  // second apart start a new scan.
  const scan = { text: "", at: 0 };
  document.addEventListener("keydown", (e) => {
    const now = Date.now();
    if (now - scan.at > 1000) scan.text = "";
    scan.at = now;
    if (e.key === "Enter") {
      const text = scan.text;
      scan.text = "";
      if (text.length >= 8) {
        e.preventDefault();
        checkIn(text);
      }
    } else if (e.key.length === 1 && scan.text.length < 1000) {
      scan.text += e.key;
    }
  });

  async function checkIn(text) {
    if (state.busy || state.revoked) return;
    state.busy = true;
    let res;
    try {
      res = await M.api("POST", "/kiosk/check-in", { scan: text, lang: state.lang });
    } finally {
      state.busy = false;
    }
    if (res.ok && res.data.tickets.length) {
      showConfirm(res.data.tickets[0]);
      const more = res.data.tickets.slice(1).map((t) => t.label);
      if (more.length) toast(tr("checked_in_more", { labels: more.join(", ") }));
      return;
    }
    if (res.status === 401 || res.status === 403) showRevoked();
    else if (res.status === 0) toast(tr("error_offline"));
    else toast((res.error && res.error.message) || tr("error_generic"));
  }

  async function refreshServices() {
    const res = await M.api("GET", "/services");
    if (res.ok) {
      state.services = res.data.services;
      if (!state.busy) renderTiles();
    }
  }

  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(timers.toast);
    timers.toast = setTimeout(() => (t.hidden = true), 6000);
  }

  // --- confirmation -------------------------------------------------------------------------
  function showConfirm(ticket) {
    const job = ticket.print || null;
    state.current = { ticket, job, print: "printing", fault: null, shownAt: Date.now() };
    $("toast").hidden = true;
    show("confirm");
    if (!job || job.status === "queued" || !job.agent) {
      setPrint("fault", "printer_offline");
    } else if (state.statuses.has(job.job_id)) {
      applyStatus(state.statuses.get(job.job_id));
    } else {
      timers.print = setTimeout(() => {
        if (state.current && state.current.print === "printing") setPrint("fault", "print_timeout");
      }, data.print_timeout_s * 1000);
    }
    renderConfirm();
    startCountdown(state.current.print === "fault" ? data.fault_confirm_s : data.confirm_s);
  }

  function setPrint(kind, fault) {
    const c = state.current;
    if (!c) return;
    const wasFault = c.print === "fault";
    c.print = kind;
    c.fault = fault || null;
    if (kind !== "printing") clearTimeout(timers.print);
    renderConfirm();
    if (kind === "fault" && !wasFault) startCountdown(data.fault_confirm_s);
  }

  function applyStatus(msg) {
    if (msg.ok) setPrint("printed");
    else setPrint("fault", msg.printer === "paper_out" ? "paper_out" : "printer_offline");
  }

  function renderConfirm() {
    const c = state.current;
    if (!c) return;
    const t = c.ticket;
    $("c-number").textContent = t.label;
    const long = t.label.length > 5;
    $("c-number").style.setProperty("--number-size", (long ? 20 : 26) + "vmin");
    $("c-number").style.setProperty("--number-size-portrait", (long ? 22 : 30) + "vmin");
    $("c-service").textContent = (state.lang === "en" && t.service_name_en) || t.service_name_vi;
    const prio = $("c-priority");
    prio.hidden = !t.priority || t.priority === "normal";
    prio.textContent = prio.hidden ? "" : tr("priority_label", { name: priorityName(t.priority) });
    $("c-ahead").textContent = counted("ahead", t.people_ahead);
    $("c-wait").textContent = counted("wait", t.estimated_wait_min);
    const box = $("c-print");
    box.dataset.state = c.print;
    $("screen-confirm").classList.toggle("fault", c.print === "fault");
    $("c-print-msg").textContent = c.print === "fault" ? tr(c.fault) : tr(c.print);
    $("c-print-keep").hidden = c.print !== "fault";
    $("c-print-keep").textContent = tr("keep_place");
  }

  function startCountdown(seconds) {
    clearTimeout(timers.confirm);
    clearInterval(timers.countdown);
    const end = Date.now() + seconds * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      $("c-countdown").textContent = tr("returning", { n: left });
    };
    tick();
    timers.countdown = setInterval(tick, 250);
    timers.confirm = setTimeout(backToStart, seconds * 1000);
  }

  function backToStart() {
    clearTimeout(timers.confirm);
    clearTimeout(timers.print);
    clearInterval(timers.countdown);
    state.current = null;
    state.priority = null;
    state.lang = "vi"; // the next citizen starts in Vietnamese
    if (!state.revoked) show("start");
    renderStatic();
  }

  function showRevoked() {
    state.revoked = true;
    state.current = null;
    clearTimeout(timers.confirm);
    clearInterval(timers.countdown);
    show("revoked");
    renderStatic();
  }

  // --- clock, banner, idle ------------------------------------------------------------------
  function renderClock() {
    const d = centerNow();
    $("clock-time").textContent = pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes());
    const day = tr("weekdays").split(",")[d.getUTCDay()] || "";
    $("clock-date").textContent =
      day + ", " + pad2(d.getUTCDate()) + "/" + pad2(d.getUTCMonth() + 1) + "/" + d.getUTCFullYear();
  }

  function printerProblem() {
    const p = state.printer;
    return !p.agent || p.printer === "paper_out" || p.printer === "offline";
  }

  function currentProblem() {
    if (state.revoked) return null;
    if (!state.socketUp) return "offline";
    return printerProblem() ? "printer" : null;
  }

  function renderBanner() {
    // Shown only when a problem lasts: an agent restarting for a second is not news.
    const b = $("banner");
    const fill = (problem) => {
      b.textContent = tr(problem === "offline" ? "offline_banner" : "printer_banner");
      b.classList.toggle("offline", problem === "offline");
      b.hidden = false;
    };
    const problem = currentProblem();
    if (!problem) {
      clearTimeout(timers.banner);
      timers.banner = 0;
      b.hidden = true;
    } else if (!b.hidden) {
      fill(problem);
    } else if (!timers.banner) {
      timers.banner = setTimeout(() => {
        timers.banner = 0;
        const now = currentProblem();
        if (now) fill(now);
      }, 3000);
    }
  }

  function resetIdle() {
    clearTimeout(timers.idle);
    timers.idle = setTimeout(() => {
      if (state.screen === "confirm" || state.revoked) return;
      if (state.lang !== "vi" || state.priority || state.screen !== "start") backToStart();
    }, data.idle_s * 1000);
  }

  // --- wiring ------------------------------------------------------------------------------
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "vi" ? "en" : "vi";
    renderStatic();
  });
  $("priority-btn").addEventListener("click", () => {
    if (!state.revoked) show("priority");
  });
  $("priority-back").addEventListener("click", () => show("start"));
  $("priority-cancel").addEventListener("click", () => {
    state.priority = null;
    renderStatic();
  });
  $("c-done").addEventListener("click", () => {
    if (state.current && Date.now() - state.current.shownAt >= DONE_LOCK_MS) backToStart();
  });
  $("toast").addEventListener("click", () => ($("toast").hidden = true));
  document.addEventListener("pointerdown", resetIdle, { passive: true });
  document.addEventListener("contextmenu", (e) => e.preventDefault());
  window.addEventListener("resize", () => { renderTiles(); renderClasses(); });

  const sock = M.socket("/kiosk");
  sock.on("connect", () => {
    state.socketUp = true;
    renderBanner();
  });
  sock.on("disconnect", (reason) => {
    state.socketUp = false;
    renderBanner();
    // the server dropped us (e.g. the device was revoked): ask again, to learn why
    if (reason === "io server disconnect") setTimeout(() => sock.connect(), 1000);
  });
  sock.on("connect_error", (err) => {
    if (err && err.message === "unauthorized") showRevoked();
  });
  sock.on("queue", (msg) => {
    if (msg && Array.isArray(msg.services)) {
      state.services = msg.services;
      if (!state.busy) renderTiles();
    }
  });
  sock.on("printer", (msg) => {
    state.printer = msg || { printer: null, agent: false };
    renderBanner();
  });
  sock.on("print_status", (msg) => {
    if (!msg || !msg.job_id) return;
    state.statuses.set(msg.job_id, msg);
    if (state.statuses.size > 50) state.statuses.delete(state.statuses.keys().next().value);
    const c = state.current;
    if (c && c.job && c.job.job_id === msg.job_id) applyStatus(msg);
  });

  renderStatic();
  setInterval(renderClock, 1000);
  // Opening hours open and close services without any queue movement: look again
  // every half minute so tiles grey out at 11:30 and light up at 13:30 by themselves.
  setInterval(() => {
    if (!state.busy && !state.revoked) refreshServices();
  }, 30000);
  resetIdle();
})();
