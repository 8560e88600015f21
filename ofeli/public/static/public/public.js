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

/* Formation page (P4): copy the link, print. Buttons shown only when this script runs. */
(function () {
  "use strict";
  var status = document.getElementById("copie-lien");
  document.querySelectorAll(".js-only").forEach(function (button) {
    button.classList.add("js-ready");
  });
  document.querySelectorAll("[data-copy-url]").forEach(function (button) {
    button.addEventListener("click", function () {
      var url = button.getAttribute("data-copy-url");
      var done = function () {
        if (status) status.textContent = "Lien copié : " + url;
        button.textContent = "Lien copié";
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).then(done, function () {
          window.prompt("Copiez le lien de la formation :", url);
        });
      } else {
        window.prompt("Copiez le lien de la formation :", url);
      }
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
