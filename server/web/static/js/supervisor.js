/* The supervisor's hall view.  GET /api/v1/hall gives the whole picture (who works
   where, longest waits, devices); Socket.IO /display pushes every counter change and
   queue count as it happens, so a pause anywhere in the hall shows here at once. */
(function () {
  "use strict";
  const M = window.motcua;
  const root = document.getElementById("hall");
  if (!root) return;
  const boot = JSON.parse(root.dataset.boot);
  const T = boot.text;
  const $ = (id) => document.getElementById(id);
  const tr = (key, params) => M.fmt(T["staff." + key] || key, params || {});
  const serviceName = Object.fromEntries(boot.services.map((s) => [s.code, s.name]));

  let skew = Date.parse(boot.now) - Date.now();
  const state = { counters: new Map(), services: [], devices: [], health: new Map() };
  let reloadTimer = null;

  const say = M.messageLine("msg", 8000, false);

  const now = () => Date.now() + skew;
  const clockText = (iso) => M.clock(M.secondsSince(iso, skew));
  const minutes = (iso) => Math.floor(M.secondsSince(iso, skew) / 60);

  // --- counters --------------------------------------------------------------------------------
  function cardFor(c) {
    const s = c.serving;
    const kind = c.state !== "open" ? c.state : s ? s.status : "idle";
    let line, timer = "", since = "", mode = "clock";
    if (c.state === "paused") {
      line = tr("reason." + c.pause_reason);
      since = c.state_since || ""; mode = "min";
    } else if (c.state === "closed") {
      line = tr("state.closed");
    } else if (s) {
      line = s.label + " · " + (serviceName[s.service] || s.service);
      since = s.started_at || s.called_at;
    } else {
      line = tr("hall.idle");
    }
    if (since) timer = mode === "min" ? tr("hall.since", { minutes: minutes(since) }) : clockText(since);
    const edit = M.el("button", { type: "button", class: "edit", text: "✎", title: "Đổi lĩnh vực của " + c.name });
    edit.setAttribute("aria-label", "Đổi lĩnh vực của " + c.name);
    edit.addEventListener("click", () => openServices(c.number));
    const state = c.state === "paused" ? tr("state.paused") : c.state === "closed" ? "" : s ? tr("hall.k." + s.status) : "";
    return M.el("article", { class: "ccard k-" + kind, "data-counter": c.number, title: c.name },
      M.el("header", {},
        M.el("span", { class: "cnum", text: c.number }),
        M.el("span", { class: "cstate", text: state }),
        M.el("span", { class: "ctimer", text: timer, "data-since": since, "data-mode": mode })),
      M.el("div", { class: "cline", text: line }),
      M.el("footer", {},
        M.el("span", { class: "cstaff", text: c.staff_name || tr("hall.no_staff") }),
        M.el("span", { class: "csvc", text: (c.services || []).join(" · ") }),
        edit));
  }

  function renderCounters() {
    const list = Array.from(state.counters.values()).sort((a, b) => a.number - b.number);
    $("counters").replaceChildren(...list.map(cardFor));
    const paused = list.filter((c) => c.state === "paused").length;
    const busy = list.filter((c) => c.serving).length;
    $("h-summary").textContent = `${list.length} quầy · ${busy} đang phục vụ · ${paused} tạm nghỉ`;
  }

  function tick() {
    document.querySelectorAll(".ctimer").forEach((el) => {
      const since = el.dataset.since;
      if (!since) return;
      el.textContent = el.dataset.mode === "min" ? tr("hall.since", { minutes: minutes(since) }) : clockText(since);
    });
    $("clock").textContent = new Date(now()).toLocaleTimeString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
  }
  setInterval(tick, 1000);

  // --- services ----------------------------------------------------------------------------------
  // The service whose "stop for today" was clicked once and waits for the confirming click:
  // kept here, not on the button, because live updates redraw the table meanwhile.
  let armed = { code: null, until: 0 };
  const isArmed = (s) => !s.closed_today && armed.code === s.code && Date.now() < armed.until;

  // Each row shows the service's state (a status line, not a button) apart from the
  // action (a button whose label is the verb), so neither reads as the other.
  function serviceState(s) {
    if (s.closed_today) return ["off", tr("hall.closed_today")];
    return s.open ? ["on", tr("hall.issuing")] : ["idle", tr("hall.not_issuing")];
  }

  function renderServices() {
    $("services").replaceChildren(...state.services.map((s) => {
      const label = s.closed_today ? tr("hall.reopen") : isArmed(s) ? tr("hall.confirm") : tr("hall.close_short");
      const btn = M.el("button", { type: "button", class: "small " + (s.closed_today ? "" : "danger"), text: label, title: s.closed_today ? tr("hall.reopen") : tr("hall.close") });
      btn.addEventListener("click", () => toggleService(s, btn));
      const [kind, note] = serviceState(s);
      return M.el("tr", { class: s.closed_today ? "closed" : "", "data-code": s.code },
        M.el("td", {}, M.el("span", { class: "sname", text: s.name_vi }), M.el("span", { class: "sstate " + kind, text: note })),
        M.el("td", { class: "num big", text: s.waiting }),
        M.el("td", { class: "num", text: s.waiting && s.longest_wait_min != null ? s.longest_wait_min + " phút" : "—" }),
        M.el("td", { class: "num" }, btn));
    }));
  }

  async function toggleService(s, btn) {
    if (!s.closed_today && !isArmed(s)) {  // closing needs a second click
      armed = { code: s.code, until: Date.now() + 4000 };
      btn.textContent = tr("hall.confirm");
      setTimeout(renderServices, 4100);
      return;
    }
    armed = { code: null, until: 0 };
    btn.disabled = true;
    const r = await M.api("POST", `/services/${encodeURIComponent(s.code)}/${s.closed_today ? "open" : "close"}`);
    if (!r.ok) { btn.disabled = false; say(r.error.message, "error"); return; }
    say(s.closed_today ? `Đã mở lại ${s.name_vi}.` : `Đã ngừng nhận số ${s.name_vi} hôm nay.`, "ok");
    loadHall();
  }

  // --- devices -----------------------------------------------------------------------------------
  function renderDevices() {
    const list = state.devices.filter((d) => !d.revoked);
    const online = list.filter((d) => d.online).length;
    $("dev-summary").textContent = `${online}/${list.length} ${tr("device.online").toLowerCase()}`;
    $("devices").replaceChildren(...list.map((d) => {
      const seen = d.last_seen ? new Date(d.last_seen).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" }) : tr("device.never");
      const health = state.health.get(d.id);  // kiosks: printer and agent (kiosk area)
      const problem = health && health.problems && health.problems.length ? health.problems.map((p) => p.message).join(" · ") : "";
      const bad = !d.online || (health && health.health === "fault");
      const text = !d.online ? (d.last_seen ? tr("device.offline") + " · " + seen : tr("device.never")) : problem || tr("device.online");
      return M.el("li", { class: (bad ? "off" : problem ? "warn" : "on"), "data-device": d.name },
        M.el("span", { class: "dot", text: "●" }),
        M.el("span", { class: "dname", text: d.name }),
        M.el("span", { class: "dkind muted", text: tr("device.kind." + d.kind) + (d.zone ? " · " + d.zone : "") + (d.counter ? " · quầy " + d.counter : "") }),
        M.el("span", { class: "dstate", text }),
        ...(d.kind === "display" ? soundOf(d) : []));
    }));
  }

  // Boards: did their last chime and voice play? And a button to hear one now.
  const ST = boot.sound || {};
  function soundOf(d) {
    const s = d.sound || {};
    const label = ST["board.sound." + (s.status || "unknown")] || s.status;
    const at = s.at ? " · " + new Date(s.at).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" }) : "";
    const line = M.el("span", {
      class: "dsound sound-" + (s.status || "unknown"),
      "data-sound": s.status || "unknown",
      text: ST["board.sound.label"] + ": " + label + at + (s.status === "failed" && s.detail ? " (" + s.detail + ")" : ""),
    });
    const button = M.el("button", { type: "button", class: "small dsound-test", text: ST["board.sound.test"], disabled: !d.online });
    button.addEventListener("click", async () => {
      button.disabled = true;
      const r = await M.api("POST", `/devices/${d.id}/sound-test`);
      button.disabled = false;
      if (!r.ok) { say(r.error.message, "error"); return; }
      say(M.fmt(ST["board.sound.test_sent"], { name: d.name }), "ok");
    });
    return [line, button];
  }

  async function loadHealth() {
    const r = await M.api("GET", "/devices/status");
    if (!r.ok || !r.data || !Array.isArray(r.data.devices)) return;
    state.health = new Map(r.data.devices.filter((d) => d.health).map((d) => [d.id, d]));
    renderDevices();
  }

  // --- data ----------------------------------------------------------------------------------------
  async function loadHall() {
    const r = await M.api("GET", "/hall");
    if (!r.ok) { if (r.status === 401) say(tr("conn.ended"), "error"); return; }
    skew = Date.parse(r.data.now) - Date.now();
    state.counters = new Map(r.data.counters.map((c) => [c.number, c]));
    state.services = r.data.services;
    state.devices = r.data.devices;
    renderCounters(); renderServices(); renderDevices(); tick();
    loadHealth();
  }
  function scheduleReload(ms) { clearTimeout(reloadTimer); reloadTimer = setTimeout(loadHall, ms); }
  setInterval(loadHall, 20000);  // device liveness and waits age even when nothing happens

  const socket = M.socket("/display");
  socket.on("connect", () => { const c = $("conn"); c.className = "conn on"; c.textContent = tr("conn.online"); loadHall(); });
  socket.on("disconnect", (reason) => {
    const c = $("conn"); c.className = "conn off"; c.textContent = tr("conn.offline");
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 500);
  });
  socket.on("counter", (msg) => {
    if (!msg || !msg.counter) return;
    const old = state.counters.get(msg.counter.number) || {};
    const merged = Object.assign({}, old, msg.counter);
    state.counters.set(merged.number, merged);
    renderCounters();
    tick();
    scheduleReload(1000);  // who acted there comes from /hall
  });
  const alerts = window.motcuaHallAlerts;  // supervisor_alerts.js
  if (alerts) {
    socket.on("alert", (a) => alerts.add(a, true));
    socket.on("connect", () => alerts.load());
  }
  socket.on("device_sound", (msg) => {
    if (!msg || !msg.sound) return;
    state.devices = state.devices.map((d) => (d.id === msg.device ? Object.assign({}, d, { sound: msg.sound }) : d));
    renderDevices();
  });
  socket.on("queue", (msg) => {
    if (!msg || !msg.services) return;
    const byCode = new Map(msg.services.map((s) => [s.code, s]));
    state.services = state.services.map((s) => Object.assign({}, s, byCode.get(s.code) ? { waiting: byCode.get(s.code).waiting, open: byCode.get(s.code).open } : {}));
    renderServices();
    scheduleReload(1500);  // longest waits and staff names come from /hall
  });

  // --- reassigning services ------------------------------------------------------------------------
  let editing = null;
  function openServices(number) {
    const c = state.counters.get(number);
    if (!c) return;
    editing = number;
    $("svc-counter").textContent = c.name;
    const chosen = c.services.slice();
    const order = chosen.concat(boot.services.map((s) => s.code).filter((x) => !chosen.includes(x)));
    $("svc-order").replaceChildren(...order.map(rowFor(chosen)));
    $("dlg-services").showModal();
  }
  function rowFor(chosen) {
    return (code) => {
      const box = M.el("input", { type: "checkbox", value: code, checked: chosen.includes(code) });
      const up = M.el("button", { type: "button", class: "small", text: "▲", title: "Lên" });
      const down = M.el("button", { type: "button", class: "small", text: "▼", title: "Xuống" });
      const li = M.el("li", {}, M.el("label", {}, box, " " + (serviceName[code] || code) + " (" + code + ")"), up, down);
      up.addEventListener("click", () => { if (li.previousElementSibling) li.parentNode.insertBefore(li, li.previousElementSibling); });
      down.addEventListener("click", () => { if (li.nextElementSibling) li.parentNode.insertBefore(li.nextElementSibling, li); });
      return li;
    };
  }
  document.querySelectorAll("#dlg-services [data-close]").forEach((b) => b.addEventListener("click", () => $("dlg-services").close()));
  $("form-services").addEventListener("submit", async () => {
    const codes = Array.from(document.querySelectorAll("#svc-order input:checked")).map((b) => b.value);
    const r = await M.api("POST", `/counters/${editing}/services`, { services: codes });
    if (!r.ok) { say(r.error.message, "error"); return; }
    say(tr("hall.saved_services", { counter: editing }), "ok");
    const c = state.counters.get(editing);
    if (c && r.data.counter) { state.counters.set(editing, Object.assign({}, c, r.data.counter)); renderCounters(); }
  });

  loadHall();
})();
