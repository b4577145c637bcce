// Person page views: ego network (Cytoscape.js), itinerary map (world-atlas TopoJSON drawn as SVG,
// no tile server) and timeline. Each sets data-rendered="true" on its box when drawn; a page
// without one of the boxes (the workbench lists the timeline itself) skips it.
(function () {
  "use strict";
  const root = document.getElementById("person-views");
  if (!root) return;
  const iri = encodeURIComponent(root.dataset.iri);
  const base = root.dataset.base;
  // an IRI of the graph becomes a link only under the base or as http(s) (never javascript:)
  const local = (id) => (id.startsWith(base) ? "/" + id.slice(base.length) : /^https?:/i.test(id) ? id : "#");
  const done = (el, n) => { el.dataset.rendered = "true"; el.dataset.items = String(n); };
  const empty = (el, text) => { el.innerHTML = '<p class="views-empty"></p>'; el.firstChild.textContent = text; done(el, 0); };
  const getJSON = (url) => fetch(url, { headers: { Accept: "application/json" } }).then((r) => {
    if (!r.ok) throw new Error(url + ": " + r.status);
    return r.json();
  });

  // -- ego network
  const netBox = document.getElementById("ego-network");
  if (netBox) getJSON("/views/network?depth=2&iri=" + iri).then((net) => {
    if (!net.edges.length) return empty(netBox, "No co-collectors recorded.");
    const maxW = Math.max(...net.edges.map((e) => e.weight));
    const elements = net.nodes.map((n) => ({ data: { id: n.id, label: n.label, size: 14 + 26 * Math.sqrt((n.weighted_degree || 0) / (maxW * 4 || 1)), ego: n.id === net.ego ? 1 : 0 } }))
      .concat(net.edges.map((e, i) => ({ data: { id: "e" + i, source: e.source, target: e.target, weight: e.weight, w: 1 + 5 * e.weight / maxW,
        label: e.weight + (e.first_year ? " · " + e.first_year + (e.last_year !== e.first_year ? "–" + e.last_year : "") : "") } })));
    const cy = cytoscape({
      container: netBox, elements,
      style: [
        { selector: "node", style: { label: "data(label)", width: "data(size)", height: "data(size)", "background-color": "#1f5fa8", "font-size": 9 } },
        { selector: "node[ego = 1]", style: { "background-color": "#c0392b" } },
        { selector: "edge", style: { width: "data(w)", "line-color": "#9ab", label: "data(label)", "font-size": 7, color: "#567" } },
      ],
      layout: { name: "cose", animate: false, randomize: false },
    });
    cy.on("tap", "node", (ev) => { location.href = local(ev.target.id()); });
    done(netBox, net.nodes.length);
  }).catch((err) => empty(netBox, String(err)));

  // -- itinerary map: equirectangular projection of Natural Earth 110m countries
  const mapBox = document.getElementById("itinerary-map");
  if (mapBox) Promise.all([getJSON("/assets/views/countries-110m.json"), getJSON("/views/itinerary?iri=" + iri)]).then(([world, it]) => {
    const placed = it.stops.map((s, i) => Object.assign({ i }, s)).filter((s) => s.lat !== null && s.lon !== null);
    const W = 960, H = 480;
    const px = (lon, lat) => [((lon + 180) / 360) * W, ((90 - lat) / 180) * H];
    let view = [0, 0, W, H];
    if (placed.length) {
      const xs = placed.map((s) => px(s.lon, s.lat)[0]), ys = placed.map((s) => px(s.lon, s.lat)[1]);
      const pad = 40, x0 = Math.min(...xs) - pad, y0 = Math.min(...ys) - pad;
      const w = Math.max(Math.max(...xs) - x0 + pad, 80), h = Math.max(Math.max(...ys) - y0 + pad, 40);
      const s = Math.max(w / W, h / H);
      view = [Math.max(0, x0 - (W * s - w) / 2), Math.max(0, y0 - (H * s - h) / 2), W * s, H * s];
    }
    const land = topojson.feature(world, world.objects.countries);
    const ring = (coords) => coords.map(([lon, lat], k) => (k ? "L" : "M") + px(lon, lat).map((v) => v.toFixed(1)).join(",")).join("") + "Z";
    const paths = land.features.map((f) => {
      const g = f.geometry; if (!g) return "";
      const polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
      return '<path class="land" d="' + polys.map((p) => p.map(ring).join("")).join("") + '"></path>';
    }).join("");
    const r = Math.max(1.2, view[2] / 220);
    const line = placed.length > 1 ? '<polyline class="route" style="stroke-width:' + (r / 2) + '" points="' + placed.map((s) => px(s.lon, s.lat).join(",")).join(" ") + '"></polyline>' : "";
    const dots = placed.map((s) => { const [x, y] = px(s.lon, s.lat);
      return '<circle class="stop' + (s.flags.length ? " flagged" : "") + '" r="' + r + '" cx="' + x + '" cy="' + y + '"><title></title></circle>'; }).join("");
    mapBox.innerHTML = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="' + view.join(" ") + '" preserveAspectRatio="xMidYMid meet">' + paths + line + dots + "</svg>";
    mapBox.querySelectorAll("circle title").forEach((t, k) => { const s = placed[k];
      t.textContent = s.earliest + (s.latest !== s.earliest ? " – " + s.latest : "") + ": " + (s.locality || s.country) + " (" + s.specimens + " specimens)"; });
    const flags = document.getElementById("itinerary-flags");
    it.flags.forEach((f) => { const p = document.createElement("p"); p.className = "flag"; p.textContent = "⚑ " + f.message; flags.appendChild(p); });
    if (!placed.length) { const p = document.createElement("p"); p.className = "views-empty"; p.textContent = "No collecting event with coordinates (" + it.stops.length + " dated stops)."; mapBox.appendChild(p); }
    done(mapBox, placed.length);
  }).catch((err) => empty(mapBox, String(err)));

  // -- timeline
  const tl = document.getElementById("timeline");
  if (tl) getJSON("/views/timeline?iri=" + iri).then((entries) => {
    if (!entries.length) return empty(tl, "Nothing dated.");
    entries.forEach((e) => {
      const row = document.createElement("div"); row.className = "t k-" + e.kind;
      const a = document.createElement("a"); a.textContent = e.label || e.iri;
      a.href = local(e.iri);
      const d = document.createElement("span"); d.textContent = e.date;
      const k = document.createElement("span"); k.textContent = e.kind + (e.count > 1 ? " ×" + e.count : "");
      row.append(d, k, a); tl.appendChild(row);
    });
    done(tl, entries.length);
  }).catch((err) => empty(tl, String(err)));
})();
