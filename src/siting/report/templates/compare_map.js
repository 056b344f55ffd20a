/* siting comparison map: every alternative's sites as concentric rings; no network needed. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("map-data").textContent);
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.25 });
  var canvas = L.canvas({ padding: 0.3 });
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var bounds = [];
  if (D.demand) {
    for (var i = 0; i < D.demand.lon.length; i++) {
      L.circleMarker([D.demand.lat[i], D.demand.lon[i]], {
        renderer: canvas, radius: 2.5, weight: 0, fillColor: "#9aa5b1", fillOpacity: 0.55, interactive: false
      }).addTo(map);
      bounds.push([D.demand.lat[i], D.demand.lon[i]]);
    }
  }
  var overlays = {};
  D.alternatives.forEach(function (alt, n) {
    var layer = L.layerGroup().addTo(map);
    var radius = Math.max(4, 11 - 2.5 * n);
    alt.sites.forEach(function (s) {
      bounds.push([s.lat, s.lon]);
      L.circleMarker([s.lat, s.lon], {
        radius: radius, weight: 1.5, color: "#ffffff", fillColor: alt.colour, fillOpacity: 1, pane: "markerPane"
      }).bindPopup("<b>" + esc(alt.label) + "</b><br>" + esc(s.id) + ": " + s.services.map(esc).join(", "))
        .addTo(layer);
    });
    overlays['<span class="alt-swatch" style="background:' + alt.colour + '"></span>' + esc(alt.label)] = layer;
  });
  L.control.layers(null, overlays, { position: "topright", collapsed: false }).addTo(map);
  if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([0, 0], 2); }
  el.setAttribute("data-ready", "1");
})();
