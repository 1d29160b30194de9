/* The web hall board's drawing (board.js keeps the state, the order rules and the
   connection): the same layout as the pygame board (display/render.py, panels.py).

   The main area shows the newest call whose invitation still holds; a call that ended
   (no-show, finished, transferred, its counter paused or closed) stays in the recent
   list, dimmed and marked.  Nothing is smaller than 40 px on the 1920×1080 stage and
   nothing is cut with "…": a counter's services, a pause reason or a service's name
   wrap.  A column shows all its items when they fit; otherwise it turns its pages
   every PAGE_MS and shows "Trang i/n" and a bar filling up to the next page. */
(function () {
  "use strict";
  const kit = window.motcuaBoardKit;
  const el = window.motcua.el;
  const text = kit.text;
  const $ = (id) => document.getElementById(id);

  const FLASH_MS = 8000;
  const RECENT_ROWS = 8;
  const PAGE_MS = 10000;
  const ACTIVE = ["called", "serving"];

  function create(S) {
    const pages = { counters: -1, services: -1 };
    const layouts = { counters: null, services: null };

    // Why a call no longer invites anyone, or null while it holds (display/state.py).
    function callEnded(call) {
      if (call.state && !ACTIVE.includes(call.state)) return call.state;
      const c = S.counters.get(call.counter);
      if (!c) return null;
      if (c.state === "paused") return "counter_paused";
      if (c.state === "closed") return "counter_closed";
      const s = c.serving;
      if (!s) return "done";
      const same = s.id !== undefined && s.id !== null && call.ticket_id !== null && call.ticket_id !== undefined
        ? String(s.id) === String(call.ticket_id) : s.label === call.label;
      return same ? null : "done"; // "call next" moved on: the previous citizen is done
    }

    function mainCall() {
      return S.recent.find((c) => callEnded(c) === null) || null;
    }

    function serviceName(code, fallback) {
      const s = S.services.find((x) => x.code === code);
      if (!s) return fallback || code || "";
      return kit.data.lang === "en" && s.name_en ? s.name_en : s.name_vi;
    }

    let shownSeq = null;
    function renderCurrent(restartFlash) {
      const call = mainCall();
      $("bd-none").hidden = !!call;
      $("bd-none").textContent = text(S.recent.length ? "board.call.waiting" : "board.call.none");
      $("bd-call").hidden = !call;
      const panel = $("bd-current");
      if (!call) {
        shownSeq = null;
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
      kit.fit($("bd-label"), 170, 60);
      kit.fit($("bd-counter"), 160, 60);
      const age = call.arrivedAt ? Date.now() - call.arrivedAt : Infinity;
      if (restartFlash && age < FLASH_MS && call.seq !== shownSeq) {
        panel.classList.remove("bd-flash");
        void panel.offsetWidth; // restart the animation for the new call
        panel.classList.add("bd-flash");
      } else if (age >= FLASH_MS) {
        panel.classList.remove("bd-flash");
      }
      shownSeq = call.seq;
    }

    function renderRecent() {
      const main = mainCall();
      const rows = S.recent.filter((c) => !main || c.seq !== main.seq).slice(0, RECENT_ROWS);
      $("bd-recent").replaceChildren(...rows.map((c) => {
        const ended = callEnded(c);
        const cls = "bd-recent-row" + (ended ? " bd-ended bd-ended-" + ended : "");
        return el("li", { class: cls, "data-label": c.label },
          el("span", { class: "bd-recent-label", text: c.label }),
          el("span", { class: "bd-recent-counter", text: text("board.recent.row_counter", { number: c.counter }) }),
          el("span", { class: "bd-recent-mark", text: ended ? text("board.ended." + ended) : "" }));
      }));
    }

    // --- paged columns ------------------------------------------------------------------
    /* Lay items out in the column: all of them when they fit, else in pages measured
       from their real heights (wrapped lines make items unequal). */
    function paginate(kind, nodes) {
      const list = $("bd-" + kind);
      const pager = $("bd-" + kind + "-pager");
      pager.hidden = true;
      list.replaceChildren(...nodes);
      if (list.scrollHeight <= list.clientHeight + 1) return [nodes];
      pager.hidden = false; // measured with the pager's room taken
      const pageRoom = list.clientHeight;
      const gap = parseFloat(getComputedStyle(list).rowGap) || 0;
      const out = [[]];
      let used = 0;
      for (const node of nodes) {
        const h = node.offsetHeight;
        const need = h + (out[out.length - 1].length ? gap : 0);
        if (out[out.length - 1].length && used + need > pageRoom) {
          out.push([]);
          used = h;
        } else {
          used += need;
        }
        out[out.length - 1].push(node);
      }
      return out;
    }

    function showPage(kind, force) {
      const layout = layouts[kind];
      if (!layout) return;
      const now = kit.serverNow();
      const index = Math.floor(now / PAGE_MS) % layout.length;
      if (!force && index === pages[kind]) return;
      pages[kind] = index;
      const pager = $("bd-" + kind + "-pager");
      if (layout.length === 1) {
        pager.hidden = true;
        $("bd-" + kind).replaceChildren(...layout[0]);
        return;
      }
      pager.hidden = false;
      pager.dataset.page = String(index + 1);
      pager.dataset.pages = String(layout.length);
      pager.querySelector(".bd-page-text").textContent = text("board.page", { page: index + 1, pages: layout.length });
      const bar = pager.querySelector(".bd-page-bar i");
      bar.style.animation = "none";
      void bar.offsetWidth;
      bar.style.animation = "";
      bar.style.animationDuration = PAGE_MS + "ms";
      bar.style.animationDelay = -(now % PAGE_MS) + "ms";
      $("bd-" + kind).replaceChildren(...layout[index]);
    }

    function pauseReason(c) {
      if (!c.pause_reason) return "";
      const key = "board.pause." + c.pause_reason;
      return key in kit.data.texts ? text(key) : c.pause_reason;
    }

    /* Compact (when the tiles with their services do not all fit): one line per counter;
       only a paused counter keeps its reason, the services column lists every service. */
    function counterTile(c, compact) {
      const paused = c.state === "paused";
      const status = paused
        ? el("span", { class: "bd-tile-paused", text: text("board.counters.paused") })
        : c.serving
          ? el("span", { class: "bd-tile-serving", text: c.serving.label })
          : el("span", { class: "bd-tile-free", text: text("board.counters.free") });
      // Second line: what the counter serves, or why it is paused.  It wraps between
      // names (a name stays whole when it fits on a line, else wraps between its words).
      const names = compact ? [] : (c.services || []).map((code) => serviceName(code, code));
      const detail = paused
        ? el("span", { class: "bd-tile-reason", text: pauseReason(c) })
        : el("span", { class: "bd-tile-services" }, ...names.flatMap((name, i) =>
          [...(i ? [" · "] : []), el("span", { class: "bd-svc-of", text: name })]));
      const cls = "bd-tile" + (paused ? " bd-tile-is-paused" : "") + (compact ? " bd-tile-compact" : "");
      return el("li", { class: cls, "data-counter": String(c.number) },
        el("span", { class: "bd-tile-name", text: text("board.call.counter", { number: c.number }) }),
        status,
        detail);
    }

    function renderCounters() {
      const shown = Array.from(S.counters.values()).filter((c) => c.state !== "closed").sort((a, b) => a.number - b.number);
      let layout = paginate("counters", shown.map((c) => counterTile(c, false)));
      if (layout.length > 1) layout = paginate("counters", shown.map((c) => counterTile(c, true)));
      layouts.counters = layout;
      showPage("counters", true);
    }

    function zoneServices() {
      if (S.zone === null) return S.services;
      const codes = new Set();
      for (const c of S.counters.values()) for (const code of c.services || []) codes.add(code);
      return codes.size ? S.services.filter((s) => codes.has(s.code)) : S.services;
    }

    function serviceRow(s, compact) {
      const name = kit.data.lang === "en" && s.name_en ? s.name_en : s.name_vi;
      const cls = "bd-svc" + (s.open ? "" : " bd-svc-is-closed") + (compact ? " bd-svc-compact" : "");
      if (compact) {
        return el("li", { class: cls, "data-service": s.code },
          el("span", { class: "bd-svc-name", text: name }),
          el("span", { class: s.open ? "bd-svc-count" : "bd-svc-closed", text: s.open ? String(s.waiting) : text("board.services.closed_short") }));
      }
      const line = s.open
        ? [el("span", { class: "bd-svc-waiting", text: text("board.services.count", { count: s.waiting }) }),
          s.waiting && s.estimated_wait_min
            ? el("span", { class: "bd-svc-estimate", text: text("board.services.estimate", { minutes: s.estimated_wait_min }) })
            : ""]
        : [el("span", { class: "bd-svc-closed", text: text("board.services.closed") })];
      return el("li", { class: cls, "data-service": s.code },
        el("span", { class: "bd-svc-name", text: name }),
        el("span", { class: "bd-svc-line" }, ...line));
    }

    function renderServices() {
      const services = zoneServices();
      let layout = paginate("services", services.map((s) => serviceRow(s, false)));
      if (layout.length > 1) layout = paginate("services", services.map((s) => serviceRow(s, true)));
      layouts.services = layout;
      showPage("services", true);
    }

    function tick() {
      showPage("counters", false);
      showPage("services", false);
    }

    // For technicians and tests: what each page of a paged column holds.
    const pagesOf = (kind) => (layouts[kind] || []).map((page) => page.map((n) => n.dataset.counter || n.dataset.service));
    const pageTexts = (kind) => (layouts[kind] || []).flat().map((n) => n.textContent);

    return {
      callEnded, mainCall, renderCurrent, renderRecent, renderCounters, renderServices, tick, pagesOf, pageTexts,
    };
  }

  window.motcuaBoardView = { create };
})();
