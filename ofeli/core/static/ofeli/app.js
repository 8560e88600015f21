// OFeli: progressive enhancements; every screen works without them.
(function () {
  "use strict";
  // B1 « Affichage menu »: fold / unfold the left menu, remembered on this browser.
  function setupMenu() {
    var shell = document.getElementById("app-shell");
    var button = document.querySelector("[data-menu-toggle]");
    if (!shell || !button) return;
    function apply(collapsed) {
      shell.classList.toggle("menu-collapsed", collapsed);
      button.setAttribute("aria-expanded", collapsed ? "false" : "true");
    }
    apply(window.localStorage.getItem("ofeli-menu-collapsed") === "1");
    button.addEventListener("click", function () {
      var collapsed = !shell.classList.contains("menu-collapsed");
      window.localStorage.setItem("ofeli-menu-collapsed", collapsed ? "1" : "0");
      apply(collapsed);
    });
  }
  // Live character counters for textareas with data-maxlength (E4).
  function setupCounters(root) {
    root.querySelectorAll("textarea[data-maxlength]").forEach(function (area) {
      if (area.dataset.counterReady) return;
      area.dataset.counterReady = "1";
      var max = parseInt(area.dataset.maxlength, 10);
      var counter = document.getElementById(area.id + "-counter");
      if (!counter) return;
      function update() {
        var left = max - area.value.length;
        counter.textContent = area.value.length + " / " + max + " caractères" + (left < 0 ? " — " + (-left) + " de trop" : "");
        counter.classList.toggle("fr-error-text", left < 0);
      }
      area.addEventListener("input", update);
      update();
    });
  }
  // Durée totale = en centre + en entreprise, shown as the user types (F11).
  function setupDurations(root) {
    root.querySelectorAll("[data-duration-total]").forEach(function (out) {
      var a = document.querySelector("[name$='duree_centre']");
      var b = document.querySelector("[name$='duree_entreprise']");
      if (!a || !b) return;
      function update() {
        var total = (parseInt(a.value, 10) || 0) + (parseInt(b.value, 10) || 0);
        out.value = total;
        out.textContent = total;
      }
      [a, b].forEach(function (el) { if (el) el.addEventListener("input", update); });
    });
  }
  function init(root) { setupCounters(root); setupDurations(root); }
  document.addEventListener("DOMContentLoaded", function () { setupMenu(); init(document); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();
