/* The building's real markers (doors, AEDs, shut-offs...) drawn over the plan viewer.

   Works on any page with a plan viewer (plan.js): the in-car plan, the partner's marker
   editor, the exercise layer's pages.  Load it after plan.js (both deferred, plan.js first).

   Contract (keep it stable; other layers rely on it):
   - The [data-plan] element's data-pages JSON: each page object has a "markers" array of
       {id, kind, x, y, label, number, side, note, needs_confirmation}
     (plus kind_label, door, page, page_id, carried_from_id, updated_at: see
     floorplans.representations.marker_json).  x and y are page-relative, 0..1 from the
     page's left and top edges; kind is a key of floorplans.markers.KINDS.
   - data-marker-sprite on [data-plan]: the URL of the icons' SVG sprite (symbols
     "marker-<kind>"; marker_sprite_url() in templates).  Without it the symbols are looked
     up in the page itself (an inline sprite).
   - Optional: a [data-markers-toggle] button (aria-pressed) shows and hides the markers.
   - data-markers-editable="true" on [data-plan] turns on the partner's editor (palette,
     click to place, drag to move, the edit form): see the editor section below.
   - It sets el.planMarkers = {layer, visible, setVisible(bool), redraw(), markersOf(page)}:
     layer is the Leaflet layer group of the floor on screen.
   The icons are drawn in Leaflet's marker pane, above the tiles: night mode's filter
   (on the tile pane only) never inverts their colours. */
(function () {
  "use strict";
  var el = document.querySelector("[data-plan]");
  if (!el || !window.L) return;

  var sprite = el.dataset.markerSprite || "";
  var editable = el.dataset.markersEditable === "true";
  var toggle = document.querySelector("[data-markers-toggle]");
  var SVG = "http://www.w3.org/2000/svg";
  var viewer = null;
  var group = null;
  var visible = true;
  var drawn = {}; // marker id -> Leaflet marker, for the floor on screen
  var editor = null; // set by the editor section when editable

  function markersOf(page) {
    if (!page.markers) page.markers = [];
    return page.markers;
  }

  /* What is written beside the icon: "A1" for a door (then its label), else the label. */
  function shortText(m) {
    var door = m.number ? (m.side || "") + m.number : "";
    if (door && m.label) return door + " " + m.label;
    return door || m.label || "";
  }

  function describe(m) {
    var parts = [m.kind_label || m.kind];
    if (m.number) parts.push("door " + (m.side || "") + m.number);
    if (m.label) parts.push(m.label);
    if (m.note) parts.push(m.note);
    if (m.needs_confirmation) parts.push("(carried over from the previous plan: position not checked yet)");
    return parts.join(" · ");
  }

  function iconElement(m) {
    var box = document.createElement("span");
    box.className = "marker-body";
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "marker-icon");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS(SVG, "use");
    use.setAttribute("href", sprite + "#marker-" + m.kind);
    svg.appendChild(use);
    box.appendChild(svg);
    var text = shortText(m);
    if (text) {
      var label = document.createElement("span");
      label.className = "marker-text";
      label.textContent = text;
      box.appendChild(label);
    }
    if (m.needs_confirmation) {
      var flag = document.createElement("span");
      flag.className = "marker-flag";
      flag.textContent = "?";
      box.appendChild(flag);
    }
    return box;
  }

  function leafletMarker(page, m) {
    var icon = L.divIcon({
      className: "plan-marker" + (m.needs_confirmation ? " flagged" : "") + (editable ? " editable" : ""),
      html: iconElement(m),
      iconSize: [28, 28],
      iconAnchor: [14, 14]
    });
    var marker = L.marker(viewer.toLatLng(page, m.x, m.y), {
      icon: icon,
      keyboard: editable,
      draggable: editable,
      riseOnHover: true,
      autoPan: editable
    });
    marker.on("add", function () {
      var node = marker.getElement();
      if (!node) return;
      node.dataset.markerId = String(m.id);
      node.dataset.kind = m.kind;
      node.dataset.x = String(m.x);
      node.dataset.y = String(m.y);
      node.title = describe(m);
      node.setAttribute("aria-label", describe(m));
      if (!editable) node.setAttribute("role", "img");
    });
    return marker;
  }

  function redraw() {
    if (!viewer) return;
    if (group) { viewer.map.removeLayer(group); }
    group = L.layerGroup();
    drawn = {};
    var page = viewer.page();
    if (page) {
      markersOf(page).forEach(function (m) {
        var marker = leafletMarker(page, m);
        drawn[m.id] = marker;
        if (editor) editor.wire(page, m, marker);
        group.addLayer(marker);
      });
    }
    if (visible) group.addTo(viewer.map);
    el.dataset.markersShown = String(visible ? markersOf(page || {}).length : 0);
    if (editor) editor.floorChanged(page);
    api.layer = group;
  }

  function setVisible(on) {
    visible = !!on;
    if (toggle) toggle.setAttribute("aria-pressed", String(visible));
    el.classList.toggle("markers-hidden", !visible);
    redraw();
    api.visible = visible;
  }

  var api = {
    layer: null,
    visible: true,
    setVisible: setVisible,
    redraw: function () { redraw(); },
    markersOf: markersOf,
    drawn: function (id) { return drawn[id]; }
  };

  function start() {
    if (viewer || !el.planViewer) return;
    viewer = el.planViewer;
    el.planMarkers = api;
    if (toggle) {
      toggle.setAttribute("aria-pressed", "true");
      toggle.addEventListener("click", function () { setVisible(!visible); });
    }
    el.addEventListener("plan:floor", function () { redraw(); });
    if (editable) editor = makeEditor();
    redraw();
  }

  /* --- the partner's editor (data-markers-editable="true") ----------------------------- */

  function makeEditor() {
    return null;
  }

  // plan.js normally ran first and already showed a floor; if not, the first floor event starts us.
  if (el.planViewer) start();
  else el.addEventListener("plan:floor", start);
})();
