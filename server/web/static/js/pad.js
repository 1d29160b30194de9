/* Counter pad: idle → faces (on "rate") → reason (when unsatisfied) → thanks → idle.
   One rating per service: the server refuses a second one, and the pad forgets the
   ticket as soon as it is rated (here or on the citizen's phone). */
(function () {
  "use strict";
  const M = window.motcua;
  const data = JSON.parse(document.getElementById("pad-data").textContent);
  const FACES_TIMEOUT_MS = 90000;
  const REASON_TIMEOUT_MS = 120000;
  const THANKS_MS = 5000;

  let lang = "vi";
  let current = null; // the `rate` payload being shown
  let level = null;
  let reason = null;
  let timer = null;
  let sending = false;

  const screens = ["idle", "faces", "reason", "thanks"];
  const $ = (id) => document.getElementById(id);
  const t = (key, params) => M.fmt(data.texts[lang][key] || data.texts.vi[key] || key, params || {});

  function show(name, timeoutMs) {
    for (const s of screens) $("screen-" + s).hidden = s !== name;
    document.body.dataset.screen = name;
    $("pad-error").hidden = true;
    clearTimeout(timer);
    if (timeoutMs) timer = setTimeout(idle, timeoutMs);
  }

  function idle() {
    current = null;
    level = null;
    reason = null;
    show("idle");
  }

  function ticketLine() {
    if (!current) return "";
    const service = lang === "en" ? current.service_name_en : current.service_name_vi;
    return t("pad.ticket", { label: current.label }) + (service ? " · " + service : "");
  }

  function prompt(payload) {
    current = payload;
    level = null;
    reason = null;
    $("pad-ticket").textContent = ticketLine();
    show("faces", FACES_TIMEOUT_MS);
  }

  function askReason() {
    reason = null;
    $("pad-text").value = "";
    for (const b of document.querySelectorAll(".pad-reason")) b.setAttribute("aria-checked", "false");
    $("pad-send").disabled = true;
    show("reason", REASON_TIMEOUT_MS);
  }

  function error(message) {
    const box = $("pad-error");
    box.textContent = t("rating.error", { message });
    box.hidden = false;
  }

  async function send() {
    if (!current || !level || sending) return;
    sending = true;
    const body = { ticket: current.ticket_token, level };
    if (level === "unsatisfied") {
      body.reason = reason;
      const text = $("pad-text").value.trim();
      if (text) body.text = text;
    }
    const r = await M.api("POST", "/ratings", body);
    sending = false;
    if (r.ok || (r.error && r.error.code === "already_rated")) {
      current = null;
      show("thanks", THANKS_MS);
      return;
    }
    error(r.error.message);
  }

  function applyLang() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-t]")) {
      node.textContent = t(node.dataset.t, { counter: data.counter });
    }
    for (const node of document.querySelectorAll("[data-t-placeholder]")) {
      node.placeholder = t(node.dataset.tPlaceholder);
    }
    $("pad-ticket").textContent = ticketLine();
  }

  for (const b of document.querySelectorAll(".pad-face")) {
    b.addEventListener("click", () => {
      if (!current) return;
      level = b.dataset.level;
      if (level === "unsatisfied") askReason();
      else send();
    });
  }
  for (const b of document.querySelectorAll(".pad-reason")) {
    b.addEventListener("click", () => {
      reason = b.dataset.reason;
      for (const o of document.querySelectorAll(".pad-reason")) {
        o.setAttribute("aria-checked", String(o === b));
      }
      $("pad-send").disabled = false;
      show("reason", REASON_TIMEOUT_MS);
    });
  }
  $("pad-send").addEventListener("click", send);
  $("pad-back").addEventListener("click", () => show("faces", FACES_TIMEOUT_MS));
  $("pad-lang").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    applyLang();
  });

  const socket = M.socket("/pad");
  socket.on("connect", () => { $("pad-offline").hidden = true; });
  socket.on("disconnect", () => { $("pad-offline").hidden = false; });
  socket.on("connect_error", () => { $("pad-offline").hidden = false; });
  socket.on("rate", (payload) => {
    if (payload && payload.counter === data.counter) prompt(payload);
  });
  socket.on("rated", (payload) => {
    if (current && payload && payload.ticket_token === current.ticket_token) idle();
  });
  idle();
})();
