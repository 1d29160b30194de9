/* /supervisor/remote: close or reopen remote issuing of a service for today. */
(function () {
  "use strict";
  const M = window.motcua;
  document.querySelectorAll("[data-remote]").forEach((b) => {
    b.addEventListener("click", async () => {
      const code = b.getAttribute("data-code");
      const r = await M.api("POST", `/remote/services/${encodeURIComponent(code)}/${b.getAttribute("data-remote")}`);
      if (r.ok) window.location.reload();
      else document.getElementById("msg").textContent = r.error.message;
    });
  });
})();
