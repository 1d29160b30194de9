/* Dossier file import: upload with a progress bar (XMLHttpRequest reports upload
   progress, fetch does not), then follow the background job until its report. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("import-form");
  const bar = $("bar");
  const phase = $("phase");
  const error = $("error");

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  function upload(body) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/dossiers/imports");
      xhr.setRequestHeader("X-CSRF-Token", window.motcua.csrf);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) bar.value = Math.round((50 * e.loaded) / e.total);
      });
      xhr.addEventListener("load", () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        resolve({ status: xhr.status, data });
      });
      xhr.addEventListener("error", () => resolve({ status: 0, data: null }));
      xhr.send(body);
    });
  }

  async function follow(id) {
    for (;;) {
      const r = await window.motcua.api("GET", "/dossiers/imports/" + encodeURIComponent(id));
      if (!r.ok) { showError(r.error.message); return; }
      const job = r.data.job;
      if (job.total) {
        bar.value = 50 + Math.round((50 * job.processed) / job.total);
        const what = { validating: "Đang kiểm tra", applying: "Đang lưu", undoing: "Đang hoàn tác" }[job.phase] || "Đang đọc";
        phase.textContent = `${what} ${job.processed}/${job.total} dòng…`;
      } else if (job.phase === "reading") {
        phase.textContent = `Đang đọc tệp… ${job.processed} dòng`;
      }
      if (job.status === "failed") { showError(job.error.message); finish(); return; }
      if (job.status === "done") { bar.value = 100; report(job.report); finish(); return; }
      await new Promise((ok) => setTimeout(ok, 300));
    }
  }

  function report(r) {
    const verdict = r.dry_run
      ? "Chạy thử xong — chưa lưu gì"
      : r.committed ? "Đã lưu" : "Không lưu gì (có dòng lỗi, chế độ tất cả hoặc không)";
    $("verdict").textContent = verdict;
    $("summary").textContent =
      `${r.rows} dòng: ${r.accepted} hợp lệ (${r.created} hồ sơ mới, ${r.updated} cập nhật, ` +
      `${r.unchanged} không đổi), ${r.rejected_total ?? r.rejected.length} bị từ chối; ` +
      `${r.events} sự kiện` +
      (r.committed ? `, ${r.notifications} tin nhắn chờ gửi` : "") +
      `. Mã hóa: ${r.encoding || "Excel"}. Thời gian: ${r.seconds} giây.` +
      (r.ignored_columns.length ? ` Bỏ qua cột: ${r.ignored_columns.join(", ")}.` : "");
    const table = $("rejected");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const row of r.rejected) {
      body.append(window.motcua.el("tr", {},
        window.motcua.el("td", { text: String(row.line) }),
        window.motcua.el("td", { text: row.code || "—" }),
        window.motcua.el("td", { text: row.reason })));
    }
    table.hidden = r.rejected.length === 0;
    $("report").hidden = false;
  }

  function finish() {
    $("start").disabled = false;
    phase.textContent = "";
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    $("report").hidden = true;
    if (!$("file").files.length) { showError("Chưa chọn tệp để nhập."); return; }
    const body = new FormData(form);
    if (!$("dry-run").checked) body.set("dry_run", "0");
    if (!form.querySelector('input[name="notify"]').checked) body.set("notify", "0");
    $("start").disabled = true;
    $("progress").hidden = false;
    bar.value = 0;
    phase.textContent = "Đang tải tệp lên…";
    const r = await upload(body);
    if (r.status !== 202) {
      showError((r.data && r.data.error && r.data.error.message) || "Không tải được tệp lên (lỗi " + r.status + ").");
      finish();
      return;
    }
    phase.textContent = "Đang xử lý…";
    follow(r.data.job.id);
  });
})();
