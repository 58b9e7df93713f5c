// Dataset exports (staff). The list and the detail page poll each unfinished export's status
// every POLL_MS and move its progress bar; when one finishes (READY or FAILED) the page reloads
// once to show the server-rendered files or error. The new-export form greys out the aggregation
// unless rows are per item, and shows "Other licence" only when "Other…" is chosen.
(() => {
  "use strict";
  const POLL_MS = 2000;
  const DONE = new Set(["READY", "FAILED"]);

  function render(el, data) {
    const bar = el.querySelector(".export-progress");
    const text = el.querySelector(".progress-text");
    const tag = el.querySelector(".export-status");
    if (bar) {
      if (data.progress === null) bar.removeAttribute("value");
      else bar.value = data.progress;
    }
    if (text) {
      text.textContent = data.rows_total
        ? `${data.rows_done.toLocaleString("en-US")} / ${data.rows_total.toLocaleString("en-US")} (${Math.floor(100 * data.progress)}%)`
        : "waiting…";
    }
    if (tag && el.dataset.status !== data.status) {
      tag.textContent = data.status;
      tag.className = `tag export-status status-${data.status.toLowerCase()}`;
    }
    el.dataset.status = data.status;
  }

  async function poll() {
    const live = [...document.querySelectorAll("[data-status-url]")];
    let finished = false;
    for (const el of live) {
      try {
        const res = await fetch(el.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } });
        if (!res.ok) continue;
        const data = await res.json();
        render(el, data);
        if (DONE.has(data.status)) {
          el.removeAttribute("data-status-url");
          finished = true;
        }
      } catch (e) { /* offline for a moment: try again next round */ }
    }
    if (finished) { location.reload(); return; }
    if (document.querySelector("[data-status-url]")) setTimeout(poll, POLL_MS);
  }

  function formToggles() {
    const form = document.querySelector(".export-form");
    if (!form) return;
    const aggregation = form.querySelector("#id_aggregation");
    const other = form.querySelector(".field-licence_other");
    const licence = form.querySelector("#id_licence");
    const sync = () => {
      const unit = form.querySelector("input[name=unit]:checked");
      if (aggregation) aggregation.disabled = !unit || unit.value !== "item";
      if (other && licence) other.hidden = licence.value !== "other";
    };
    form.addEventListener("change", sync);
    // a disabled select is not submitted; the server's default (majority) is what it showed
    form.addEventListener("submit", () => { if (aggregation) aggregation.disabled = false; });
    sync();
  }

  formToggles();
  if (document.querySelector("[data-status-url]")) setTimeout(poll, POLL_MS);
})();
