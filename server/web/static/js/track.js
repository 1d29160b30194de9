/* The ticket tracking page: live place in the queue and "your turn" on the citizen's
   phone, through the public /track namespace (`follow` the token, receive `ticket`). */
(function () {
  "use strict";
  const M = window.motcua;
  const data = JSON.parse(document.getElementById("track-data").textContent);
  const $ = (id) => document.getElementById(id);
  const stored = (() => {
    try { return window.localStorage.getItem("motcua.lang"); } catch (e) { return null; }
  })();
  const state = { lang: stored === "en" || stored === "vi" ? stored : data.lang, ticket: data.ticket, up: true };
  let vibratedFor = null;
  let nearAlerted = false;

  // "your turn is near": a short beep (no audio file) and a vibration, once
  function nearAlert() {
    nearAlerted = true;
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      const ac = new Ctx();
      const osc = ac.createOscillator();
      const gain = ac.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(ac.destination);
      osc.start();
      osc.stop(ac.currentTime + 0.4);
    } catch (e) { /* no audio on this phone: the vibration and the text remain */ }
    document.dispatchEvent(new CustomEvent("motcua:near"));
  }

  function tr(key, params) {
    const s = (data.texts[state.lang] || data.texts.vi)["track." + key] || data.texts.vi["track." + key] || key;
    return params ? M.fmt(s, params) : s;
  }
  function counted(base, n) {
    if (n === 0) return tr(base + "_none");
    if (n === 1) return tr(base + "_one");
    return tr(base, { n });
  }
  function dayText(iso) {
    const [y, m, d] = iso.split("-");
    return d + "/" + m + "/" + y;
  }

  function render() {
    const t = state.ticket;
    document.documentElement.lang = state.lang;
    $("center").textContent = data.center[state.lang] || data.center.vi;
    $("lang").textContent = tr("lang_switch");
    $("title").textContent = tr("title");
    $("number-title").textContent = tr("number");
    $("number").textContent = t.label;
    $("service").textContent = (state.lang === "en" && t.service_name_en) || t.service_name_vi || t.service;
    const prio = data.priorities[t.priority];
    $("priority").hidden = !prio;
    $("priority").textContent = prio ? tr("priority", { name: prio[state.lang] || prio.vi }) : "";
    let status = t.status;
    let main = "";
    let sub = "";
    if (t.status === "waiting" && t.day !== data.today) {
      status = "expired";
      main = tr("expired", { day: dayText(t.day) });
    } else if (t.status === "waiting") {
      main = t.people_ahead === null ? "" : counted("ahead", t.people_ahead);
      sub = t.estimated_wait_min === null ? "" : counted("wait", t.estimated_wait_min);
    } else if (t.status === "called") {
      main = tr("your_turn", { counter: t.counter });
    } else if (t.status === "serving") {
      main = tr("serving", { counter: t.counter });
    } else if (t.status === "done") {
      main = tr("done");
    } else if (t.status === "no_show") {
      main = tr("no_show");
    } else if (t.status === "cancelled") {
      main = tr("cancelled");
    } else if (t.status === "lapsed") {
      main = tr("lapsed");
    }
    $("status").dataset.status = status;
    $("status-main").textContent = main;
    $("status-sub").textContent = sub;
    $("status-sub").hidden = !sub;
    $("hint").hidden = !(status === "waiting" || status === "called");
    $("hint").textContent = tr("watch_board");
    // a number taken from home: check in on arrival; it may be given back while it waits
    const remote = t.remote && status === "waiting";
    $("remote").hidden = !remote;
    $("remote-note").textContent = t.checked_in ? tr("checked_in") : tr("check_in_needed");
    $("cancel").textContent = tr("cancel");
    if ($("qr")) $("qr").hidden = !!t.checked_in;
    $("live").textContent = state.up ? tr("live") : tr("reconnecting");
    $("live").dataset.up = state.up ? "1" : "0";
    const near = t.remote && status === "waiting" && t.people_ahead !== null && t.people_ahead <= data.near_ahead;
    $("near").hidden = !near;
    $("near").textContent = tr("near");
    if (near && !nearAlerted) nearAlert();
    if (t.status === "called" && vibratedFor !== t.called_at) {
      vibratedFor = t.called_at;
      if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
    }
    document.title = tr("title") + " — " + t.label;
  }

  function update(ticket) {
    if (!ticket) return;
    state.ticket = ticket;
    render();
    document.dispatchEvent(new CustomEvent("motcua:ticket-status", { detail: { status: ticket.status } }));
  }

  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "vi" ? "en" : "vi";
    try { window.localStorage.setItem("motcua.lang", state.lang); } catch (e) { /* private mode */ }
    render();
  });

  $("cancel").addEventListener("click", async () => {
    if (!window.confirm(tr("cancel_confirm", { label: state.ticket.label }))) return;
    const res = await M.api("POST", `/remote/tickets/${data.token}/cancel`);
    if (res.ok) update(res.data.ticket);
    else $("remote-note").textContent = (res.error && res.error.message) || "";
  });

  const sock = M.socket("/track");
  sock.on("connect", () => {
    state.up = true;
    sock.emit("follow", { token: data.token }, (ack) => {
      if (!ack || !ack.ok) state.up = false;
      render();
    });
  });
  sock.on("disconnect", () => {
    state.up = false;
    render();
  });
  sock.on("ticket", (msg) => update(msg && msg.ticket));
  render();
})();
