/* The counter console.  Acts through the JSON API (session cookie + CSRF header, see
   common.js) and follows the counter over Socket.IO /counter: `counter` events carry the
   counter's state and the ticket at it, `queue` events the waiting counts.  Every tab and
   every colleague at the same counter converge on the same view without reloading. */
(function () {
  "use strict";
  const M = window.motcua;
  const root = document.getElementById("console");
  if (!root) return;
  const boot = JSON.parse(root.dataset.boot);
  const T = boot.text;
  const N = boot.counter;
  const $ = (id) => document.getElementById(id);
  const tr = (key, params) => M.fmt(T["staff." + key] || key, params || {});
  const serviceName = Object.fromEntries(boot.services.map((s) => [s.code, s.name]));

  let skew = Date.parse(boot.now) - Date.now();  // server clock minus ours
  let view = null;          // the counter as the server last described it
  let busy = false;         // an action is in flight
  let queueTimer = null, historyTimer = null;

  // --- messages ---------------------------------------------------------------------------
  const say = M.messageLine("msg", 6000, true);
  function explain(err) {
    const known = T["staff.error." + err.code];
    return known || err.message || tr("error.internal_error");
  }

  // --- the counter and its ticket ------------------------------------------------------------
  const since = (iso) => (iso ? M.clock(M.secondsSince(iso, skew)) : "");
  const minutesSince = (iso) => Math.floor(M.secondsSince(iso, skew) / 60);

  function render() {
    if (!view) return;
    const st = view.state, t = view.serving;
    const badge = $("state");
    badge.className = "badge state-" + st;
    badge.textContent = st === "paused"
      ? tr("state.paused_for", { reason: tr("reason." + view.pause_reason), minutes: minutesSince(view.state_since) })
      : tr("state." + st);
    const card = $("ticket");
    card.className = "ticket " + (t ? t.status : "idle") + (st !== "open" ? " stopped" : "");
    $("t-label").textContent = t ? t.label : "";
    $("t-unit").textContent = t ? tr("elapsed." + t.status) : "";
    $("t-service").textContent = t ? (serviceName[t.service] || t.service) : "";
    $("t-status").textContent = t ? tr("status." + t.status) : tr("status.idle");
    const left = t ? Math.max(0, boot.recall_limit - t.recall_count) : null;
    $("t-recalls").textContent = !t || t.status !== "called" ? ""
      : left > 0 ? tr("recalls_left", { n: left }) : tr("recalls_none");
    const banner = $("paused");
    banner.hidden = st === "open";
    banner.textContent = st === "paused" ? tr("status.paused_hint") : st === "closed" ? tr("status.closed_hint") : "";
    tick();
    const open = st === "open";
    const called = t && t.status === "called";
    const enable = {
      next: open, call: open,
      recall: open && called && left > 0,
      start: called, finish: !!t, no_show: !!t, transfer: !!t,
      pause: !open || !t,
    };
    document.querySelectorAll(".act").forEach((b) => { b.disabled = busy || !enable[b.dataset.act]; });
    const pause = $("btn-pause");
    pause.firstChild.textContent = open ? tr("action.pause") : tr("action.resume");
    pause.classList.toggle("primary", !open);
    $("btn-next").classList.toggle("primary", open);
  }

  function tick() {
    const t = view && view.serving;
    $("t-elapsed").textContent = t ? since(t.started_at || t.called_at) : "";
    if (view && view.state === "paused") {
      $("state").textContent = tr("state.paused_for", { reason: tr("reason." + view.pause_reason), minutes: minutesSince(view.state_since) });
    }
  }
  setInterval(tick, 1000);

  function applyCounter(c) {
    const before = view;
    view = c;
    render();
    const moved = !before || before.state !== c.state ||
      (before.serving && before.serving.id) !== (c.serving && c.serving.id) ||
      (before.serving && before.serving.status) !== (c.serving && c.serving.status);
    if (moved) { scheduleHistory(); scheduleQueue(); }
  }

  // --- queue and history --------------------------------------------------------------------
  function scheduleQueue() { clearTimeout(queueTimer); queueTimer = setTimeout(loadQueue, 200); }
  function scheduleHistory() { clearTimeout(historyTimer); historyTimer = setTimeout(loadHistory, 200); }

  async function loadQueue() {
    const r = await M.api("GET", `/counters/${N}/queue`);
    if (!r.ok) { if (r.status === 401) sessionEnded(); return; }
    const q = r.data;
    skew = Date.parse(q.now) - Date.now();
    if (!busy) { view = q.counter; render(); }
    renderCounts(q.services);
    const body = $("q-list");
    body.replaceChildren(...q.waiting.map((w) => {
      const tags = [];
      if (w.priority_name) tags.push(M.el("span", { class: "tag prio", text: w.priority_name }));
      if (w.for_this_counter) tags.push(M.el("span", { class: "tag", text: tr("for_this_counter") }));
      else if (w.transferred_from) tags.push(M.el("span", { class: "tag", text: tr("transferred_from", { service: serviceName[w.transferred_from] || w.transferred_from }) }));
      let call;
      if (w.remote_pending) {
        // taken from home and not here yet: "call next" passes it over until check-in
        tags.push(M.el("span", { class: "tag", text: tr("remote_pending") }));
        call = M.el("button", { type: "button", class: "small check-in", text: tr("check_in"), title: tr("check_in") + " " + w.label });
        call.addEventListener("click", async () => {
          const r = await M.api("POST", `/tickets/${w.id}/check-in`);
          $("msg").textContent = r.ok ? tr("checked_in", { label: w.label }) : ((r.data && r.data.error && r.data.error.message) || "");
          loadQueue();
        });
      } else {
        call = M.el("button", { type: "button", class: "small", text: tr("call_this"), title: tr("action.call") + " " + w.label });
        call.addEventListener("click", () => act("call_label", { label: w.label }));
        call.disabled = busy || !view || view.state !== "open";
      }
      return M.el("tr", { class: w.priority !== "normal" ? "prio" : "" },
        M.el("td", { class: "lbl", text: w.label }),
        M.el("td", { class: "svc" }, w.service_name, ...tags),
        M.el("td", { class: "wait", text: tr("waited", { minutes: w.waited_min }) }),
        M.el("td", { class: "go" }, call));
    }));
    if (q.more) body.append(M.el("tr", {}, M.el("td", { colspan: 4, class: "muted", text: tr("more_waiting") })));
    $("q-empty").hidden = q.waiting.length > 0;
  }

  function renderCounts(services) {
    const mine = view ? view.services : services.map((s) => s.code);
    const list = services.filter((s) => mine.includes(s.code));
    $("q-services").replaceChildren(...list.map((s) => M.el("li", { "data-code": s.code },
      M.el("span", { class: "n", text: s.waiting }),
      M.el("span", { class: "name", text: s.name_vi }),
      s.longest_wait_min != null && s.waiting ? M.el("span", { class: "lw", text: tr("longest_wait", { minutes: s.longest_wait_min }) }) : "")));
    const total = list.reduce((a, s) => a + s.waiting, 0);
    $("q-total").textContent = tr("waiting_total", { n: total });
  }

  async function loadHistory() {
    const r = await M.api("GET", `/counters/${N}/history`);
    if (!r.ok) return;
    const items = r.data.history;
    const today = r.data.today;
    $("today").textContent = tr("today", { done: today.finish, no_show: today.no_show, transfer: today.transfer }) +
      (today.avg_min != null ? tr("today_avg", { minutes: Math.round(today.avg_min) }) : "");
    $("history").replaceChildren(...items.map((h) => {
      const bits = [M.el("span", { class: "lbl", text: h.label }), M.el("span", { class: "res r-" + h.action, text: tr("result." + h.action) })];
      if (h.action === "transfer") {
        bits.push(M.el("span", { text: h.to_counter ? tr("result.to_counter", { counter: h.to_counter }) : tr("result.to_service", { service: serviceName[h.to_service] || h.to_service }) }));
      }
      bits.push(M.el("span", { class: "muted", text: h.service_name }));
      if (h.minutes != null) bits.push(M.el("span", { class: "muted", text: tr("result.minutes", { minutes: h.minutes }) }));
      bits.push(M.el("time", { class: "muted", text: new Date(h.at).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" }) }));
      if (h.dossiers.length) bits.push(M.el("span", { class: "dossier", text: tr("result.dossiers", { codes: h.dossiers.join(", ") }) }));
      return M.el("li", {}, ...bits);
    }));
    $("h-total").textContent = today.finish + today.no_show + today.transfer ? String(today.finish + today.no_show + today.transfer) : "";
    $("h-empty").hidden = items.length > 0;
  }

  // --- actions ---------------------------------------------------------------------------------
  const current = () => view && view.serving;

  async function act(kind, extra) {
    if (busy) return;
    const t = current();
    const routes = {
      next: ["POST", `/counters/${N}/next`],
      recall: ["POST", `/counters/${N}/recall`],
      call_label: ["POST", `/counters/${N}/call`, { label: extra && extra.label }],
      start: t && ["POST", `/tickets/${t.id}/start`],
      finish: t && ["POST", `/tickets/${t.id}/finish`, { dossiers: (extra && extra.dossiers) || [] }],
      no_show: t && ["POST", `/tickets/${t.id}/no-show`],
      transfer: t && ["POST", `/tickets/${t.id}/transfer`, extra],
      pause: ["POST", `/counters/${N}/pause`, { reason: extra && extra.reason }],
      resume: ["POST", `/counters/${N}/resume`],
    };
    const route = routes[kind];
    if (!route) return;
    busy = true; render();
    const r = await M.api(route[0], route[1], route[2]);
    busy = false;
    if (!r.ok) {
      render();
      if (r.status === 401) { sessionEnded(); return; }
      say(explain(r.error), "error");
      return;
    }
    const d = r.data || {};
    const label = (d.ticket && d.ticket.label) || (t && t.label) || (extra && extra.label) || "";
    if (kind === "next" && r.status === 204) say(tr("done.nobody"), "info");
    else say(tr("done." + (kind === "call_label" ? "next" : kind), { label }), "ok");
    if (d.counter) view = d.counter;
    else if (kind === "next" || kind === "recall" || kind === "call_label") {
      if (d.ticket) view = Object.assign({}, view, { serving: { id: d.ticket.id, label: d.ticket.label, status: d.ticket.status, service: d.ticket.queue_service, called_at: d.ticket.called_at, started_at: d.ticket.started_at, recall_count: d.ticket.recall_count } });
      else view = Object.assign({}, view, { serving: null });
    } else if (kind === "start" && d.ticket) {
      view = Object.assign({}, view, { serving: Object.assign({}, view.serving, { status: d.ticket.status, started_at: d.ticket.started_at }) });
    } else if (kind === "finish" || kind === "no_show" || kind === "transfer") {
      view = Object.assign({}, view, { serving: null });
    }
    render();
    scheduleQueue(); scheduleHistory();
  }

  // --- dialogs ---------------------------------------------------------------------------------
  const anyDialogOpen = () => !!document.querySelector("dialog[open]");
  function openDialog(id, focus) {
    const d = $(id);
    d.showModal();
    if (focus) { const f = $(focus); f.value = ""; f.focus(); }
  }
  document.querySelectorAll("dialog [data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));

  $("form-call").addEventListener("submit", (e) => {
    const label = $("call-label").value.trim();
    if (!label) { e.preventDefault(); say(tr("error.need_label"), "error"); return; }
    act("call_label", { label });
  });

  let dossiers = [];
  function renderDossiers() {
    $("dossier-list").replaceChildren(...dossiers.map((code, i) => {
      const x = M.el("button", { type: "button", class: "x", text: "×", title: "Bỏ" });
      x.addEventListener("click", () => { dossiers.splice(i, 1); renderDossiers(); $("dossier-input").focus(); });
      return M.el("li", {}, M.el("code", { text: code }), x);
    }));
  }
  function addDossier(raw) {
    const code = raw.trim().replace(/\s+/g, " ").toUpperCase();
    if (code && !dossiers.includes(code)) dossiers.push(code);
    renderDossiers();
  }
  $("dossier-input").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const input = e.target;
    if (input.value.trim()) {  // a scanner ends each code with Enter: add, do not submit
      e.preventDefault();
      addDossier(input.value);
      input.value = "";
    }
  });
  $("form-finish").addEventListener("submit", () => {
    const rest = $("dossier-input").value;
    if (rest.trim()) addDossier(rest);
    act("finish", { dossiers: dossiers.slice() });
  });
  function openFinish() {
    const t = current(); if (!t) return;
    dossiers = []; renderDossiers();
    $("finish-label").textContent = t.label;
    openDialog("dlg-finish", "dossier-input");
  }

  // Transfer: nothing chosen when the dialog opens, then two steps — choose, confirm.
  const transferTarget = () => {
    const svc = $("transfer-service"), ctr = $("transfer-counter");
    if (svc.value) return { body: { service: svc.value }, name: tr("transfer_to_service", { name: svc.selectedOptions[0].textContent }) };
    if (ctr.value) return { body: { counter: parseInt(ctr.value, 10) }, name: ctr.selectedOptions[0].textContent };
    return null;
  };
  let transferArmed = false;
  function syncTransfer() {
    const target = transferTarget();
    const label = $("transfer-label").textContent;
    $("transfer-ok").disabled = !target;
    $("transfer-ok").textContent = transferArmed ? tr("transfer_confirm") : tr("transfer_choose");
    $("transfer-summary").textContent = !target ? tr("error.need_target")
      : tr(transferArmed ? "transfer_sure" : "transfer_to", { label, target: target.name });
    $("transfer-summary").classList.toggle("armed", transferArmed);
  }
  ["transfer-service", "transfer-counter"].forEach((id) => $(id).addEventListener("change", () => {
    const other = $(id === "transfer-service" ? "transfer-counter" : "transfer-service");
    if ($(id).value) other.value = "";  // one target at a time
    transferArmed = false;
    syncTransfer();
  }));
  $("form-transfer").addEventListener("submit", (e) => {
    const target = transferTarget();
    if (!target) { e.preventDefault(); say(tr("error.need_target"), "error"); return; }
    if (!transferArmed) {  // first press: say where, and ask once more
      e.preventDefault();
      transferArmed = true;
      syncTransfer();
      $("transfer-ok").focus();
      return;
    }
    act("transfer", target.body);
  });
  function openTransfer() {
    const t = current(); if (!t) return;
    $("transfer-label").textContent = t.label;
    $("transfer-service").value = "";
    $("transfer-counter").value = "";
    transferArmed = false;
    syncTransfer();
    openDialog("dlg-transfer");
    $("transfer-service").focus();
  }

  // No-show: asked once more; the default button is "no, go back".
  $("form-noshow").addEventListener("submit", (e) => {
    if (e.submitter !== $("noshow-ok")) { e.preventDefault(); $("dlg-noshow").close(); return; }
    act("no_show");
  });
  function openNoShow() {
    const t = current(); if (!t) return;
    $("noshow-label").textContent = t.label;
    openDialog("dlg-noshow");
    $("noshow-cancel").focus();
  }

  document.querySelectorAll("#dlg-pause .reason").forEach((b) => b.addEventListener("click", () => {
    $("dlg-pause").close();
    act("pause", { reason: b.dataset.reason });
  }));
  $("dlg-pause").addEventListener("keydown", (e) => {
    const i = parseInt(e.key, 10);
    const buttons = document.querySelectorAll("#dlg-pause .reason");
    if (i >= 1 && i <= buttons.length) { e.preventDefault(); buttons[i - 1].click(); }
  });

  function press(name) {
    if (busy || !view) return;
    const open = view.state === "open";
    switch (name) {
      case "next": return act("next");
      case "recall": return act("recall");
      case "call": return open && openDialog("dlg-call", "call-label");
      case "start": return act("start");
      case "finish": return openFinish();
      case "no_show": return openNoShow();
      case "transfer": return openTransfer();
      case "pause": return open ? (!current() && openDialog("dlg-pause")) : act("resume");
    }
  }
  document.querySelectorAll(".act").forEach((b) => b.addEventListener("click", () => press(b.dataset.act)));

  const KEYS = { KeyN: "next", KeyL: "recall", KeyS: "call", KeyB: "start", KeyH: "finish", KeyV: "no_show", KeyC: "transfer", KeyT: "pause" };
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.repeat || anyDialogOpen()) return;
    const tag = (e.target && e.target.tagName) || "";
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag) || (e.target && e.target.isContentEditable)) return;
    const name = KEYS[e.code];
    if (!name) return;
    const btn = document.querySelector(`.act[data-act="${name}"]`);
    if (btn && btn.disabled) return;
    e.preventDefault();
    press(name);
  });

  // --- live ------------------------------------------------------------------------------------
  let ended = false;
  function sessionEnded() {
    ended = true;
    say(tr("conn.ended"), "error");
    const c = $("conn"); c.className = "conn off"; c.textContent = tr("conn.ended");
    document.querySelectorAll(".act").forEach((b) => { b.disabled = true; });
    const msg = $("msg");
    msg.append(" ", M.el("a", { href: "/login?next=" + encodeURIComponent(location.pathname), text: "Đăng nhập" }));
  }

  const socket = M.socket("/counter");
  socket.on("connect", () => {
    const c = $("conn"); c.className = "conn on"; c.textContent = tr("conn.online");
    socket.emit("join", { counter: N }, (ack) => {
      if (ack && ack.ok) { applyCounter(ack.counter); loadQueue(); loadHistory(); }
      else say((ack && ack.error && ack.error.message) || tr("error.unauthorized"), "error");
    });
  });
  socket.on("disconnect", (reason) => {
    if (ended) return;
    const c = $("conn"); c.className = "conn off"; c.textContent = tr("conn.offline");
    // The server drops sockets when a session or token is revoked: try again once; a
    // still-valid session reconnects, an ended one is refused (connect_error below).
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 500);
  });
  socket.on("connect_error", async () => {
    const r = await M.api("GET", `/counters/${N}/queue`);
    if (r.status === 401 || r.status === 403) { socket.disconnect(); sessionEnded(); }
  });
  socket.on("counter", (msg) => {
    if (!msg || !msg.counter) return;
    if (msg.counter.number === N) applyCounter(msg.counter);
    else scheduleQueue();  // a call elsewhere may have taken a ticket off our list
  });
  socket.on("queue", (msg) => {
    if (!msg || !msg.services || !view) return;
    const mine = msg.services.filter((s) => view.services.includes(s.code));
    if (mine.length) scheduleQueue();
  });

  render();
  loadQueue();
  loadHistory();
})();
