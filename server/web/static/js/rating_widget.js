/* Satisfaction widget for the citizen's phone (tracking page): once the ticket is done,
   three faces; "Không hài lòng" asks a reason; one rating per ticket.  Standalone: it
   needs only fetch, and sends the page's CSRF token when the page has one. */
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const POLL_MS = 15000;
  const FINAL_UNRATEABLE = ["no_show", "cancelled"];

  function svgFace(level) {
    const s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 100 100");
    s.setAttribute("class", "rw-face-img rw-" + level);
    s.setAttribute("aria-hidden", "true");
    const add = (tag, attrs) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      s.append(n);
    };
    add("circle", { cx: 50, cy: 50, r: 46, class: "rw-skin" });
    add("circle", { cx: 34, cy: 40, r: 6, class: "rw-eye" });
    add("circle", { cx: 66, cy: 40, r: 6, class: "rw-eye" });
    if (level === "very_satisfied") add("path", { d: "M26 58 Q50 86 74 58 Z", class: "rw-mouth-open" });
    else if (level === "satisfied") add("path", { d: "M30 62 Q50 76 70 62", class: "rw-mouth" });
    else add("path", { d: "M30 72 Q50 56 70 72", class: "rw-mouth" });
    return s;
  }

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  async function call(method, path, body) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const headers = {};
    if (meta && meta.content) headers["X-CSRF-Token"] = meta.content;
    const opts = { method, headers, credentials: "same-origin" };
    if (body) {
      headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    try {
      const resp = await fetch("/api/v1" + path, opts);
      const data = await resp.json().catch(() => null);
      return { ok: resp.ok, status: resp.status, data };
    } catch (e) {
      return { ok: false, status: 0, data: null };
    }
  }

  function mount(root) {
    const token = root.dataset.token;
    const lang = root.dataset.lang === "en" ? "en" : "vi";
    let texts = null;
    let options = null;
    let timer = null;
    let done = false;

    async function loadTexts() {
      if (options) return true;
      const r = await call("GET", "/ratings/options?lang=" + lang);
      if (!r.ok) return false;
      options = r.data;
      texts = r.data.texts || {};
      return true;
    }

    function thanks(key) {
      done = true;
      clearTimeout(timer);
      root.replaceChildren(el("p", "rw-thanks", texts[key]));
      root.hidden = false;
    }

    function faces() {
      const box = el("div", "rw-faces");
      for (const lv of options.levels) {
        const b = el("button", "rw-face rw-face-" + lv.code);
        b.type = "button";
        b.dataset.level = lv.code;
        b.append(svgFace(lv.code), el("span", "", lv.label));
        b.addEventListener("click", () => (lv.code === "unsatisfied" ? reasons() : send(lv.code)));
        box.append(b);
      }
      root.replaceChildren(el("h2", "rw-title", texts["rating.title"]), el("p", "rw-intro", texts["rating.widget_intro"]), box);
      root.hidden = false;
    }

    function reasons() {
      let chosen = null;
      const list = el("div", "rw-reasons");
      const area = el("textarea", "rw-text");
      area.maxLength = 500;
      area.rows = 3;
      area.placeholder = texts["rating.text_placeholder"];
      const sendBtn = el("button", "rw-send", texts["rating.send"]);
      sendBtn.type = "button";
      sendBtn.disabled = true;
      for (const r of options.reasons) {
        const b = el("button", "rw-reason", r.label);
        b.type = "button";
        b.setAttribute("aria-pressed", "false");
        b.addEventListener("click", () => {
          chosen = r.code;
          for (const o of list.children) o.setAttribute("aria-pressed", String(o === b));
          sendBtn.disabled = false;
        });
        list.append(b);
      }
      const back = el("button", "rw-back", texts["rating.back"]);
      back.type = "button";
      back.addEventListener("click", faces);
      sendBtn.addEventListener("click", () => send("unsatisfied", chosen, area.value.trim()));
      const actions = el("div", "rw-actions");
      actions.append(back, sendBtn);
      root.replaceChildren(el("h2", "rw-title", texts["rating.ask_reason"]), list, area, actions);
    }

    async function send(level, reason, text) {
      const body = { ticket: token, level };
      if (reason) body.reason = reason;
      if (text) body.text = text;
      const r = await call("POST", "/ratings", body);
      if (r.ok) return thanks("rating.thanks");
      if (r.data && r.data.error && r.data.error.code === "already_rated") return thanks("rating.already");
      const msg = (r.data && r.data.error && r.data.error.message) || "HTTP " + r.status;
      let err = root.querySelector(".rw-error");
      if (!err) { err = el("p", "rw-error"); root.append(err); }
      err.textContent = texts["rating.error"].replace("{message}", msg);
    }

    async function refresh() {
      if (done) return;
      clearTimeout(timer);
      const r = await call("GET", "/ratings/" + encodeURIComponent(token));
      if (r.ok && (await loadTexts())) {
        const s = r.data;
        if (s.rated) return thanks("rating.already");
        if (s.can_rate) { if (root.hidden) faces(); return; }
        if (FINAL_UNRATEABLE.includes(s.status) || s.expired) { done = true; return; }
      }
      timer = setTimeout(refresh, POLL_MS);
    }

    document.addEventListener("motcua:ticket-status", refresh);
    refresh();
    return { refresh };
  }

  const widgets = Array.from(document.querySelectorAll("[data-rating-widget]")).map(mount);
  window.motcuaRatingWidget = { refresh: () => widgets.forEach((w) => w.refresh()) };
})();
