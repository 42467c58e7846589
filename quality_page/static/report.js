/* nianbao quality report: filters of the failed-checks table (offline, no library).
 * Rows carry their facets as data-* attributes written (escaped) by quality_page/report.py; this
 * script only compares those attribute values with the selected option values and toggles
 * `hidden`. It never builds markup from data: every value stays text. */
"use strict";
(function () {
  function init() {
    document.querySelectorAll("form.filters").forEach(function (form) {
      var table = document.getElementById(form.getAttribute("data-table"));
      var shown = document.getElementById(form.getAttribute("data-shown"));
      if (!table || !table.tBodies.length) { return; }
      var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-facet]"));
      var rows = Array.prototype.slice.call(table.tBodies[0].rows);
      function apply() {
        var n = 0;
        rows.forEach(function (row) {
          var keep = selects.every(function (s) {
            return s.value === "" || row.getAttribute("data-" + s.getAttribute("data-facet")) === s.value;
          });
          row.hidden = !keep;
          if (keep) { n += 1; }
        });
        if (shown) { shown.textContent = String(n); }
      }
      selects.forEach(function (s) { s.addEventListener("change", apply); });
      form.addEventListener("reset", function (e) {
        e.preventDefault();
        selects.forEach(function (s) { s.value = ""; });
        apply();
      });
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      apply();
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
