// Vexil dashboard: small conveniences only; every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as a choice changes.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // A change to what is served asks first.
  for (const form of document.querySelectorAll("form.override-set, form.override-lift")) {
    form.addEventListener("submit", (event) => {
      const what = form.classList.contains("override-lift") ? "Lift this override?" : "Set this override?";
      if (!window.confirm(what)) event.preventDefault();
    });
  }
});
