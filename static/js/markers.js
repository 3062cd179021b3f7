/* The building's real markers (doors, AEDs, shut-offs...) drawn over the plan viewer.

   Works on any page with a plan viewer (plan.js): the in-car plan, the partner's marker
   editor, the exercise layer's pages.  Load it after plan.js (both deferred, plan.js first);
   the partner's editor (markers-editor.js) comes after it, on its page only.

   Contract (keep it stable; other layers rely on it):
   - The [data-plan] element's data-pages JSON: each page object has a "markers" array of
       {id, kind, x, y, label, number, side, note, needs_confirmation}
     (plus kind_label, door, page, page_id, carried_from_id, updated_at and photo, null or
     {small, large, caption, sizes}: see floorplans.representations.marker_json).  x and y are page-relative, 0..1 from the
     page's left and top edges; kind is a key of floorplans.markers.KINDS.
   - data-marker-sprite on [data-plan]: the URL of the icons' SVG sprite (symbols
     "marker-<kind>"; marker_sprite_url() in templates).  Without it the symbols are looked
     up in the page itself (an inline sprite).
   - Optional: a [data-markers-toggle] button (aria-pressed) shows and hides the markers.
   - data-markers-editable="true" on [data-plan]: the markers are draggable and a tap does
     not open their panel; markers-editor.js does the rest (palette, click to place, the
     form) through edit() below.
   - It sets el.planMarkers = {layer, visible, setVisible(bool), redraw(), markersOf(page),
     drawn(id), doorText(m), fullText(m), kindIcon(kind), edit(hooks)}: layer is the Leaflet
     layer group of the floor on screen, drawn(id) a marker of it, kindIcon(kind) a kind's
     <svg> icon from the sprite; edit({wire(page, m, marker), floorChanged(page)}) hands the
     editor's hooks, called on every redraw.
   - Optional, outside the editor: a [data-legend-toggle] button (aria-expanded) and the
     [data-marker-legend] panel it opens.
   The icons are drawn in Leaflet's marker pane, above the tiles: night mode's filter
   (on the tile pane only) never inverts their colours.

   Labels (placeLabels): beside each icon, never over another marker's icon nor over another
   label, and inside the map.  The most important kinds are placed first (doors, hazards and
   shut-offs, then AED and first aid, then the rest); each tries the icon's right, left, top
   and bottom (then the top and bottom flush with either edge), in full then shortened ("Door 2"), and goes without a label when none fits:
   zoomed out, the lesser labels make way; zooming in brings them back.  Outside the editor a
   tap (click, Enter) on a marker or its label opens a panel with everything about it. */
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
  var editor = null; // markers-editor.js's hooks, on the partner's editor

  function markersOf(page) {
    if (!page.markers) page.markers = [];
    return page.markers;
  }

  /* A door's name as the server writes it ("Door 2 (side B)"; floorplans.markers.door_label),
     never "B2", which on a gridded plan reads as a grid square. */
  function doorText(m) {
    if (!m.number) return "";
    return m.door || "Door " + m.number;
  }

  /* What is written beside the icon: the door's name and the label, or the label. */
  function fullText(m) {
    var door = doorText(m);
    if (door && m.label) return door + " · " + m.label;
    return door || m.label || "";
  }

  /* The first words of a text, within about n characters, with an ellipsis when cut. */
  function clip(text, n) {
    if (text.length <= n) return text;
    var cut = text.slice(0, n).replace(/[\s,;.:·-]+\S*$/, "").replace(/[\s,;.:·-]+$/, "");
    return (cut.length >= n / 2 ? cut : text.slice(0, n - 1)) + "…";
  }

  /* What may be written beside the icon, longest first: the full text, then shorter ones
     for when it has no room ("Door 2 · Fire exit by…", "Door 2"; the label's first words). */
  function labelTexts(m) {
    var texts = [fullText(m)];
    if (m.number) {
      var door = doorText(m).replace(/\s*\(.*\)\s*$/, ""); // "Door 2 (side B)" -> "Door 2"
      if (m.label) texts.push(door + " · " + clip(m.label, 18));
      texts.push(door);
    } else if (m.label) {
      texts.push(clip(m.label, 24), clip(m.label, 12));
    }
    return texts.filter(function (text, i) { return text && texts.indexOf(text) === i; });
  }

  function describe(m) {
    var parts = [m.kind_label || m.kind];
    if (m.number) parts.push(doorText(m));
    if (m.label) parts.push(m.label);
    if (m.note) parts.push(m.note);
    if (m.needs_confirmation) parts.push("(carried over from the previous plan: position not checked yet)");
    return parts.join(" · ");
  }

  /* A kind's icon from the sprite (no kind: its <use> gets one later). */
  function kindIcon(kind) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var use = svg.appendChild(document.createElementNS(SVG, "use"));
    if (kind) use.setAttribute("href", sprite + "#marker-" + kind);
    return svg;
  }

  function iconElement(m) {
    var box = document.createElement("span");
    box.className = "marker-body";
    box.appendChild(kindIcon(m.kind)).setAttribute("class", "marker-icon");
    var text = fullText(m);
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
      keyboard: true, // a button: Tab to it, Enter opens it (the editor's form, or the panel)
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
      node.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        marker.fire("click");
      });
    });
    if (!editable) marker.on("click", function () { if (info) info.open(page, m, marker); });
    return marker;
  }

  function redraw() {
    if (!viewer) return;
    if (info) info.close();
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
    placeLabels();
    el.dataset.markersShown = String(visible ? markersOf(page || {}).length : 0);
    if (editor) editor.floorChanged(page);
    api.layer = group;
  }

  var PRIORITY = {
    door: 0, hazard: 0, gas_shutoff: 0, electric_shutoff: 0, water_shutoff: 0,
    aed: 1, first_aid: 1
  };
  // Beside, then above and below (centred, then flush with the icon's left or right edge).
  var SIDES = ["right", "left", "above", "below", "above-start", "above-end", "below-start", "below-end"];
  var HALF = 14; // half the icon (28 px, anchored at its centre)
  var GAP = 3; // between the icon and its label (markers.css: 31 px = 28 + 3)
  var MARGIN = 2; // kept clear around icons, labels and the map's edges
  var sizes = {}; // label text -> [width, height], measured once
  var measurer = null;
  var widest = 0; // a label's max-width (markers.css), in px

  /* The rendered size of a label's text, measured in a hidden label of the same style. */
  function sizeOf(text) {
    if (!sizes[text]) {
      if (!measurer) {
        measurer = document.createElement("div");
        measurer.className = "marker-measure";
        measurer.setAttribute("aria-hidden", "true");
        measurer.appendChild(document.createElement("span")).className = "marker-measure-text";
        el.appendChild(measurer);
      }
      var span = measurer.firstChild;
      if (!widest) {
        widest = parseFloat(getComputedStyle(span).maxWidth) || Infinity;
        span.style.maxWidth = "none";
      }
      span.textContent = text;
      var box = span.getBoundingClientRect();
      span.textContent = "";
      if (!box.width) return [0, 0, false]; // not laid out (hidden): measured next time
      // Wider than a label may be: it would end in the style's ellipsis, so a shorter text is used.
      sizes[text] = [Math.min(box.width, widest), box.height, box.width > widest - 1];
    }
    return sizes[text];
  }

  function boxBeside(point, side, size) {
    var w = size[0], h = size[1];
    if (side === "right") return [point.x + HALF + GAP, point.y - h / 2, w, h];
    if (side === "left") return [point.x - HALF - GAP - w, point.y - h / 2, w, h];
    var x = side.slice(-6) === "-start" ? point.x - HALF : side.slice(-4) === "-end" ? point.x + HALF - w : point.x - w / 2;
    return [x, side.slice(0, 5) === "above" ? point.y - HALF - GAP - h : point.y + HALF + GAP, w, h];
  }

  function overlaps(a, b) {
    return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
  }

  function grown(box, by) { return [box[0] - by, box[1] - by, box[2] + 2 * by, box[3] + 2 * by]; }

  /* Where each label goes (see the header): measured once per text, then placed greedily,
     the most important first, against every icon of the floor and the labels already placed. */
  function placeLabels() {
    if (!viewer || !visible) return;
    var page = viewer.page();
    if (!page) return;
    var map = viewer.map, size = map.getSize();
    var items = [];
    markersOf(page).forEach(function (m, index) {
      var marker = drawn[m.id];
      var node = marker && marker.getElement();
      if (!node) return;
      var point = map.latLngToContainerPoint(marker.getLatLng());
      items.push({ m: m, index: index, node: node, point: point,
                   icon: [point.x - HALF, point.y - HALF, 2 * HALF, 2 * HALF],
                   text: node.querySelector(".marker-text") });
    });
    var order = items.filter(function (item) { return item.text; });
    order.sort(function (a, b) {
      var pa = PRIORITY[a.m.kind] === undefined ? 2 : PRIORITY[a.m.kind];
      var pb = PRIORITY[b.m.kind] === undefined ? 2 : PRIORITY[b.m.kind];
      return pa - pb || (a.m.number || 0) - (b.m.number || 0) || a.index - b.index;
    });
    var placed = [];
    var inside = [MARGIN, MARGIN, size.x - 2 * MARGIN, size.y - 2 * MARGIN];
    /* A label's box, with a margin, covers no other marker's icon and no label placed. */
    function isFree(box, item) {
      var ringed = grown(box, MARGIN);
      return items.every(function (other) { return other === item || !overlaps(ringed, other.icon); }) &&
        placed.every(function (other) { return !overlaps(ringed, other); });
    }
    order.forEach(function (item) {
      item.choice = null;
      var p = item.point;
      if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) return; // off screen: no label to read
      var texts = labelTexts(item.m);
      for (var t = 0; t < texts.length && !item.choice; t++) {
        var measured = sizeOf(texts[t]);
        if (!measured[0]) return;
        if (measured[2] && t < texts.length - 1) continue;
        for (var s = 0; s < SIDES.length; s++) {
          var box = boxBeside(p, SIDES[s], measured);
          if (box[0] < inside[0] || box[1] < inside[1] || box[0] + box[2] > inside[0] + inside[2] ||
              box[1] + box[3] > inside[1] + inside[3]) continue;
          if (isFree(box, item)) {
            item.choice = { side: SIDES[s], text: texts[t] };
            placed.push(box);
            break;
          }
        }
      }
    });
    // Then write: every read above, every change here (one layout for all the labels).
    order.forEach(function (item) {
      var choice = item.choice;
      SIDES.forEach(function (side) { item.node.classList.toggle("label-" + side, !!choice && choice.side === side); });
      item.node.classList.toggle("label-none", !choice);
      if (choice && item.text.textContent !== choice.text) item.text.textContent = choice.text;
    });
    el.dataset.labelsPlaced = String(placed.length);
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
    drawn: function (id) { return drawn[id]; },
    doorText: doorText,
    fullText: fullText,
    kindIcon: kindIcon,
    editing: false,
    edit: function (hooks) {
      editor = hooks;
      api.editing = true;
      redraw();
    }
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
    viewer.map.on("zoomend moveend resize", placeLabels);
    if (!editable) info = makeInfo();
    redraw();
  }

  /* --- outside the editor: a marker's panel and the legend's ------------------------------ */

  var info = null;

  /* A panel inside the map (so it may cover the drawing, never the grid's ruler strips
     beside it): Leaflet does not see clicks, drags and wheel turns made on it. */
  function inMap(panel) {
    el.appendChild(panel);
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);
  }

  function makeInfo() {
    var legendButton = document.querySelector("[data-legend-toggle]");
    var legend = document.querySelector("[data-marker-legend]");
    var panel = document.createElement("section");
    panel.className = "marker-info plan-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "marker-info-title");
    panel.dataset.markerInfo = "";
    var head = panel.appendChild(document.createElement("div"));
    head.className = "plan-panel-head";
    var use = head.appendChild(kindIcon(null)).firstChild;
    var title = head.appendChild(document.createElement("h2"));
    title.id = "marker-info-title";
    var close = head.appendChild(document.createElement("button"));
    close.type = "button";
    close.className = "plan-panel-close";
    close.textContent = "Close";
    close.setAttribute("aria-label", "Close this marker's details");
    // The marker's photo (the shut-off, the key box): a thumbnail beside the text, inside the
    // panel, so it never covers the grid's rulers or the marker (the panel sits in the other
    // half of the map); tapping it opens the large size.
    var figure = panel.appendChild(document.createElement("a"));
    figure.className = "marker-info-photo";
    figure.hidden = true;
    var picture = figure.appendChild(document.createElement("img"));
    picture.decoding = "async";
    var lines = {};
    ["door", "label", "note", "cell", "flag"].forEach(function (name) {
      lines[name] = panel.appendChild(document.createElement("p"));
      lines[name].className = "marker-info-" + name;
    });
    inMap(panel);
    var shownFor = null;

    function cellOf(page, m) {
      var g = page.grid;
      if (!g) return "";
      var column = Math.min(g.columns - 1, Math.max(0, Math.floor(m.x * page.width / g.cell)));
      var row = Math.min(g.rows - 1, Math.max(0, Math.floor(m.y * page.height / g.cell)));
      return g.column_labels[column] + (row + 1);
    }

    function set(line, text) {
      lines[line].textContent = text || "";
      lines[line].hidden = !text;
    }

    function closeInfo() {
      if (panel.hidden) return;
      var back = panel.contains(document.activeElement) && shownFor && shownFor.getElement();
      panel.hidden = true;
      if (shownFor && shownFor.getElement()) shownFor.getElement().classList.remove("chosen");
      shownFor = null;
      el.dataset.markerOpen = "";
      if (back) back.focus({ preventScroll: true });
    }

    function openInfo(page, m, marker) {
      closeLegend();
      if (shownFor && shownFor.getElement()) shownFor.getElement().classList.remove("chosen");
      shownFor = marker;
      use.setAttribute("href", sprite + "#marker-" + m.kind);
      title.textContent = m.kind_label || m.kind;
      set("door", doorText(m));
      set("label", m.label);
      set("note", m.note);
      var cell = cellOf(page, m);
      set("cell", cell ? "Grid square " + cell : "");
      set("flag", m.needs_confirmation ? "Carried over from the previous plan: its place is not checked yet." : "");
      var photo = m.photo;
      figure.hidden = !photo;
      if (photo) {
        var small = photo.sizes && photo.sizes[0];
        picture.src = photo.small;
        picture.width = small ? small.width : 0;
        picture.height = small ? small.height : 0;
        picture.alt = "Photo: " + (photo.caption || m.label || m.kind_label || m.kind);
        figure.href = photo.large;
        figure.title = "Open the photo larger";
      } else {
        picture.removeAttribute("src");
      }
      // Away from the marker: at the top of the map when the marker is in its lower half.
      var point = viewer.map.latLngToContainerPoint(marker.getLatLng());
      panel.classList.toggle("at-top", point.y > viewer.map.getSize().y / 2);
      panel.hidden = false;
      var node = marker.getElement();
      if (node) node.classList.add("chosen");
      el.dataset.markerOpen = String(m.id);
      close.focus({ preventScroll: true });
    }

    function openLegend(open) {
      if (!legend) return;
      if (open) closeInfo();
      legend.hidden = !open;
      if (legendButton) legendButton.setAttribute("aria-expanded", String(open));
    }
    function closeLegend() { openLegend(false); }

    close.addEventListener("click", closeInfo);
    viewer.map.on("click", closeInfo);
    if (legend) {
      inMap(legend);
      Array.prototype.forEach.call(legend.querySelectorAll("[data-panel-close]"), function (button) {
        button.addEventListener("click", function () {
          closeLegend();
          if (legendButton) legendButton.focus();
        });
      });
    }
    if (legendButton) legendButton.addEventListener("click", function () { openLegend(legend.hidden); });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      if (!panel.hidden) closeInfo();
      else if (legend && !legend.hidden) {
        closeLegend();
        if (legendButton) legendButton.focus();
      }
    });
    return { open: openInfo, close: closeInfo };
  }

  // plan.js normally ran first and already showed a floor; if not, the first floor event starts us.
  if (el.planViewer) start();
  else el.addEventListener("plan:floor", start);
})();
