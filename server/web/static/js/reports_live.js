/* Supervisors' live dashboard: today's figures, refreshed every few seconds. */
(function () {
  "use strict";
  const M = window.motcua;
  const R = window.motcuaReports;
  const data = JSON.parse(document.getElementById("reports-data").textContent);
  const $ = (id) => document.getElementById(id);
  let lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "vi";
  let timer = null;
  const t = (key, p) => M.fmt(data.texts[lang][key] || key, p || {});
  const min = (v) => (v === null || v === undefined ? "–" : `${R.fmtNum(v)} ${t("reports.minutes")}`);

  function render(r) {
    const tot = r.totals;
    const sat = r.satisfaction;
    const hours = r.by_hour.map((h) => `${h.hour}h`);
    const counters = r.counters.map((c) => ({
      counter: c.number,
      name: c.name,
      state: t("reports.counter_state." + c.state) + (c.pause_reason ? ` (${t("reports.pause." + c.pause_reason)})` : ""),
      ticket: c.serving_label || "",
      served: c.served,
      no_show: c.no_show,
      "service_time.mean_min": c.service_time ? c.service_time.mean_min : null,
    }));
    const wrap = document.createElement("div");
    wrap.className = "rp-charts";
    wrap.append(
      R.bars(t("reports.chart.tickets_by_hour"), hours, r.by_hour.map((h) => h.issued), { cls: "s1", emptyText: t("reports.empty") }),
      R.hbars(t("reports.kpi.waiting"), r.waiting.map((w) => w.name), [{ name: t("reports.kpi.waiting"), values: r.waiting.map((w) => w.waiting), cls: "s2" }], { emptyText: t("reports.empty") })
    );
    const texts = data.texts[lang];
    return [
      R.kpis([
        { label: t("reports.kpi.issued"), value: R.fmtNum(tot.issued) },
        { label: t("reports.kpi.served"), value: R.fmtNum(tot.served) },
        { label: t("reports.kpi.waiting"), value: R.fmtNum(r.waiting_total), cls: r.waiting_total > 20 ? "bad" : "" },
        { label: t("reports.kpi.no_show"), value: R.fmtNum(tot.no_show) },
        { label: t("reports.kpi.wait_mean"), value: min(tot.wait.mean_min) },
        { label: t("reports.kpi.service_mean"), value: min(tot.service_time.mean_min) },
        { label: t("reports.kpi.satisfied"), value: sat.count ? R.fmtPct(sat.pct_satisfied_or_better) : "–", cls: "good" },
      ]),
      wrap,
      R.table(t("reports.table.by_counter"), counters, texts, ["counter", "name", "state", "ticket", "served", "no_show", "service_time.mean_min"]),
      R.table(t("reports.table.by_service"), r.by_service, data.texts[lang], ["service", "name", "issued", "served", "no_show", "open", "wait.mean_min", "service_time.mean_min"]),
    ];
  }

  async function refresh() {
    clearTimeout(timer);
    const res = await M.api("GET", "/reports/live?lang=" + lang);
    const status = $("rp-status");
    if (res.ok) {
      $("rp-main").replaceChildren(...render(res.data));
      const [y, m, d] = res.data.day.split("-");
      status.textContent = `${d}/${m}/${y} · ${t("reports.updated", { time: new Date().toLocaleTimeString("vi-VN", { timeZone: data.tz }) })}`;
      status.className = "rp-status";
    } else {
      status.textContent = t("reports.error", { message: res.error.message });
      status.className = "rp-status error";
    }
    timer = setTimeout(refresh, data.refresh_s * 1000);
  }

  $("rp-lang").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    refresh();
  });
  refresh();
})();
