// « Formations » search screen; moved out of the template for the CSP (S1).
// « Sélectionner la page » and the selection counter; the screen works without them.
(function () {
  "use strict";
  function boxes() { return document.querySelectorAll("#resultats input[name='rows']"); }
  function refresh() {
    var all = document.getElementById("select-page");
    var list = boxes(), checked = 0;
    list.forEach(function (b) { if (b.checked) checked += 1; });
    if (all) {
      all.hidden = false;
      all.checked = list.length > 0 && checked === list.length;
      all.indeterminate = checked > 0 && checked < list.length;
    }
    var out = document.getElementById("selection-count");
    if (out) out.textContent = checked ? checked + " ligne" + (checked > 1 ? "s" : "") + " sélectionnée" + (checked > 1 ? "s" : "") : "";
  }
  document.addEventListener("change", function (e) {
    if (e.target.id === "select-page") {
      boxes().forEach(function (b) { b.checked = e.target.checked; });
    }
    if (e.target.id === "select-page" || e.target.name === "rows") refresh();
    if (e.target.name === "par_page" && window.htmx) htmx.trigger("#search-form", "submit");
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();
