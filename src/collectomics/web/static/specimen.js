// Specimen page: draws the Natural Earth 110m countries (world-atlas, served locally) under the
// collecting place's pin; the pin and the coordinates are in the page without it.
(function () {
  "use strict";
  const g = document.getElementById("event-land");
  if (!g || typeof topojson === "undefined") return;
  fetch("/assets/views/countries-110m.json").then((r) => r.json()).then((world) => {
    const px = (lon, lat) => [((lon + 180) / 360) * 960, ((90 - lat) / 180) * 480];
    const ring = (coords) => coords.map(([lon, lat], k) => (k ? "L" : "M") + px(lon, lat).map((v) => v.toFixed(2)).join(",")).join("") + "Z";
    const land = topojson.feature(world, world.objects.countries);
    g.innerHTML = land.features.map((f) => {
      const geo = f.geometry; if (!geo) return "";
      const polys = geo.type === "Polygon" ? [geo.coordinates] : geo.coordinates;
      return '<path class="land" fill="#d8dccf" stroke="#aab" stroke-width=".2" d="' + polys.map((p) => p.map(ring).join("")).join("") + '"></path>';
    }).join("");
    g.closest("svg").dataset.rendered = "true";
  });
})();
