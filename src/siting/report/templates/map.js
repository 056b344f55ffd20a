/* siting report map: draws the embedded JSON with the inlined Leaflet; no network needed. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("map-data").textContent);
  var T = JSON.parse(document.getElementById("map-text").textContent);
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.25 });
  var canvas = L.canvas({ padding: 0.3 });
  if (D.tiles) {
    L.tileLayer(D.tiles, { attribution: D.attribution || "", maxZoom: 19 }).addTo(map);
  }
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function num(v) { return v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US"); }
  var services = D.services;
  var dem = D.demand;
  var bounds = [];

  // Demand points, coloured by the coverage state of the chosen service.
  var demandLayer = L.layerGroup().addTo(map);
  var maxPop = 1;
  if (dem) { dem.pop.forEach(function (p) { if (p > maxPop) { maxPop = p; } }); }
  var dots = [];
  if (dem) {
    for (var i = 0; i < dem.id.length; i++) {
      var r = 2.5 + 6.5 * Math.sqrt(dem.pop[i] / maxPop);
      var dot = L.circleMarker([dem.lat[i], dem.lon[i]], {
        renderer: canvas, radius: r, weight: 0.6, color: "#ffffff", fillOpacity: 0.85
      });
      dot._i = i;
      dot.bindPopup(demandPopup, { maxWidth: 320 });
      dots.push(dot);
      demandLayer.addLayer(dot);
      bounds.push([dem.lat[i], dem.lon[i]]);
    }
  }
  function stateName(code) {
    return code === "2" ? T.covered_new : code === "1" ? T.covered_existing : T.not_covered;
  }
  function demandPopup(layer) {
    var i = layer._i;
    var html = "<b>" + esc(dem.id[i]) + "</b>";
    if (dem.group) { html += " · " + esc(dem.group[i]); }
    html += "<br>" + esc(T.population) + ": " + num(dem.pop[i]);
    html += "<table><tr><th>" + esc(T.service) + "</th><th>" + esc(T.before) + "</th><th>" + esc(T.after) + "</th><th>min</th></tr>";
    services.forEach(function (s, k) {
      var b = dem.before[i].charAt(k), a = dem.after[i].charAt(k), m = dem.minutes[i][k];
      html += "<tr><td>" + esc(s.label) + "</td><td>" + (b === "1" ? "✓" : "✗") + "</td><td>" +
        (a === "0" ? "✗" : a === "2" ? "✓ " + esc(T.new_short) : "✓") + "</td><td>" + (m === null ? "" : m) + "</td></tr>";
    });
    return html + "</table>";
  }

  // Existing outlets (circles) and new outlets (squares), per service.
  var existingLayer = L.layerGroup().addTo(map);
  var newLayer = L.layerGroup().addTo(map);
  var catchLayer = L.layerGroup().addTo(map);
  var allSitesLayer = L.layerGroup();
  function square(colour, size) {
    return L.divIcon({
      className: "new-icon", iconSize: [size, size],
      html: '<div style="background:' + colour + '"></div>'
    });
  }
  function sitePopup(site) {
    var html = "<b>" + esc(T.new_outlet) + " " + esc(site.id) + "</b>";
    if (site.group) { html += " · " + esc(site.group); }
    html += "<table><tr><th>" + esc(T.service) + "</th><th>" + esc(T.gain) + "</th></tr>";
    site.s.forEach(function (k, n) {
      html += "<tr><td>" + esc(services[k].label) + "</td><td class='num'>" + num(site.gain[n]) + "</td></tr>";
    });
    html += "</table>" + esc(T.cost) + ": " + esc(site.money.cost) + " (" + esc(T.fixed) + " " +
      esc(site.money.fixed) + ", " + esc(T.fitout) + " " + esc(site.money.fitout) + ")";
    Object.keys(site.attrs).forEach(function (k) {
      if (site.attrs[k] !== null && site.attrs[k] !== "") { html += "<br>" + esc(k) + ": " + esc(site.attrs[k]); }
    });
    return html;
  }
  D.sites.forEach(function (site) {
    bounds.push([site.lat, site.lon]);
    var m = L.marker([site.lat, site.lon], { icon: square("#ffffff", 13), title: site.id, zIndexOffset: 500 });
    m.bindPopup(sitePopup(site));
    allSitesLayer.addLayer(m);
  });

  function draw() {
    var k = +document.getElementById("svc").value;
    var view = document.querySelector("input[name=view]:checked").value;
    var svc = services[k];
    var codes = dem ? (view === "before" ? dem.before : dem.after) : [];
    dots.forEach(function (dot) {
      var c = codes[dot._i].charAt(k);
      var colour = c === "2" ? D.states["new"] : c === "1" ? D.states.existing : D.states.none;
      dot.setStyle({ fillColor: colour });
    });
    existingLayer.clearLayers(); newLayer.clearLayers(); catchLayer.clearLayers();
    D.existing.forEach(function (o) {
      if (o.s !== k) { return; }
      L.circleMarker([o.lat, o.lon], {
        radius: 6, weight: 3.5, color: "#1d2733", fillColor: "#ffffff", fillOpacity: 1, pane: "markerPane"
      }).bindPopup("<b>" + esc(T.existing_outlet) + " " + esc(o.id) + "</b><br>" + esc(svc.label)).addTo(existingLayer);
    });
    if (view === "after") {
      D.catchments.forEach(function (c) {
        if (c.s !== k) { return; }
        L.polygon(c.rings, { color: D.outlet, weight: 1.6, dashArray: "5 4", fill: true, fillColor: D.outlet, fillOpacity: 0.06, interactive: false })
          .addTo(catchLayer);
      });
      D.sites.forEach(function (site) {
        if (site.s.indexOf(k) < 0) { return; }
        L.marker([site.lat, site.lon], { icon: square(D.outlet, 15), title: site.id, zIndexOffset: 1000 })
          .bindPopup(sitePopup(site)).addTo(newLayer);
      });
    }
  }

  // The control panel: service, before/after, legend.
  var panel = L.control({ position: "topright" });
  panel.onAdd = function () {
    var div = L.DomUtil.create("div", "map-panel");
    var options = services.map(function (s, k) {
      return '<option value="' + k + '">' + esc(s.label) + "</option>";
    }).join("");
    div.innerHTML =
      '<div class="title">' + esc(T.service) + '</div><select id="svc">' + options + "</select>" +
      '<div class="title" style="margin-top:6px">' + esc(T.view) + "</div>" +
      '<label><input type="radio" name="view" value="after" checked> ' + esc(T.after) + "</label> &nbsp;" +
      '<label><input type="radio" name="view" value="before"> ' + esc(T.before) + "</label>" +
      '<div class="title" style="margin-top:6px">' + esc(T.legend) + "</div>" +
      '<div class="legend-row"><span class="sym dot" style="background:' + D.states.existing + '"></span>' + esc(T.covered_existing) + "</div>" +
      '<div class="legend-row"><span class="sym dot" style="background:' + D.states["new"] + '"></span>' + esc(T.covered_new) + "</div>" +
      '<div class="legend-row"><span class="sym dot" style="background:' + D.states.none + '"></span>' + esc(T.not_covered) + "</div>" +
      '<div class="legend-row"><span class="sym existing" id="legend-existing"></span>' + esc(T.existing_outlet) + "</div>" +
      '<div class="legend-row"><span class="sym new" style="background:' + D.outlet + '"></span>' + esc(T.new_outlet) + "</div>" +
      '<div class="legend-row"><span class="sym catch" style="border-color:' + D.outlet + '"></span>' + esc(T.catchment) + "</div>";
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  panel.addTo(map);
  document.getElementById("svc").addEventListener("change", draw);
  Array.prototype.forEach.call(document.querySelectorAll("input[name=view]"), function (r) {
    r.addEventListener("change", draw);
  });
  var overlays = {};
  overlays[T.existing_outlets] = existingLayer;
  overlays[T.new_outlets] = newLayer;
  overlays[T.catchment] = catchLayer;
  overlays[T.all_new_sites] = allSitesLayer;
  overlays[T.residents] = demandLayer;
  L.control.layers(null, overlays, { position: "topleft", collapsed: true }).addTo(map);
  if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([0, 0], 2); }
  draw();
  el.setAttribute("data-ready", "1");
})();
