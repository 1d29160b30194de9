/* Reports page: pick a range, see the queue / dossier / satisfaction report as figures,
   SVG charts and tables, download the same numbers as CSV or Excel. */
(function () {
  "use strict";
  const M = window.motcua;
  const R = window.motcuaReports;
  const data = JSON.parse(document.getElementById("reports-data").textContent);
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = {
    tab: data.tabs.includes(params.get("tab")) ? params.get("tab") : "queue",
    lang: params.get("lang") === "en" ? "en" : "vi",
    from: params.get("from"),
    to: params.get("to"),
  };
  let last = null;
  let view = null;
  const t = (key, p) => M.fmt(data.texts[state.lang][key] || key, p || {});

  function ymd(d) {
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }
  function preset(name) {
    // "today" is the center's business day as the server sees it, not the browser's
    const [y, m, d] = data.today.split("-").map(Number);
    const now = new Date(y, m - 1, d);
    const today = ymd(now);
    if (name === "today") return [today, today];
    if (name === "week") return [ymd(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 6)), today];
    if (name === "month") return [ymd(new Date(now.getFullYear(), now.getMonth(), 1)), today];
    if (name === "last_month") {
      return [ymd(new Date(now.getFullYear(), now.getMonth() - 1, 1)), ymd(new Date(now.getFullYear(), now.getMonth(), 0))];
    }
    return [ymd(new Date(now.getFullYear(), 0, 1)), today];
  }
  if (!state.from || !state.to) [state.from, state.to] = preset("month");

  function query(extra) {
    const q = new URLSearchParams({ from: state.from, to: state.to, lang: state.lang });
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }

  function syncUrl() {
    const q = new URLSearchParams({ tab: state.tab, from: state.from, to: state.to });
    if (state.lang !== "vi") q.set("lang", state.lang);
    history.replaceState(null, "", "/reports?" + q.toString());
    $("rp-csv").href = `/api/v1/reports/${state.tab}?` + query({ format: "csv" });
    $("rp-xlsx").href = `/api/v1/reports/${state.tab}?` + query({ format: "xlsx" });
    for (const b of document.querySelectorAll(".rp-tab[data-tab]")) {
      b.classList.toggle("active", b.dataset.tab === state.tab);
      b.setAttribute("aria-pressed", String(b.dataset.tab === state.tab));
    }
  }

  const min = (v) => (v === null || v === undefined ? "–" : `${R.fmtNum(v)} ${t("reports.minutes")}`);
  const pctText = (v) => R.fmtPct(v);
  const dayText = (iso) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}`;

  function section(cls, ...children) {
    const s = document.createElement("div");
    s.className = cls;
    s.append(...children);
    return s;
  }

  /* The report's tables as the server wrote them for people (format=view): Vietnamese
     words for codes, local time, Vietnamese numbers — the same cells as the CSV. */
  function tablesOf(report, order) {
    const out = [];
    for (const key of order) {
      const tbl = view.tables.find((x) => x.key === key);
      if (!tbl || !tbl.rows.length) continue;
      out.push(R.grid(tbl.title, tbl.labels, tbl.rows, tbl.numeric));
    }
    return out;
  }

  function renderQueue(r) {
    const tot = r.totals;
    const hours = r.by_hour.map((h) => `${h.hour}h`);
    return [
      R.kpis([
        { label: t("reports.kpi.issued"), value: R.fmtNum(tot.issued) },
        { label: t("reports.kpi.served"), value: R.fmtNum(tot.served) },
        { label: t("reports.kpi.no_show"), value: R.fmtNum(tot.no_show) },
        { label: t("reports.kpi.cancelled"), value: R.fmtNum(tot.cancelled) },
        { label: t("reports.kpi.wait_mean"), value: min(tot.wait.mean_min) },
        { label: t("reports.kpi.service_mean"), value: min(tot.service_time.mean_min) },
      ]),
      section(
        "rp-charts",
        R.bars(t("reports.chart.wait_by_hour"), hours, r.by_hour.map((h) => h.wait.mean_min), { cls: "s2", emptyText: t("reports.empty") }),
        R.bars(t("reports.chart.tickets_by_hour"), hours, r.by_hour.map((h) => h.issued), { cls: "s1", emptyText: t("reports.empty") }),
        R.hbars(
          t("reports.chart.by_service"),
          r.by_service.map((s) => s.name),
          [
            { name: t("reports.col.issued"), values: r.by_service.map((s) => s.issued), cls: "s1" },
            { name: t("reports.col.served"), values: r.by_service.map((s) => s.served), cls: "s3" },
          ],
          { emptyText: t("reports.empty") }
        )
      ),
      ...tablesOf(r, ["totals", "by_service", "by_counter", "by_staff", "by_hour", "pauses"]),
    ];
  }

  function renderSatisfaction(r) {
    const tot = r.totals;
    const levels = ["very_satisfied", "satisfied", "unsatisfied"];
    const parts = levels.map((l, i) => ({ key: l, name: t("rating.level." + l), cls: ["g1", "g2", "g3"][i] }));
    return [
      R.kpis([
        { label: t("reports.kpi.ratings"), value: R.fmtNum(tot.count) },
        { label: t("reports.kpi.satisfied"), value: pctText(tot.pct_satisfied_or_better), cls: "good" },
        { label: t("reports.kpi.very_satisfied"), value: pctText(tot.pct_very_satisfied) },
        { label: t("rating.level.unsatisfied"), value: R.fmtNum(tot.unsatisfied), cls: tot.unsatisfied ? "bad" : "" },
      ]),
      section(
        "rp-charts",
        R.line(t("reports.chart.satisfaction_by_day"), r.by_day.map((d) => dayText(d.day)), r.by_day.map((d) => d.pct_satisfied_or_better), { cls: "s3", emptyText: t("reports.empty") }),
        R.stacked(
          t("reports.chart.satisfaction_levels"),
          [{ label: t("reports.table.totals"), values: tot }].concat(r.by_staff.map((s) => ({ label: s.full_name, values: s }))),
          parts,
          { emptyText: t("reports.empty") }
        )
      ),
      ...tablesOf(r, ["totals", "by_staff", "by_counter", "by_service", "reasons", "by_day", "comments"]),
    ];
  }

  function renderDossiers(r) {
    const tot = r.totals;
    const timely = ["early", "on_time", "late"].map((k, i) => ({ key: k, name: t("reports.col." + k), cls: ["d1", "d2", "d3"][i] }));
    const channels = ["direct", "online", "postal"].map((k, i) => ({ key: k, name: t("reports.channel." + k), cls: ["s1", "s3", "s2"][i] }));
    return [
      R.kpis([
        { label: t("reports.kpi.received"), value: R.fmtNum(tot.received) },
        { label: t("reports.col.resolved"), value: R.fmtNum(tot.resolved) },
        { label: t("reports.kpi.on_time"), value: pctText(tot.pct_early_or_on_time), cls: "good" },
        { label: t("reports.col.late"), value: R.fmtNum(tot.late), cls: tot.late ? "bad" : "" },
        { label: t("reports.col.in_progress"), value: R.fmtNum(tot.in_progress) },
        { label: t("reports.col.overdue"), value: R.fmtNum(tot.overdue), cls: tot.overdue ? "bad" : "" },
      ]),
      section(
        "rp-charts",
        R.stacked(
          t("reports.chart.dossier_timeliness"),
          [{ label: t("reports.table.totals"), values: tot }].concat(
            r.by_department.filter((d) => d.early + d.on_time + d.late > 0).map((d) => ({ label: d.name, values: d }))
          ),
          timely,
          { emptyText: t("reports.empty") }
        ),
        R.stacked(t("reports.chart.dossier_channels"), tot.received ? [{ label: t("reports.table.totals"), values: tot }] : [], channels, { emptyText: t("reports.empty") })
      ),
      ...tablesOf(r, ["totals", "by_channel", "by_department", "by_procedure"]),
    ];
  }

  async function load() {
    syncUrl();
    $("rp-from").value = state.from;
    $("rp-to").value = state.to;
    const status = $("rp-status");
    status.textContent = t("reports.loading");
    status.className = "rp-status";
    const res = await M.api("GET", `/reports/${state.tab}?` + query({ format: "view" }));
    const main = $("rp-main");
    main.replaceChildren();
    if (!res.ok) {
      status.textContent = t("reports.error", { message: res.error.message });
      status.className = "rp-status error";
      last = null;
      return;
    }
    view = res.data;
    last = view.report;
    status.textContent = `${view.range} · ${t("reports.updated", { time: new Date().toLocaleTimeString("vi-VN", { timeZone: data.tz }) })}`;
    const render = { queue: renderQueue, satisfaction: renderSatisfaction, dossiers: renderDossiers }[state.tab];
    main.append(...render(last));
  }

  function applyLang() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  }

  function readInputs() {
    // dates typed but not yet shown still apply when another tab is chosen
    if ($("rp-from").value) state.from = $("rp-from").value;
    if ($("rp-to").value) state.to = $("rp-to").value;
  }

  for (const b of document.querySelectorAll(".rp-tab[data-tab]")) {
    b.addEventListener("click", () => { readInputs(); state.tab = b.dataset.tab; load(); });
  }
  for (const b of document.querySelectorAll(".rp-preset")) {
    b.addEventListener("click", () => { [state.from, state.to] = preset(b.dataset.preset); load(); });
  }
  $("rp-range").addEventListener("submit", (ev) => {
    ev.preventDefault();
    readInputs();
    load();
  });
  $("rp-lang").addEventListener("click", () => {
    state.lang = state.lang === "vi" ? "en" : "vi";
    applyLang();
    load();
  });
  applyLang();
  load();
})();
