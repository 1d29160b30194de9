/* Shared by the hall board (board.js) and the counter screens (board_counter.js):
   the page's data, catalog texts, the server's clock, the 1920×1080 stage scaled to
   any screen (letterboxed, like the pygame board), and the offline mark. No framework. */
(function () {
  "use strict";
  const STAGE_W = 1920;
  const STAGE_H = 1080;
  const data = JSON.parse(document.getElementById("board-data").textContent);
  const texts = data.texts || {};

  /* Python's ISO-8601 has microseconds; older TV browsers only parse milliseconds. */
  function parseTime(iso) {
    return Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1"));
  }

  // This screen's clock minus the server's: every age and the clock on screen use the
  // server's time, so a TV whose clock was never set still judges a call's age right.
  let offsetMs = Date.now() - parseTime(data.server_time);
  if (!isFinite(offsetMs)) offsetMs = 0;

  function serverNow() {
    return Date.now() - offsetMs;
  }

  async function syncClock() {
    const sent = Date.now();
    const r = await window.motcua.api("GET", "/health");
    const received = Date.now();
    const at = r.ok && r.data ? parseTime(r.data.time) : NaN;
    if (isFinite(at)) offsetMs = (sent + received) / 2 - at;
  }

  /* A catalog text with {name} and {name:02d} placeholders filled in. */
  function text(key, params) {
    const template = key in texts ? texts[key] : key;
    return template.replace(/\{(\w+)(?::0?(\d+)d)?\}/g, (whole, name, width) => {
      if (!params || !(name in params)) return whole;
      const value = String(params[name]);
      return width ? value.padStart(Number(width), "0") : value;
    });
  }

  const WEEKDAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
  let formatter = null;
  try {
    formatter = new Intl.DateTimeFormat("en-GB", {
      timeZone: data.timezone || "Asia/Ho_Chi_Minh",
      year: "numeric", month: "numeric", day: "numeric", weekday: "short",
      hour: "numeric", minute: "numeric", second: "numeric", hourCycle: "h23",
    });
  } catch (e) {
    formatter = null; // no time zone support: Vietnam is UTC+7 all year
  }

  function parts(ms) {
    if (formatter) {
      const out = {};
      for (const p of formatter.formatToParts(new Date(ms))) out[p.type] = p.value;
      return {
        year: Number(out.year), month: Number(out.month), day: Number(out.day),
        hour: Number(out.hour) % 24, minute: Number(out.minute), second: Number(out.second),
        weekday: WEEKDAYS[out.weekday] || 0,
      };
    }
    const d = new Date(ms + 7 * 3600 * 1000);
    return {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
      hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(),
      weekday: (d.getUTCDay() + 6) % 7,
    };
  }

  function renderClock() {
    const p = parts(serverNow());
    const clock = document.getElementById("bd-clock");
    const date = document.getElementById("bd-date");
    if (clock) clock.textContent = text("board.clock", p);
    if (date) {
      date.textContent = text("board.date", Object.assign({}, p, {
        weekday: text("board.weekday." + p.weekday),
      }));
    }
  }

  /* Shrink an element's font until its text fits its box (long labels, "Quầy 12"). */
  function fit(node, maxPx, minPx) {
    node.style.fontSize = maxPx + "px";
    let size = maxPx;
    while (size > minPx && (node.scrollWidth > node.clientWidth + 1 || node.scrollHeight > node.clientHeight + 1)) {
      size = Math.max(minPx, Math.floor(size * 0.92));
      node.style.fontSize = size + "px";
    }
  }

  /* Scale the fixed 1920×1080 stage into the window, centred with black bars. */
  function fitStage(stage) {
    const scale = Math.min(window.innerWidth / STAGE_W, window.innerHeight / STAGE_H);
    const left = (window.innerWidth - STAGE_W * scale) / 2;
    const top = (window.innerHeight - STAGE_H * scale) / 2;
    stage.style.transform = "translate(" + left + "px," + top + "px) scale(" + scale + ")";
  }

  function keepStageFitted(stage) {
    fitStage(stage);
    window.addEventListener("resize", () => fitStage(stage));
  }

  function setOffline(offline) {
    const mark = document.getElementById("bd-offline");
    if (mark) mark.hidden = !offline;
    document.body.classList.toggle("bd-is-offline", offline);
  }

  /* socket.io retries lost connections by itself but not a refusal (a revoked or
     rotated device): reload later, so the screen comes back or shows how to pair. */
  let reloadPlanned = false;
  function retryRefused(socket) {
    if (socket.active || reloadPlanned) return;
    reloadPlanned = true;
    setTimeout(() => window.location.reload(), 30000);
  }

  window.motcuaBoardKit = {
    data, text, parseTime, serverNow, syncClock, parts, renderClock, fit, keepStageFitted, setOffline,
    retryRefused,
  };
})();
