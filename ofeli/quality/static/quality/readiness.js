// Q3: the LHEO readiness panel is computed again from what is typed (hx-post to the
// readiness endpoint, which never saves) when a field of the page's form changes. The
// panel declares its form (data-readiness-form) and the prefix of the form's fields
// (data-readiness-prefix); htmx debounces (hx-trigger "ofeli:readiness delay:600ms").
(function () {
  "use strict";
  function refresh(e) {
    var field = e.target;
    if (!window.htmx || !field || !field.form || !field.form.id || !field.name) return;
    var panel = document.querySelector('[data-readiness-form="' + field.form.id + '"]');
    if (!panel) return;
    var prefix = panel.getAttribute("data-readiness-prefix") || "";
    if (field.name.indexOf(prefix) !== 0) return;
    window.htmx.trigger(panel, "ofeli:readiness");
  }
  document.addEventListener("change", refresh);
  document.addEventListener("input", refresh);
})();
