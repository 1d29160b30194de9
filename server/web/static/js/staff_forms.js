/* Forms of the staff area: ask before a change that cuts someone off (revoking a
   device or a token, locking an account, resetting a password). */
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
})();
