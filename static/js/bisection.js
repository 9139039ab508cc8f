// Bisection page: while runs are under way, reload every data-refresh seconds (no inline script).
(function () {
  "use strict";
  var section = document.querySelector("[data-refresh]");
  if (!section) return;
  var seconds = parseInt(section.getAttribute("data-refresh"), 10) || 10;
  window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
})();
