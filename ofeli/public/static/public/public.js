/* Public site: the « Filtrer » dialog of small screens (P2). Without this script the
   filters are a <details> disclosure; with it, the DSFR modal (opened by the « Filtrer »
   button through aria-controls) and, on large screens, the filters beside the results. */
(function () {
  "use strict";
  var details = document.getElementById("filtres-disclosure");
  if (details) {
    details.open = true;
  }
  var form = document.getElementById("form-recherche");
  var modal = document.getElementById("modale-filtres");
  if (form && modal) {
    form.addEventListener("submit", function () {
      if (modal.classList.contains("fr-modal--opened") && window.dsfr) {
        window.dsfr(modal).modal.conceal();
      }
    });
  }
})();
