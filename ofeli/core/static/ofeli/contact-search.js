// OFeli — « Personne » of a session contact (F7, issue 10): the search field of « Ajouter un
// contact » on the session page. htmx does the type-ahead (formations:contact_results); this
// script only keeps Entrée from submitting the session page with another button (it runs the
// search instead) and lets ↓ go from the field to the first result.
(function () {
  "use strict";
  if (window.ofeliContactSearch) return;
  window.ofeliContactSearch = true;
  document.addEventListener("keydown", function (e) {
    var box = e.target.closest && e.target.closest("[data-contact-search]");
    if (!box || e.target.type !== "search") return;
    if (e.key === "Enter") {
      e.preventDefault();
      var button = box.querySelector("[data-contact-search-button]");
      if (button) button.click();
    } else if (e.key === "ArrowDown") {
      var first = document.querySelector("#contact-results input[type=radio]");
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
})();
