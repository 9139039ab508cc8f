// Sync status page: poll the run's JSON while it is queued or running (no inline script).
(function () {
  "use strict";
  var section = document.querySelector(".sync-progress[data-url]");
  if (!section) return;
  var url = section.getAttribute("data-url");
  // Reload once when a run we watched finishes, so that the tables below show it.
  var watching = section.getAttribute("data-active") === "true";
  var bar = section.querySelector("progress");
  var statusClasses = { ok: "status-ok", failed: "status-fail", interrupted: "status-warn" };

  function show(data) {
    section.querySelectorAll("[data-field]").forEach(function (el) {
      var key = el.getAttribute("data-field");
      if (key in data && data[key] !== null && data[key] !== "") el.textContent = String(data[key]);
    });
    var status = section.querySelector("[data-field=status_display]");
    if (status) status.className = "status " + (statusClasses[data.status] || "status-unknown");
    if (bar) {
      if (!data.active) bar.value = 100;
      else if (data.last_page) bar.value = Math.min(100, Math.round((100 * data.pages) / data.last_page));
      else bar.removeAttribute("value");
    }
    return data.active;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && show(data)) window.setTimeout(poll, 1500);
        else if (data && !data.active && watching) {
          watching = false;
          window.setTimeout(function () { window.location.reload(); }, 800);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
