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
        var unit = out.parentNode && out.parentNode.querySelector("[data-duration-unit]");
        if (unit) unit.textContent = total === 1 ? "heure" : "heures"; // as the template's pluralize
      }
      [a, b].forEach(function (el) { if (el) el.addEventListener("input", update); });
    });
  }
  // DSFR tabs (C2): a link to #panel, or to a field inside a panel (#id_adresse), opens that
  // tab; choosing a tab puts it in the address bar so that reloading or sharing keeps it.
  var tabChosen = 0; // bumped when the user picks a tab: a pending deep link then gives way
  function openTabOf(target, focus) {
    var panel = target && target.closest ? target.closest(".fr-tabs__panel") : null;
    if (!panel) return false;
    var button = document.querySelector('.fr-tabs__tab[aria-controls="' + panel.id + '"]');
    var tries = 0, chosen = tabChosen;
    (function select() {
      if (chosen !== tabChosen) return;
      if (button && button.getAttribute("aria-selected") !== "true") {
        if (!button.hasAttribute("data-fr-js-tab-button") && tries++ < 200) return window.setTimeout(select, 50);  // DSFR may start late on a slow device
        button.click();
        // DSFR may still select the server's tab after our click: check again, a few times.
        if (tries++ < 200) window.setTimeout(function () {
          if (chosen === tabChosen && button.getAttribute("aria-selected") !== "true") select();
        }, 100);
      }
      if (focus) focusWhenShown(0);
    })();
    // A hidden panel cannot take the focus: wait until DSFR has drawn it (slow devices).
    function focusWhenShown(waited) {
      window.setTimeout(function () {
        if (chosen !== tabChosen) return;
        if (!target.getClientRects().length && waited < 200) return focusWhenShown(waited + 1);
        target.scrollIntoView({ block: "center" });
        target.focus({ preventScroll: true });
      }, 60);
    }
    return true;
  }
  function setupTabLinks() {
    function fromHash(focus) {
      var id = decodeURIComponent(window.location.hash.slice(1));
      if (id) openTabOf(document.getElementById(id), focus);
    }
    // After a refused action the error summary wins over the address bar's tab (U1): a form
    // posted from a tab comes back with #that-tab, whose panel would be scrolled to instead.
    var summary = document.querySelector("[data-error-summary]") || document.querySelector("[data-error-message]");
    if (!summary) fromHash(true);
    else openTabOf(summary, true);
    window.addEventListener("hashchange", function () { fromHash(true); });
    // Arrow keys on the tab list (DSFR) are a choice too: a pending deep link gives way.
    // Capture phase: DSFR's tab list stops the propagation of the arrow keys it handles.
    document.addEventListener("keydown", function (e) {
      if (e.target.closest && e.target.closest(".fr-tabs__list")) tabChosen++;
    }, true);
    document.addEventListener("click", function (e) {
      var tab = e.target.closest(".fr-tabs__tab[aria-controls]");
      if (tab && e.isTrusted) { tabChosen++; window.history.replaceState(null, "", "#" + tab.getAttribute("aria-controls")); return; }
      var link = e.target.closest('a[href^="#"]');
      if (!link || link.getAttribute("href").length < 2) return;
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (target && target.closest(".fr-tabs__panel") && !target.classList.contains("fr-tabs__panel")) {
        e.preventDefault();
        openTabOf(target, true);
      }
    });
  }
  // U1: after a refused action the error summary (or the error message) at the top of the
  // page takes the focus, so that it is seen and read; a link to a field inside a folded
  // panel (<details>) opens the panel, scrolls the field into view and focuses it. A page
  // opened on an anchor (#principal-question) focuses that block when it asks to.
  function openPanelsOf(target) {
    for (var el = target && target.parentElement; el; el = el.parentElement) {
      if (el.tagName === "DETAILS" && !el.open) el.open = true;
    }
  }
  function reveal(target) {
    openPanelsOf(target);
    if (target.tagName === "DETAILS") target.open = true;
    target.scrollIntoView({ block: target.matches("input, select, textarea") ? "center" : "start" });
    target.focus({ preventScroll: true });
  }
  function setupErrorFocus() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var anchored = id ? document.getElementById(id) : null;
    if (anchored && anchored.closest(".fr-tabs__panel")) anchored = null; // setupTabLinks does it
    var summary = document.querySelector("[data-error-summary]") || document.querySelector("[data-error-message]");
    if (summary) {
      var show = function () {
        summary.scrollIntoView({ block: "start" });
        summary.focus({ preventScroll: true });
      };
      show();
      // A form posted from a page opened on an anchor (#financements after the previous
      // action) comes back with it: the browser would scroll to that anchor while loading,
      // far from the summary. The anchor is dropped and the summary shown again once loaded.
      if (id) {
        if (!summary.closest(".fr-tabs__panel")) {  // a tab's anchor stays: it names the open tab
          window.history.replaceState(null, "", window.location.pathname + window.location.search);
        }
        window.addEventListener("load", function () { if (document.activeElement === summary) show(); });
      }
    } else if (anchored) {
      openPanelsOf(anchored);
      if (anchored.hasAttribute("data-focus-on-load") || anchored.matches("input, select, textarea")) {
        anchored.scrollIntoView({ block: "center" });
        anchored.focus({ preventScroll: true });
      }
    }
    document.addEventListener("click", function (e) {
      var link = e.target.closest && e.target.closest('a[href^="#"]');
      if (!link || link.getAttribute("href").length < 2) return;
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (!target || target.closest(".fr-tabs__panel")) return;
      e.preventDefault();
      window.history.replaceState(null, "", link.getAttribute("href"));
      if (!target.matches("input, select, textarea, button, a, [tabindex]")) target.setAttribute("tabindex", "-1");
      reveal(target);
    });
  }
  // U1: a DSFR table wider than its column scrolls sideways (narrow window); with nothing
  // focusable inside, the keyboard could not scroll it: it takes the focus itself, only while
  // it scrolls (axe « scrollable-region-focusable »). Checked again on resize, htmx swaps
  // and when a folded panel (<details>) opens.
  function setupScrollableTables() {
    document.querySelectorAll(".fr-table > table").forEach(function (table) {
      var scrolls = table.scrollWidth > table.clientWidth + 1;
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && table.hasAttribute("data-scroll-focus")) {
        table.removeAttribute("tabindex");
        table.removeAttribute("data-scroll-focus");
      }
    });
  }
  var tablesPending = false;
  function checkTablesSoon() {
    if (tablesPending) return;
    tablesPending = true;
    window.requestAnimationFrame(function () { tablesPending = false; setupScrollableTables(); });
  }
  window.addEventListener("resize", checkTablesSoon);
  document.addEventListener("toggle", checkTablesSoon, true);
  function init(root) { setupCounters(root); setupDurations(root); setupScrollableTables(); }
  // Behaviours declared in the markup, so that templates need no inline handler (the
  // Content-Security-Policy forbids them, S1); delegated, so they work on htmx swaps too.
  //   data-confirm="Question ?"      asks before the button or link acts
  //   data-autosubmit (select)        submits its form when changed
  //   data-check="id"                 ticks the radio/checkbox #id when used
  //   data-submit-on-change="sel"     (htmx form) submits when a field matching sel changes
  //                                   (htmx trigger filters would need eval, which the CSP forbids)
  document.addEventListener("click", function (e) {
    var asking = e.target.closest && e.target.closest("[data-confirm]");
    if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
      return;
    }
    var checker = e.target.closest && e.target.closest("button[data-check], a[data-check]");
    if (checker) checkTarget(checker);
  }, true);
  document.addEventListener("change", function (e) {
    var field = e.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) field.form.submit();
    if (field.matches && field.matches("input[data-check]")) checkTarget(field);
    var form = field.closest && field.closest("form[data-submit-on-change]");
    if (form && window.htmx && field.matches(form.getAttribute("data-submit-on-change"))) htmx.trigger(form, "submit");
  });
  function checkTarget(element) {
    var target = document.getElementById(element.getAttribute("data-check"));
    if (target) target.checked = true;
  }
  document.addEventListener("DOMContentLoaded", function () { setupMenu(); setupTabLinks(); setupErrorFocus(); init(document); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();
