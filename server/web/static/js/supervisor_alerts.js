/* The hall page's alerts: a kiosk over its ticket limit (pushed on /display to the
   supervisors' room, and the last two hours' from GET /api/v1/alerts on load), each
   with one action: cancel the still-waiting tickets that kiosk issued in a window.
   supervisor.js owns the socket and hands each `alert` to window.motcuaHallAlerts. */
(function () {
  "use strict";
  const M = window.motcua;
  const root = document.getElementById("hall");
  if (!root) return;
  const boot = JSON.parse(root.dataset.boot);
  const $ = (id) => document.getElementById(id);
  const say = M.messageLine("msg", 12000, true);
  const MAX = 20;
  const skew = Date.parse(boot.now) - Date.now(); // the server's clock minus ours
  let alerts = []; // newest first
  let target = null; // the alert whose flood the dialog cancels

  const hhmm = (iso) => new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: boot.tz });
  const hhmmss = (iso) => new Date(iso).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: boot.tz });

  function text(a) {
    if (a.kind === "staff_ticket_limit") {
      return `Nhân viên ${a.user_name} vượt giới hạn cấp số lúc ${hhmmss(a.at)} ` +
        `(${a.burst} số liên tiếp, sau đó 1 số mỗi ${String(a.every_s).replace(".", ",")} giây).`;
    }
    return `Máy lấy số ${a.device_name} vượt giới hạn cấp số lúc ${hhmmss(a.at)} ` +
      `(${a.burst} số liên tiếp, sau đó 1 số mỗi ${String(a.every_s).replace(".", ",")} giây).`;
  }

  function render() {
    $("alerts-panel").hidden = alerts.length === 0;
    $("alerts").replaceChildren(...alerts.map((a) => {
      const btn = M.el("button", { type: "button", class: "small danger", text: "Huỷ các số đang chờ của máy này…" });
      btn.disabled = a.device == null;
      btn.addEventListener("click", () => openFlood(a));
      const dismiss = M.el("button", { type: "button", class: "small", text: "Ẩn" });
      dismiss.addEventListener("click", () => { alerts = alerts.filter((x) => x !== a); render(); });
      return M.el("li", { class: "alert", "data-device": a.device_name || "" }, M.el("p", { text: text(a) }), btn, dismiss);
    }));
  }

  function add(a, live) {
    const who = (x) => x.device_name || x.user_name;
    if (!a || !who(a) || alerts.some((x) => who(x) === who(a) && x.at === a.at)) return;
    alerts = [a].concat(alerts).sort((x, y) => Date.parse(y.at) - Date.parse(x.at)).slice(0, MAX);
    render();
    if (live) say(text(a), "error");
  }

  async function load() {
    const r = await M.api("GET", "/alerts");
    if (r.ok && r.data && Array.isArray(r.data.alerts)) r.data.alerts.forEach((a) => add(a, false));
  }

  function openFlood(a) {
    target = a;
    $("flood-device").textContent = a.device_name;
    const from = new Date(Date.parse(a.at) - 10 * 60000).toISOString();
    const to = new Date(Date.now() + skew + 60000).toISOString();
    $("flood-from").value = hhmm(from);
    $("flood-to").value = hhmm(to);
    $("flood-reason").value = "";
    $("dlg-flood").showModal();
    $("flood-reason").focus();
  }

  const at = (hm) => `${boot.today}T${hm}:00${boot.utc_offset}`;
  document.querySelectorAll("#dlg-flood [data-close]").forEach((b) => b.addEventListener("click", () => $("dlg-flood").close()));
  $("form-flood").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!target) return;
    const body = { since: at($("flood-from").value), until: at($("flood-to").value), reason: $("flood-reason").value };
    const r = await M.api("POST", `/devices/${target.device}/cancel-waiting`, body);
    if (!r.ok) { say(r.error.message, "error"); return; }
    $("dlg-flood").close();
    const d = r.data;
    const shown = d.labels.slice(0, 30).join(", ") + (d.labels.length > 30 ? "…" : "");
    say(d.cancelled ? `Đã huỷ ${d.cancelled} số đang chờ của máy ${d.device_name}: ${shown}.` + (d.more ? " Còn số khác: bấm huỷ lần nữa." : "")
      : `Máy ${d.device_name} không còn số nào đang chờ trong khoảng giờ đó.`, "ok");
    alerts = alerts.filter((x) => x.device_name !== d.device_name || d.more);
    render();
  });

  window.motcuaHallAlerts = { add, load };
})();
