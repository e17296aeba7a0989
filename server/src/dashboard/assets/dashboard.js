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
  // An experiment's analysis still being read (or a newer one being read):
  // its section, asked for alone, waits for it and takes this one's place.
  for (const section of document.querySelectorAll("section[data-src]")) {
    fetch(section.dataset.src, { credentials: "same-origin", redirect: "error", headers: { accept: "text/html" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((html) => {
        section.outerHTML = html;
      })
      .catch((e) => {
        const note = document.createElement("p");
        note.className = "error";
        note.setAttribute("role", "alert");
        note.textContent = `The analysis could not be read (${e.message}); reload the page to try again.`;
        section.append(note);
        section.removeAttribute("aria-busy");
      });
  }
});
