/* /lay-so: take today's number from a phone.  Choose a service (people waiting and the
   estimate shown), confirm the phone by a one-time code, take the number, then open the
   ticket's tracking page (live position, "Hủy số"). */
(function () {
  "use strict";
  const M = window.motcua;
  const data = JSON.parse(document.getElementById("layso-data").textContent);
  const $ = (id) => document.getElementById(id);
  const state = { lang: "vi", service: null, phone: null, cccd: null, busy: false };

  function tr(key, params) {
    const s = (data.texts[state.lang] || data.texts.vi)["remote.page." + key] || data.texts.vi["remote.page." + key] || key;
    return params ? M.fmt(s, params) : s;
  }
  function name(s) { return (state.lang === "en" && s.name_en) || s.name_vi; }
  function hhmm(iso) {
    const d = new Date(iso);
    return d.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });
  }
  function say(text) {
    $("msg").textContent = text || "";
    $("msg").hidden = !text;
  }
  function show(step) {
    for (const id of ["step-service", "step-phone", "step-code"]) $(id).hidden = id !== step;
  }

  function renderServices() {
    const list = $("services");
    list.replaceChildren(...data.services.map((s) => {
      const lines = [M.el("span", { class: "ls-svc-name", text: name(s) })];
      const open = s.open && s.remote_open !== false;
      if (s.open && s.remote_open === false) {
        lines.push(M.el("span", { class: "ls-svc-line closed", text: tr("closed_remote") }));
      } else if (s.open) {
        lines.push(M.el("span", { class: "ls-svc-line", text: tr(s.waiting ? "waiting" : "waiting_none", { n: s.waiting }) }));
        if (s.estimated_wait_min != null) lines.push(M.el("span", { class: "ls-svc-line", text: tr("estimate", { n: s.estimated_wait_min }) }));
      } else {
        const when = s.next_open ? tr("reopens", { time: hhmm(s.next_open) }) : "";
        lines.push(M.el("span", { class: "ls-svc-line closed", text: tr("closed") + (when ? " " + when : "") }));
      }
      const b = M.el("button", { type: "button", class: "ls-svc", "data-code": s.code }, ...lines);
      b.disabled = !open || !data.enabled;
      b.addEventListener("click", () => {
        state.service = s;
        say("");
        $("chosen").textContent = tr("chosen", { name: name(s) });
        show("step-phone");
        $("phone").focus();
      });
      return M.el("li", {}, b);
    }));
  }

  function renderStatic() {
    document.documentElement.lang = state.lang;
    $("center").textContent = data.center[state.lang] || data.center.vi;
    $("lang").textContent = tr("lang_switch");
    $("title").textContent = tr("title");
    $("intro").textContent = data.enabled ? tr("intro", { person: data.limits.person, service: data.limits.service }) : tr("off");
    $("service-title").textContent = tr("step_service");
    $("phone-title").textContent = tr("step_phone");
    $("code-title").textContent = tr("step_code");
    $("phone-label").textContent = tr("phone");
    $("cccd-label").textContent = tr("cccd");
    $("cccd-hint").textContent = tr("cccd_hint");
    $("send-code").textContent = tr("send_code");
    $("back").textContent = tr("back");
    $("code-label").textContent = tr("code");
    $("take").textContent = tr("take");
    $("resend").textContent = tr("resend");
    if (state.service) $("chosen").textContent = tr("chosen", { name: name(state.service) });
    renderServices();
  }

  async function sendCode() {
    if (state.busy) return;
    state.busy = true;
    say("");
    const res = await M.api("POST", "/remote/code", { phone: state.phone });
    state.busy = false;
    if (!res.ok) { say(res.error.message); return false; }
    $("sent").textContent = tr("sent", { phone: state.phone, minutes: Math.round(res.data.expires_in_s / 60) });
    show("step-code");
    $("code").value = "";
    $("code").focus();
    return true;
  }

  $("form-phone").addEventListener("submit", (e) => {
    e.preventDefault();
    state.phone = $("phone").value.trim();
    state.cccd = $("cccd").value.trim() || null;
    sendCode();
  });
  $("resend").addEventListener("click", sendCode);
  $("back").addEventListener("click", () => { show("step-service"); say(""); });
  $("form-code").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (state.busy) return;
    state.busy = true;
    say("");
    try {
      const v = await M.api("POST", "/remote/verify", { phone: state.phone, code: $("code").value.trim() });
      if (!v.ok) { say(v.error.message); return; }
      const body = { service: state.service.code, proof: v.data.proof };
      if (state.cccd) body.cccd = state.cccd;
      const r = await M.api("POST", "/remote/tickets", body);
      if (!r.ok) { say(r.error.message); show("step-service"); return; }
      window.location.assign("/t/" + encodeURIComponent(r.data.token) + (state.lang === "en" ? "?lang=en" : ""));
    } finally {
      state.busy = false;
    }
  });
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "vi" ? "en" : "vi";
    renderStatic();
  });
  renderStatic();
})();
