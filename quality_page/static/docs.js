/* nianbao: the controls of GX Data Docs, offline and without jQuery/bootstrap/bootstrap-table.
 * GX's own inline handlers (onclick="…") are removed when the pages are re-serialised from a whitelist
 * (quality_page/offline.py); this file binds the same controls by GX's markup:
 *   - "Show All" / "Failed Only" (radio inputs #option1/#option2): the rows and sections of
 *     expectations that passed (GX marks them hide-succeeded-*) are hidden or shown;
 *   - "Show more info…" (a[data-toggle=collapse]): shows/hides its target (.collapse/.show);
 *   - the index tables: one filter per column (text, or a list of the column's values where GX asked
 *     for a select) and "Clear Filters".
 * It only reads text and toggles `hidden`/classes; it never writes markup. */
"use strict";
(function () {
  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function succeeded() {
    var els = [];
    all(".hide-succeeded-validation-target-child").forEach(function (el) {
      if (el.parentElement) { els.push(el.parentElement); }
    });
    all(".hide-succeeded-validation-target").forEach(function (el) { els.push(el); });
    all(".hide-succeeded-validations-column-section-target-child").forEach(function (el) {
      var section = el.parentElement && el.parentElement.parentElement;
      if (!section) { return; }
      els.push(section);
      if (section.id) {
        all("a[href]").forEach(function (a) {
          if (a.getAttribute("href") === "#" + section.id) { els.push(a); }
        });
      }
    });
    return els;
  }

  function setFailedOnly(on) {
    succeeded().forEach(function (el) { el.hidden = on; });
    document.body.setAttribute("data-failed-only", on ? "true" : "false");
  }

  function bindValidationFilter() {
    var showAll = document.getElementById("option1");
    var failedOnly = document.getElementById("option2");
    if (!showAll || !failedOnly) { return; }
    function mark(active) {
      [showAll, failedOnly].forEach(function (input) {
        var label = input.closest("label");
        if (label) { label.classList.toggle("active", input === active); }
      });
    }
    showAll.addEventListener("change", function () { if (showAll.checked) { setFailedOnly(false); mark(showAll); } });
    failedOnly.addEventListener("change", function () { if (failedOnly.checked) { setFailedOnly(true); mark(failedOnly); } });
  }

  function bindCollapses() {
    all("a[data-toggle='collapse']").forEach(function (a) {
      var href = a.getAttribute("href") || "";
      if (href.charAt(0) !== "#") { return; }
      a.addEventListener("click", function (e) {
        var target = document.getElementById(href.slice(1));
        if (!target) { return; }
        e.preventDefault();
        var open = target.classList.toggle("show");
        a.setAttribute("aria-expanded", open ? "true" : "false");
      });
    });
  }

  function cellText(cell) {
    return (cell ? cell.textContent : "").replace(/\s+/g, " ").trim();
  }

  function bindTableFilters() {
    all("div[id$='-toolbar']").forEach(function (toolbar) {
      var table = document.getElementById(toolbar.id.slice(0, -"-toolbar".length));
      var button = toolbar.querySelector("button");
      if (!table || !table.tHead || !table.tBodies.length) { return; }
      var heads = all("th", table.tHead.rows[0]);
      var rows = all("tr", table.tBodies[0]);
      var filterRow = document.createElement("tr");
      filterRow.className = "nianbao-filters";
      var controls = heads.map(function (th, k) {
        var td = document.createElement("td");
        var kind = th.getAttribute("data-filter-control") || "input";
        var control;
        if (kind === "select") {
          control = document.createElement("select");
          var blank = document.createElement("option");
          blank.value = "";
          blank.textContent = "(all)";
          control.appendChild(blank);
          var values = {};
          rows.forEach(function (r) { values[cellText(r.cells[k])] = true; });
          Object.keys(values).sort().forEach(function (v) {
            var o = document.createElement("option");
            o.value = v;
            o.textContent = v;
            control.appendChild(o);
          });
        } else {
          control = document.createElement("input");
          control.type = "search";
          control.placeholder = "filter";
        }
        control.setAttribute("data-column", String(k));
        control.setAttribute("data-kind", kind);
        td.appendChild(control);
        filterRow.appendChild(td);
        return control;
      });
      table.tHead.appendChild(filterRow);
      function apply() {
        rows.forEach(function (r) {
          r.hidden = !controls.every(function (c) {
            var v = c.value.trim().toLowerCase();
            if (v === "") { return true; }
            var text = cellText(r.cells[Number(c.getAttribute("data-column"))]).toLowerCase();
            return c.getAttribute("data-kind") === "select" ? text === v : text.indexOf(v) >= 0;
          });
        });
      }
      controls.forEach(function (c) { c.addEventListener("input", apply); c.addEventListener("change", apply); });
      if (button) {
        button.addEventListener("click", function () {
          controls.forEach(function (c) { c.value = ""; });
          apply();
        });
      }
    });
  }

  function init() {
    bindValidationFilter();
    bindCollapses();
    bindTableFilters();
    document.body.setAttribute("data-controls", "ready");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
