/* Small SVG charts and tables for the reports pages: no library, no CDN, no inline
   style (CSP) — colours come from classes in reports.css. */
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function fmtNum(v) {
    if (v === null || v === undefined || v === "") return "–";
    if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("vi-VN") : v.toLocaleString("vi-VN", { maximumFractionDigits: 2 });
    return String(v);
  }

  /* A share as provinces print it: two decimals, Vietnamese comma ("99,68%").  The
     server already rounded it half up to two decimals, so nothing is rounded again. */
  function fmtPct(v) {
    if (v === null || v === undefined || v === "") return "–";
    return v.toLocaleString("vi-VN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + "%";
  }

  function clip(label, n) {
    const s = String(label);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function frame(title, w, h) {
    const fig = document.createElement("figure");
    fig.className = "rp-chart";
    const cap = document.createElement("figcaption");
    cap.textContent = title;
    const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title });
    fig.append(cap, root);
    return [fig, root];
  }

  function empty(root, w, h, text) {
    root.append(svg("text", { x: w / 2, y: h / 2, "text-anchor": "middle", class: "rp-axis" }, text));
  }

  /* Vertical bars: labels under the bars, the value above each. */
  function bars(title, labels, values, opts) {
    const o = Object.assign({ w: 640, h: 280, cls: "s1", emptyText: "" }, opts || {});
    const [fig, root] = frame(title, o.w, o.h);
    const left = 44, bottom = 34, top = 20, right = 10;
    const max = niceMax(Math.max(0, ...values.filter((v) => v !== null)));
    const plotH = o.h - top - bottom, plotW = o.w - left - right;
    if (!labels.length) { empty(root, o.w, o.h, o.emptyText); return fig; }
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (plotH * i) / 4;
      root.append(svg("line", { x1: left, x2: o.w - right, y1: y, y2: y, class: "rp-grid" }));
      root.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "rp-axis" }, fmtNum((max * i) / 4)));
    }
    const step = plotW / labels.length;
    const bw = Math.max(4, Math.min(48, step * 0.7));
    labels.forEach((label, i) => {
      const v = values[i] || 0;
      const bh = (plotH * v) / max;
      const x = left + step * i + (step - bw) / 2;
      const bar = svg("rect", { x, y: top + plotH - bh, width: bw, height: Math.max(0, bh), class: "rp-bar " + o.cls });
      bar.append(svg("title", {}, `${label}: ${fmtNum(values[i])}`));
      root.append(bar);
      if (values[i] !== null && values[i] !== undefined) {
        root.append(svg("text", { x: x + bw / 2, y: top + plotH - bh - 4, "text-anchor": "middle", class: "rp-value" }, fmtNum(values[i])));
      }
      root.append(svg("text", { x: x + bw / 2, y: o.h - bottom + 16, "text-anchor": "middle", class: "rp-axis" }, label));
    });
    return fig;
  }

  /* Horizontal bars, one row per label, one bar per series (e.g. issued and served). */
  function hbars(title, labels, series, opts) {
    const o = Object.assign({ w: 640, row: 30, emptyText: "" }, opts || {});
    const left = 200, right = 60, top = 26;
    const h = Math.max(80, top + labels.length * o.row + 10);
    const [fig, root] = frame(title, o.w, h);
    if (!labels.length) { empty(root, o.w, h, o.emptyText); return fig; }
    const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
    const plotW = o.w - left - right;
    const bh = (o.row - 8) / series.length;
    series.forEach((s, k) => {
      root.append(svg("rect", { x: left + k * 130, y: 4, width: 12, height: 12, class: "rp-bar " + s.cls }));
      root.append(svg("text", { x: left + k * 130 + 16, y: 14, class: "rp-axis" }, s.name));
    });
    labels.forEach((label, i) => {
      const y0 = top + i * o.row;
      const name = svg("text", { x: left - 8, y: y0 + o.row / 2 + 4, "text-anchor": "end", class: "rp-axis" }, clip(label, 28));
      name.append(svg("title", {}, label));
      root.append(name);
      series.forEach((s, k) => {
        const v = s.values[i] || 0;
        const bw = (plotW * v) / max;
        const y = y0 + 4 + k * bh;
        root.append(svg("rect", { x: left, y, width: Math.max(0, bw), height: bh - 1, class: "rp-bar " + s.cls }));
        root.append(svg("text", { x: left + bw + 4, y: y + bh - 3, class: "rp-value" }, fmtNum(s.values[i])));
      });
    });
    return fig;
  }

  /* 100% stacked rows (e.g. early / on time / late), with a legend. */
  function stacked(title, rows, parts, opts) {
    const o = Object.assign({ w: 640, row: 34, emptyText: "" }, opts || {});
    const left = 200, right = 10, top = 30;
    const h = Math.max(80, top + rows.length * o.row + 10);
    const [fig, root] = frame(title, o.w, h);
    let lx = left;
    parts.forEach((p) => {
      root.append(svg("rect", { x: lx, y: 6, width: 12, height: 12, class: "rp-bar " + p.cls }));
      const t = svg("text", { x: lx + 16, y: 16, class: "rp-axis" }, p.name);
      root.append(t);
      lx += 24 + p.name.length * 7.5;
    });
    if (!rows.length) { empty(root, o.w, h, o.emptyText); return fig; }
    const plotW = o.w - left - right;
    rows.forEach((r, i) => {
      const y = top + i * o.row;
      const total = parts.reduce((a, p) => a + (r.values[p.key] || 0), 0);
      const name = svg("text", { x: left - 8, y: y + o.row / 2 + 2, "text-anchor": "end", class: "rp-axis" }, clip(r.label, 28));
      name.append(svg("title", {}, r.label));
      root.append(name);
      let x = left;
      parts.forEach((p) => {
        const v = r.values[p.key] || 0;
        const w = total ? (plotW * v) / total : 0;
        const rect = svg("rect", { x, y: y + 4, width: Math.max(0, w), height: o.row - 10, class: "rp-bar " + p.cls });
        rect.append(svg("title", {}, `${p.name}: ${fmtNum(v)}`));
        root.append(rect);
        if (w > 34) root.append(svg("text", { x: x + w / 2, y: y + o.row / 2 + 2, "text-anchor": "middle", class: "rp-inbar" }, fmtNum(v)));
        x += w;
      });
    });
    return fig;
  }

  /* A line over time (e.g. % satisfied by day); the y axis starts near the lowest value
     so 97% and 99% do not look the same. */
  function line(title, labels, values, opts) {
    const o = Object.assign({ w: 640, h: 260, cls: "s1", max: 100, emptyText: "" }, opts || {});
    const [fig, root] = frame(title, o.w, o.h);
    const left = 44, bottom = 34, top = 16, right = 14;
    const vals = values.filter((v) => v !== null && v !== undefined);
    if (!vals.length) { empty(root, o.w, o.h, o.emptyText); return fig; }
    const min = Math.max(0, Math.floor((Math.min(...vals) - 5) / 5) * 5);
    const plotH = o.h - top - bottom, plotW = o.w - left - right;
    const yOf = (v) => top + plotH - (plotH * (v - min)) / (o.max - min || 1);
    for (let i = 0; i <= 4; i++) {
      const v = min + ((o.max - min) * i) / 4;
      root.append(svg("line", { x1: left, x2: o.w - right, y1: yOf(v), y2: yOf(v), class: "rp-grid" }));
      root.append(svg("text", { x: left - 6, y: yOf(v) + 4, "text-anchor": "end", class: "rp-axis" }, fmtNum(Math.round(v * 10) / 10)));
    }
    const step = labels.length > 1 ? plotW / (labels.length - 1) : 0;
    const pts = [];
    labels.forEach((label, i) => {
      const x = left + (labels.length > 1 ? step * i : plotW / 2);
      if (values[i] !== null && values[i] !== undefined) pts.push([x, yOf(values[i]), values[i], label]);
      const every = Math.ceil(labels.length / 10);
      if (i % every === 0) root.append(svg("text", { x, y: o.h - bottom + 16, "text-anchor": "middle", class: "rp-axis" }, label));
    });
    root.append(svg("polyline", { points: pts.map((p) => `${p[0]},${p[1]}`).join(" "), class: "rp-line " + o.cls }));
    for (const [x, y, v, label] of pts) {
      const dot = svg("circle", { cx: x, cy: y, r: 3.5, class: "rp-dot " + o.cls });
      dot.append(svg("title", {}, `${label}: ${fmtNum(v)}`));
      root.append(dot);
    }
    return fig;
  }

  function flatten(obj, prefix, out) {
    out = out || {};
    for (const [k, v] of Object.entries(obj || {})) {
      const key = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
      else out[key] = Array.isArray(v) ? v.join(", ") : v;
    }
    return out;
  }

  /* A table of rows (objects, nested ones flattened), columns labelled from texts. */
  function table(title, rows, texts, columns) {
    const wrap = document.createElement("section");
    wrap.className = "rp-table-wrap";
    const h = document.createElement("h3");
    h.textContent = title;
    wrap.append(h);
    const flat = rows.map((r) => flatten(r));
    const cols = columns || [];
    if (!columns) for (const r of flat) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
    const tbl = document.createElement("table");
    tbl.className = "rp-table";
    const head = tbl.createTHead().insertRow();
    for (const c of cols) {
      const th = document.createElement("th");
      th.textContent = texts["reports.col." + c] || c;
      head.append(th);
    }
    const body = tbl.createTBody();
    for (const r of flat) {
      const tr = body.insertRow();
      for (const c of cols) {
        const td = tr.insertCell();
        td.textContent = fmtNum(r[c]);
        if (typeof r[c] === "number") td.className = "num";
      }
    }
    wrap.append(tbl);
    return wrap;
  }

  /* A table the server wrote as a person reads it (format=view): labels and text cells. */
  function grid(title, labels, rows, numeric) {
    const wrap = document.createElement("section");
    wrap.className = "rp-table-wrap";
    const h = document.createElement("h3");
    h.textContent = title;
    wrap.append(h);
    const tbl = document.createElement("table");
    tbl.className = "rp-table";
    const head = tbl.createTHead().insertRow();
    for (const label of labels) {
      const th = document.createElement("th");
      th.textContent = label;
      head.append(th);
    }
    const body = tbl.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      row.forEach((text, i) => {
        const td = tr.insertCell();
        td.textContent = text;
        if (numeric && numeric[i]) td.className = "num";
      });
    }
    wrap.append(tbl);
    return wrap;
  }

  function kpis(items) {
    const box = document.createElement("div");
    box.className = "rp-kpis";
    for (const it of items) {
      const card = document.createElement("div");
      card.className = "rp-kpi" + (it.cls ? " " + it.cls : "");
      const v = document.createElement("div");
      v.className = "rp-kpi-value";
      v.textContent = it.value;
      const l = document.createElement("div");
      l.className = "rp-kpi-label";
      l.textContent = it.label;
      card.append(v, l);
      box.append(card);
    }
    return box;
  }

  window.motcuaReports = { bars, hbars, stacked, line, table, grid, kpis, fmtNum, fmtPct, flatten };
})();
