/* Maps of the public site (P3), drawn with Leaflet (vendored from npm, see
   vendor/leaflet-1.9.4/README.md). Each [data-map] element names the JSON element holding
   its markers; data-tiles is the tile server's URL template ("" = no background tiles).
   Popups are built as DOM nodes (no HTML string, no inline script or style). */
(function () {
  "use strict";
  if (!window.L) {
    return;
  }
  var script = document.currentScript;
  L.Icon.Default.imagePath = script ? script.src.replace(/public-map\.js.*$/, "vendor/leaflet-1.9.4/images/") : "";

  function popup(marker) {
    var box = document.createElement("div");
    var title = document.createElement("p");
    title.className = "fr-text--bold fr-mb-1v";
    title.textContent = marker.title;
    box.appendChild(title);
    var list = document.createElement("ul");
    list.className = "fr-raw-list";
    marker.links.forEach(function (link) {
      var item = document.createElement("li");
      var a = document.createElement("a");
      a.href = link.url;
      a.textContent = link.label;
      item.appendChild(a);
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  function draw(element) {
    if (element.getAttribute("data-map-ready")) {
      return;
    }
    var data = document.getElementById(element.getAttribute("data-map"));
    var markers = data ? JSON.parse(data.textContent) : [];
    if (!markers.length) {
      return;
    }
    element.hidden = false;
    element.setAttribute("data-map-ready", "true");
    var block = element.closest("[data-map-block]");
    if (block) {
      block.hidden = false;
    }
    var map = L.map(element, { scrollWheelZoom: false });
    var tiles = element.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 18, attribution: element.getAttribute("data-attribution") }).addTo(map);
    }
    var points = markers.map(function (marker) {
      L.marker([marker.lat, marker.lon], { title: marker.title, alt: marker.title })
        .bindPopup(popup(marker))
        .addTo(map);
      return [marker.lat, marker.lon];
    });
    map.fitBounds(points, { padding: [24, 24], maxZoom: 13 });
    element._ofeliMap = map;
    var details = element.closest("details");
    if (details) {
      details.hidden = false;
      details.addEventListener("toggle", function () {
        map.invalidateSize();
        map.fitBounds(points, { padding: [24, 24], maxZoom: 13 });
      });
    }
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-map]").forEach(draw);
    // Results map: open beside the results on large screens, a disclosure on phones.
    document.querySelectorAll("details[data-map-details]").forEach(function (details) {
      if (!details.hasAttribute("data-map-initial") && window.matchMedia("(min-width: 48em)").matches) {
        details.open = true;
      }
      details.setAttribute("data-map-initial", "true");
    });
  }

  drawAll(document);
  document.body.addEventListener("htmx:afterSettle", function (event) {
    drawAll(event.target);
  });

  /* « Me géolocaliser »: the browser's position → the nearest commune of the bundled
     communes, computed here; the position is never sent. */
  var locate = document.querySelector("[data-geolocate]");
  var field = document.getElementById("id_lieu");
  var status = document.getElementById("geolocalisation-statut");
  if (locate && field && navigator.geolocation) {
    locate.classList.add("js-ready");
    locate.addEventListener("click", function () {
      status.textContent = "Recherche de votre position…";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          fetch(locate.getAttribute("data-geolocate"), { headers: { Accept: "application/json" } })
            .then(function (response) {
              return response.json();
            })
            .then(function (communes) {
              var lat = position.coords.latitude;
              var lon = position.coords.longitude;
              var best = null;
              var bestKm = Infinity;
              communes.forEach(function (c) {
                var km = distance(lat, lon, c[1], c[2]);
                if (km < bestKm) {
                  bestKm = km;
                  best = c;
                }
              });
              if (best) {
                field.value = best[0];
                status.textContent = "Commune la plus proche : " + best[0] + ".";
                field.focus();
              }
            });
        },
        function () {
          status.textContent = "Votre position n'est pas disponible : saisissez votre commune.";
        },
        { timeout: 10000, maximumAge: 600000 }
      );
    });
  }

  function distance(lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180;
    var a =
      Math.pow(Math.sin(((lat2 - lat1) * rad) / 2), 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.pow(Math.sin(((lon2 - lon1) * rad) / 2), 2);
    return 2 * 6371.0088 * Math.asin(Math.sqrt(a));
  }
})();
