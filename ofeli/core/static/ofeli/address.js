// OFeli — « Rechercher une adresse » / « Localiser l'adresse » / « Me géolocaliser » (SPEC C4, F6),
// see docs/structures.md.
// Works with the partials core/address_search.html and core/address_locate.html: each carries
// data-prefix (prefix of the address fields' names) and data-form (id of their <form>).
// Without JavaScript the search box stays hidden and the plain fields are typed by hand.
(function () {
  "use strict";
  if (window.ofeliAddress) return;
  var ALL = ["adresse", "code_postal", "ville", "code_insee", "latitude", "longitude"];
  var ADDRESS = ["adresse", "code_postal", "ville"];
  var GEO = ["code_insee", "latitude", "longitude"];
  var UNAVAILABLE = "Le service de recherche d'adresse (Base Adresse Nationale) ne répond pas pour le moment. " +
    "« Saisie manuelle » est cochée : saisissez l'adresse dans les champs ci-dessous.";
  var down = {}; // "prefix|form" -> true once the BAN failed on this page

  function key(ctx) { return (ctx.dataset.prefix || "") + "|" + (ctx.dataset.form || ""); }
  function field(ctx, name) {
    var full = (ctx.dataset.prefix || "") + name;
    var form = document.getElementById(ctx.dataset.form || "");
    var el = form && form.elements ? form.elements.namedItem(full) : null;
    if (el && !el.tagName && el.length) el = el[0];
    return el || document.querySelector('[name="' + full + '"]');
  }
  function boxes(selector, ctx) {
    return Array.prototype.filter.call(document.querySelectorAll(selector), function (b) { return key(b) === key(ctx); });
  }
  function setValue(el, value) {
    if (!el) return;
    el.value = value == null ? "" : value;
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function status(ctx, text) {
    boxes("[data-address-search]", ctx).forEach(function (box) {
      var out = box.querySelector("[data-address-status]");
      if (out) out.textContent = text;
    });
  }
  function manual(ctx) { return field(ctx, "saisie_manuelle"); }

  // With a « Saisie manuelle » box: the address fields come from the BAN unless it is ticked
  // (or the BAN is down); they are read-only otherwise, as in the guide.
  function lock(ctx) {
    var box = manual(ctx);
    if (!box) return;
    var locked = !box.checked && !down[key(ctx)];
    ADDRESS.forEach(function (name) {
      var el = field(ctx, name);
      if (!el) return;
      el.readOnly = locked;
      var group = el.closest(".fr-input-group");
      if (group) group.classList.toggle("ofeli-readonly", locked);
    });
  }
  function geoText(ctx) {
    var lat = field(ctx, "latitude"), lon = field(ctx, "longitude"), insee = field(ctx, "code_insee");
    var text = lat && lat.value
      ? "Géolocalisation : code INSEE " + ((insee && insee.value) || "—") + ", latitude " + lat.value + ", longitude " + ((lon && lon.value) || "")
      : "Géolocalisation : adresse non localisée";
    boxes("[data-address-locate-box]", ctx).forEach(function (box) {
      var out = box.querySelector("[data-address-geo]");
      if (out) out.textContent = text;
    });
  }
  function markDown(ctx) {
    down[key(ctx)] = true;
    var box = manual(ctx);
    if (box && !box.checked) { box.checked = true; box.dispatchEvent(new Event("change", { bubbles: true })); }
    lock(ctx);
    status(ctx, UNAVAILABLE);
  }
  function clearResults(box) {
    var results = box.querySelector(".ofeli-address__results");
    if (results) results.innerHTML = "";
  }

  function choose(box, data) {
    ALL.forEach(function (name) { setValue(field(box, name), data[name]); });
    var m = manual(box);
    if (m && m.checked) { m.checked = false; m.dispatchEvent(new Event("change", { bubbles: true })); }
    clearResults(box);
    var input = box.querySelector("input[type=search]");
    if (input) { input.value = data.label || ""; input.focus(); }
    lock(box);
    geoText(box);
    status(box, "Adresse choisie : " + (data.label || "") + ". Les champs adresse sont remplis et l'adresse est géolocalisée.");
  }

  function locate(lbox) {
    var q = ADDRESS.map(function (n) { var el = field(lbox, n); return el ? el.value.trim() : ""; }).join(" ").trim();
    var out = lbox.querySelector("[data-address-locate-result]");
    var url = lbox.dataset.url + "?mode=locate&q=" + encodeURIComponent(q);
    fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        out.innerHTML = html;
        var found = out.querySelector("[data-ban-located]");
        if (found) {
          GEO.forEach(function (name) { setValue(field(lbox, name), found.dataset[name]); });
          geoText(lbox);
        } else if (out.querySelector("[data-ban-unavailable]")) {
          markDown(lbox);
        }
      })
      .catch(function () {
        out.innerHTML = '<p class="fr-message fr-message--error fr-mt-1w" data-ban-unavailable role="alert"></p>';
        out.firstChild.textContent = UNAVAILABLE;
        markDown(lbox);
      });
  }

  // « Me géolocaliser » (guide, Coordonnées): the browser's position → the nearest BAN address
  // (reverse endpoint, through /ofeli/adresses/?mode=reverse) fills the address as a chosen
  // suggestion does. Refused or unavailable geolocation: the user is told and types the address.
  var GEO_MESSAGES = {
    1: "Vous n'avez pas autorisé la géolocalisation : saisissez l'adresse ou utilisez « Rechercher une adresse ».",
    2: "Votre position n'est pas disponible : saisissez l'adresse ou utilisez « Rechercher une adresse ».",
    3: "Votre position n'a pas pu être obtenue à temps : réessayez, ou saisissez l'adresse."
  };
  function geoMessage(out, text, level) {
    out.innerHTML = "";
    var p = document.createElement("p");
    p.className = "fr-message fr-message--" + (level || "error") + " fr-mt-1w";
    p.setAttribute("role", "alert");
    p.textContent = text;
    out.appendChild(p);
  }
  function geolocate(lbox, button) {
    var out = lbox.querySelector("[data-address-locate-result]");
    geoMessage(out, "Recherche de votre position…", "info");
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      var url = lbox.dataset.url + "?mode=reverse&lat=" + encodeURIComponent(position.coords.latitude) +
        "&lon=" + encodeURIComponent(position.coords.longitude);
      fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
        .then(function (html) {
          button.disabled = false;
          out.innerHTML = html;
          var found = out.querySelector("[data-ban-reverse]");
          if (found) {
            ALL.forEach(function (name) { setValue(field(lbox, name), found.dataset[name]); });
            var m = manual(lbox);
            if (m && m.checked) { m.checked = false; m.dispatchEvent(new Event("change", { bubbles: true })); }
            lock(lbox);
            geoText(lbox);
            var search = document.getElementById((lbox.dataset.prefix || "") + "address-q");
            if (search) search.value = found.dataset.label || "";
          } else if (out.querySelector("[data-ban-unavailable]")) {
            markDown(lbox);
          }
        })
        .catch(function () {
          button.disabled = false;
          geoMessage(out, UNAVAILABLE);
          markDown(lbox);
        });
    }, function (error) {
      button.disabled = false;
      geoMessage(out, GEO_MESSAGES[error && error.code] || GEO_MESSAGES[2]);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function init(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-address-search]").forEach(function (box) {
      if (box.dataset.addressReady) return;
      box.dataset.addressReady = "1";
      box.classList.remove("fr-hidden");
      lock(box);
      var input = box.querySelector("input[type=search]");
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") e.preventDefault(); // never submits the record
        if (e.key === "ArrowDown") {
          var first = box.querySelector("[data-address-choice]");
          if (first) { e.preventDefault(); first.focus(); }
        }
        if (e.key === "Escape") clearResults(box);
      });
      box.addEventListener("keydown", function (e) {
        var current = e.target.closest("[data-address-choice]");
        if (!current) return;
        var all = Array.prototype.slice.call(box.querySelectorAll("[data-address-choice]"));
        var i = all.indexOf(current);
        if (e.key === "ArrowDown" && i < all.length - 1) { e.preventDefault(); all[i + 1].focus(); }
        if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? all[i - 1] : input).focus(); }
        if (e.key === "Escape") { clearResults(box); input.focus(); }
      });
      box.addEventListener("htmx:afterSwap", function () {
        if (box.querySelector("[data-ban-unavailable]")) markDown(box);
        else status(box, "");
      });
      ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
        box.addEventListener(name, function () { markDown(box); });
      });
    });
    (root.querySelectorAll ? root : document).querySelectorAll("[data-address-locate-box]").forEach(function (lbox) {
      if (lbox.dataset.addressReady) return;
      lbox.dataset.addressReady = "1";
      if (navigator.geolocation) {
        lbox.querySelectorAll("[data-address-geolocate-item], [data-address-geolocate-hint]").forEach(function (el) {
          el.classList.remove("fr-hidden");
        });
      }
      geoText(lbox);
      lock(lbox);
    });
  }

  document.addEventListener("click", function (e) {
    var choice = e.target.closest("[data-address-choice]");
    if (choice) { choose(choice.closest("[data-address-search]"), choice.dataset); return; }
    var geo = e.target.closest("[data-address-geolocate]");
    if (geo) { e.preventDefault(); geolocate(geo.closest("[data-address-locate-box]"), geo); return; }
    var button = e.target.closest("[data-address-locate]");
    if (button) { e.preventDefault(); locate(button.closest("[data-address-locate-box]")); }
  });
  document.addEventListener("change", function (e) {
    if (!e.target.name || !/saisie_manuelle$/.test(e.target.name)) return;
    document.querySelectorAll("[data-address-search], [data-address-locate-box]").forEach(function (b) {
      if (manual(b) === e.target) lock(b);
    });
  });
  // Typing an address by hand makes the stored geolocation stale: drop it until « Localiser l'adresse ».
  document.addEventListener("input", function (e) {
    if (!e.isTrusted || !e.target.name) return;
    document.querySelectorAll("[data-address-locate-box]").forEach(function (b) {
      var touched = ADDRESS.some(function (n) { return field(b, n) === e.target; });
      if (!touched) return;
      GEO.forEach(function (n) { setValue(field(b, n), ""); });
      geoText(b);
    });
  });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(document); });
  else init(document);
  window.ofeliAddress = { init: init };
})();
