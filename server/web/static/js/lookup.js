/* Dossier lookup (tra cứu hồ sơ): on-screen keyboard, barcode/QR scanners (they type the
   code and press Enter), the masked result, and the return to the start screen when idle.
   Used by the paired touchscreen (/lookup, mode "screen") and by phones (/tra-cuu). */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("lookup-data").textContent);
  const $ = (id) => document.getElementById(id);
  const el = window.motcua.el;
  const fmt = window.motcua.fmt;
  const screen = data.mode === "screen";
  const codeInput = $("code");
  const digitsInput = $("digits");
  const message = $("message");
  const startScreen = $("screen-start");
  const resultScreen = $("screen-result");
  const result = $("result");
  const idleNote = $("idle");
  const CODE_CHARS = /^[0-9A-Za-z.\- ]$/;

  let lang = "vi";
  let lastCode = null;
  let busy = false;
  let idleAt = 0;

  function tr(key, params) {
    const text = (data.texts[lang] && data.texts[lang][key]) || data.texts.vi[key] || key;
    return params ? fmt(text, params) : text;
  }

  // --- language ------------------------------------------------------------------------
  function applyLang() {
    document.documentElement.lang = lang;
    $("center-name").textContent = data.center[lang] || data.center.vi;
    document.querySelectorAll("[data-t]").forEach((node) => {
      const params = {};
      for (const [k, v] of Object.entries(node.dataset)) {
        if (k.startsWith("p") && k.length > 1) params[k.slice(1).toLowerCase()] = v;
      }
      node.textContent = tr(node.dataset.t, params);
    });
    codeInput.placeholder = tr("lookup.code_label");
    if (digitsInput) digitsInput.placeholder = tr("lookup.phone_digits", { n: data.phone_digits });
  }

  $("lang").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    applyLang();
    if (!resultScreen.hidden && lastCode) search(lastCode, true);
  });

  // --- input ---------------------------------------------------------------------------
  function normalise(text) {
    return text.toUpperCase().replace(/\s+/g, " ").trimStart().slice(0, 64);
  }

  function showMessage(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function focusCode() {
    if (screen && document.activeElement !== digitsInput) codeInput.focus({ preventScroll: true });
  }

  function type(ch) {
    codeInput.value = normalise(codeInput.value + ch);
    showMessage("");
  }

  codeInput.addEventListener("input", () => {
    const pos = codeInput.selectionStart;
    codeInput.value = normalise(codeInput.value);
    if (pos !== null) codeInput.setSelectionRange(pos, pos);
    showMessage("");
  });

  const keyboard = $("keyboard");
  if (keyboard) {
    // Keep the focus (and a scanner's keystrokes) in the code field.
    keyboard.addEventListener("mousedown", (e) => e.preventDefault());
    keyboard.addEventListener("click", (e) => {
      const key = e.target.closest("button");
      if (!key) return;
      if (key.dataset.key) type(key.dataset.key);
      else if (key.dataset.action === "backspace") codeInput.value = codeInput.value.slice(0, -1);
      else if (key.dataset.action === "clear") { codeInput.value = ""; showMessage(""); }
      else if (key.dataset.action === "search") submit();
      focusCode();
    });
  }

  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });

  // A scanner types into whatever has the focus; when that is not a field (the result
  // screen, a button), collect its keystrokes here and look the code up on Enter.
  document.addEventListener("keydown", (e) => {
    poke();
    const target = e.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.key === "Enter") {
      if (codeInput.value.trim()) { e.preventDefault(); submit(); }
      return;
    }
    if (e.key.length === 1 && CODE_CHARS.test(e.key)) {
      e.preventDefault();
      if (!resultScreen.hidden) { showStart(); codeInput.value = ""; }
      type(e.key);
      focusCode();
    }
  });

  function submit() {
    const code = codeInput.value.trim();
    if (!code) {
      showMessage(tr("lookup.empty"));
      focusCode();
      return;
    }
    if (digitsInput && digitsInput.value.replace(/\D/g, "").length !== data.phone_digits) {
      showMessage(tr("lookup.phone_digits_needed", { n: data.phone_digits }));
      digitsInput.focus();
      return;
    }
    search(code, false);
  }

  // --- lookup --------------------------------------------------------------------------
  async function search(code, quiet) {
    if (busy) return;
    busy = true;
    $("go").disabled = true;
    if (!quiet) showMessage(tr("lookup.searching"));
    let path = "/dossiers/" + encodeURIComponent(code) + "?lang=" + lang;
    if (digitsInput && digitsInput.value) path += "&phone=" + encodeURIComponent(digitsInput.value);
    const r = await window.motcua.api("GET", path);
    busy = false;
    $("go").disabled = false;
    if (r.ok) {
      lastCode = code;
      showMessage("");
      render(r.data.dossier);
      showResult();
      return;
    }
    showStart();
    if (r.status === 404) {
      let text = tr("lookup.not_found", { code: code.toUpperCase() });
      if (r.error.details && r.error.details.looks_like_onestop === false) text += " " + tr("lookup.format_hint");
      showMessage(text);
    } else if (r.status === 429) {
      const wait = (r.error.details && r.error.details.retry_after) || 60;
      showMessage(tr("lookup.limited", { seconds: Math.ceil(wait) }));
    } else if (r.status === 0) {
      showMessage(tr("lookup.offline"));
    } else {
      showMessage(r.error.message);
    }
    focusCode();
  }

  // --- result --------------------------------------------------------------------------
  function field(label, value, cls) {
    if (!value) return null;
    return el("div", { class: "lk-field " + (cls || "") }, el("dt", { text: label }), el("dd", { text: value }));
  }

  function notice(cls, title, ...lines) {
    const box = el("div", { class: "lk-notice " + cls });
    if (title) box.append(el("h2", { text: title }));
    for (const line of lines) if (line) box.append(el("p", { text: line }));
    return box;
  }

  function render(d) {
    result.replaceChildren();
    result.className = "lk-card lk-status-" + d.status + (d.overdue ? " lk-overdue" : "");
    result.append(
      el("div", { class: "lk-headline" },
        el("p", { class: "lk-shown-code", text: d.code }),
        el("p", { class: "lk-badge", text: tr("dossier.status." + d.status) }),
        el("p", { class: "lk-summary", text: d.summary }))
    );
    if (d.ready) result.append(notice("lk-ready", tr("lookup.ready_title"), tr("lookup.ready_where", { place: d.collect_place })));
    if (d.missing) {
      result.append(notice("lk-missing", tr("lookup.missing_title"), d.missing,
        d.contact ? tr("lookup.missing_contact", { contact: d.contact }) : "", tr("lookup.paused")));
    } else if (d.status === "fees_due") {
      result.append(notice("lk-missing", null, tr("lookup.fees_paused"),
        d.contact ? tr("lookup.missing_contact", { contact: d.contact }) : ""));
    }
    if (d.delayed && !d.final && !d.ready) {
      const delay = d.timeline.filter((e) => e.kind === "delay").pop();
      result.append(notice("lk-delay", tr("lookup.delayed_title"),
        delay && delay.reason ? tr("lookup.delayed_reason", { reason: delay.reason }) : ""));
    }
    if (d.reason) result.append(notice("lk-ended", null, tr("lookup.reason", { reason: d.reason })));

    const fields = el("dl", { class: "lk-fields" });
    for (const f of [
      field(tr("lookup.field.due"), d.due_text, "lk-due"),
      field(tr("lookup.field.original_due"), d.original_due_text),
      field(tr("lookup.field.procedure"), d.procedure),
      field(tr("lookup.field.department"), d.department),
      field(tr("lookup.field.applicant"), d.applicant),
      field(tr("lookup.field.channel"), tr("dossier.channel." + d.channel)),
      field(tr("lookup.field.received"), d.received_text),
      field(tr("lookup.field.finished"), d.finished_text),
      field(tr("lookup.field.timeliness"), d.timeliness ? tr("dossier.timeliness." + d.timeliness) : ""),
    ]) if (f) fields.append(f);
    result.append(fields);

    const list = el("ol", { class: "lk-timeline" });
    for (const e of d.timeline.slice().reverse()) {
      let label = tr("dossier.status." + e.status);
      if (e.kind === "delay") label = tr("lookup.timeline_delay", { date: e.new_due_text });
      else if (e.kind === "note") label += " · " + tr("lookup.timeline_note");
      else if (e.kind === "correction") label += " " + tr("lookup.timeline_correction");
      const item = el("li", { class: "lk-step lk-step-" + e.kind },
        el("time", { text: e.at_text }), el("span", { class: "lk-step-label", text: label }));
      const extra = e.missing || e.reason;
      if (extra) item.append(el("small", { text: extra }));
      list.append(item);
    }
    result.append(el("h2", { class: "lk-timeline-title", text: tr("lookup.timeline") }), list);
  }

  function showResult() {
    startScreen.hidden = true;
    resultScreen.hidden = false;
    $("back").focus({ preventScroll: true });
    window.scrollTo(0, 0);
    poke();
  }

  function showStart() {
    resultScreen.hidden = true;
    startScreen.hidden = false;
    idleNote.hidden = true;
  }

  $("back").addEventListener("click", () => {
    showStart();
    codeInput.value = "";
    if (digitsInput) digitsInput.value = "";
    lastCode = null;
    focusCode();
  });

  // --- idle: the next citizen must never see the last one's dossier ---------------------
  function poke() {
    idleAt = Date.now() + data.idle_s * 1000;
    idleNote.hidden = true;
  }

  function reset() {
    showStart();
    codeInput.value = "";
    if (digitsInput) digitsInput.value = "";
    lastCode = null;
    showMessage("");
    if (lang !== "vi") { lang = "vi"; applyLang(); }
    focusCode();
  }

  if (screen && data.idle_s > 0) {
    ["pointerdown", "touchstart", "input"].forEach((ev) => document.addEventListener(ev, poke, { passive: true }));
    poke();
    setInterval(() => {
      const left = Math.ceil((idleAt - Date.now()) / 1000);
      const dirty = !resultScreen.hidden || codeInput.value || !message.hidden;
      if (!dirty) { poke(); return; }
      if (left <= 0) { reset(); poke(); return; }
      if (!resultScreen.hidden && left <= 10) {
        idleNote.textContent = tr("lookup.idle", { seconds: left });
        idleNote.hidden = false;
      }
    }, 1000);
  }

  applyLang();
  if (data.initial) {
    codeInput.value = normalise(data.initial);
    submit();
  }
  focusCode();
})();
