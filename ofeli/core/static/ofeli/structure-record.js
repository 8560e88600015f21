// Structure record (loaded only while editing); moved out of the template for the CSP (S1).
// C4: « Tester le lien » follows the web site as it is typed (https:// only).
(function () {
  var input = document.querySelector("[name='site_web'][form='structure-form']");
  var link = document.getElementById("site-web-test");
  if (!input || !link) return;
  function update() {
    var ok = /^https:\/\/[^\s\/]+\.[^\s]+$/i.test(input.value.trim());
    link.hidden = !ok;
    if (ok) link.href = input.value.trim();
  }
  input.addEventListener("input", update);
  update();
})();
