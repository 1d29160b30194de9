/* Shared by every page: JSON API calls with the session's CSRF token, Socket.IO
   connections with the session cookie, and small text helpers. No framework. */
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  async function api(method, path, body) {
    const opts = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch("/api/v1" + path, opts);
    } catch (e) {
      return { ok: false, status: 0, error: { code: "offline", message: "Mất kết nối tới máy chủ." } };
    }
    let data = null;
    if (resp.status !== 204) {
      try { data = await resp.json(); } catch (e) { data = null; }
    }
    if (!resp.ok) {
      const error = (data && data.error) || { code: "http_" + resp.status, message: "Lỗi " + resp.status };
      return { ok: false, status: resp.status, error, data };
    }
    return { ok: true, status: resp.status, data };
  }

  function socket(namespace, opts) {
    // The session cookie authenticates; transports fall back to polling when needed.
    return window.io(namespace, Object.assign({ withCredentials: true, reconnectionDelayMax: 5000 }, opts || {}));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else if (k === "text") node.textContent = v;
      else node[k] = v;
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function fmt(template, params) {
    return template.replace(/\{(\w+)\}/g, (_, k) => (k in params ? params[k] : "{" + k + "}"));
  }

  // Whole seconds since an ISO instant by the server's clock (skew = server minus ours).
  function secondsSince(iso, skew) {
    return Math.max(0, Math.floor((Date.now() + (skew || 0) - Date.parse(iso)) / 1000));
  }

  // Elapsed seconds as the consoles show them: 4:07, or 1:04:07 past an hour.
  function clock(s) {
    const two = (n) => String(n).padStart(2, "0");
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + two(m) : m) + ":" + two(s % 60);
  }

  // say(text, kind) for the message line #id: it clears itself after `ms`, except an
  // error when `keepErrors`; a new message restarts the wait.
  function messageLine(id, ms, keepErrors) {
    let timer = null;
    return function say(text, kind) {
      const node = document.getElementById(id);
      node.textContent = text || "";
      node.className = "msg " + (kind || "info");
      clearTimeout(timer);
      if (text && !(keepErrors && kind === "error")) timer = setTimeout(() => { node.textContent = ""; }, ms);
    };
  }

  window.motcua = { api, socket, el, fmt, csrf, secondsSince, clock, messageLine };
})();
