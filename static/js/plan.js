/* The plan viewer: Leaflet's CRS.Simple over our tile pyramids, a floor switcher in the
   partner's order, fit-to-screen, and the reference grid (columns A.., rows 1..) that
   names the same square at every zoom ("subject in C4").  The pages, their geometry and
   the grid come from data-pages (see blueprints/response/building.py, floorplans/grid.py).
   Other scripts draw over the plan (markers.js, the exercise layer) through el.planViewer,
   set before the first floor is shown, and the "plan:floor" event fired on el each time a
   floor is shown (detail: {index, page}).  Positions they exchange are page-relative
   [fx, fy] (0..1 from the page's left and top edges), as stored.

   The markup is templates/_plan_viewer.html, the same on every page that shows a plan (the
   in-car plan, the partner's marker editor, an exercise's drawing page):
   - [data-floor] buttons and a [data-floor-select] <select> (option values: floor index;
     plan.css shows one or the other), or neither for a single floor;
   - [data-fit], [data-grid-toggle], [data-zoom-in] and [data-zoom-out] buttons;
   - [data-ruler="columns"] and [data-ruler="rows"]: strips beside the map (above it and on
     its left, aligned with its edges) that hold the grid's letters and numbers, so no
     control, panel or marker ever covers a grid reference. */
(function () {
  "use strict";
  var el = document.querySelector("[data-plan]");
  if (!el || !window.L) return;
  var pages = JSON.parse(el.dataset.pages);
  if (!pages.length) return;
  var floorButtons = Array.prototype.slice.call(document.querySelectorAll("[data-floor]"));
  var floorSelect = document.querySelector("[data-floor-select]");
  var gridButton = document.querySelector("[data-grid-toggle]");
  var fitButton = document.querySelector("[data-fit]");
  var zoomIn = document.querySelector("[data-zoom-in]");
  var zoomOut = document.querySelector("[data-zoom-out]");
  var columnStrip = document.querySelector("[data-ruler='columns']");
  var rowStrip = document.querySelector("[data-ruler='rows']");

  var map = L.map(el, {
    crs: L.CRS.Simple,
    zoomSnap: 0.25,
    zoomDelta: 0.5,
    wheelPxPerZoomLevel: 90,
    attributionControl: false,
    bounceAtZoomLimits: false,
    fadeAnimation: false, // a tile appears when it is there: no half-faded plan in a screenshot or a glance
    zoomControl: false
  });

  var current = -1;
  var tiles = null;
  var gridLines = null;
  var edge = null;
  // On whenever a plan opens (not remembered): "C4" on the radio must mean something on every screen.
  var gridOn = true;
  var atFit = false; // the view is the fitted one: a new size of the viewer fits again
  var status = null;
  // Half a row number's height: measured once, on the first labels drawn.
  var rowHalf = 12;
  var rowMeasured = false;

  function say(text) {
    if (!status) {
      status = document.createElement("p");
      status.className = "plan-status";
      status.setAttribute("role", "status");
      // Inside the map: over the drawing, never over the ruler strips around it.
      el.appendChild(status);
    }
    status.textContent = text;
    status.hidden = !text;
  }

  /* Page pixels (at full zoom) to map coordinates, and the page's bounds. */
  function at(page, x, y) { return map.unproject([x, y], page.max_zoom); }
  function boundsOf(page) { return L.latLngBounds(at(page, 0, page.height), at(page, page.width, 0)); }

  /* The margins left around the page when it is fitted: the page may come close to the
     map's edges (the ruler strips already set the grid apart), closest on a phone. */
  function fitPadding() {
    var m = map.getSize().x < 480 ? 2 : 10;
    return { topLeft: L.point(m, m), bottomRight: L.point(m, m) };
  }

  /* The zoom at which the whole page just fits, unsnapped: on a phone every pixel counts
     (a snapped zoom can lose up to a sixth of the page's width). */
  function fitZoom(page) {
    var pad = fitPadding(), size = map.getSize();
    var w = size.x - pad.topLeft.x - pad.bottomRight.x, h = size.y - pad.topLeft.y - pad.bottomRight.y;
    if (w <= 0 || h <= 0) return page.max_zoom;
    return page.max_zoom + Math.log(Math.min(w / page.width, h / page.height)) / Math.LN2;
  }

  function fit() {
    if (current < 0) return;
    var page = pages[current], pad = fitPadding();
    var zoom = fitZoom(page);
    if (zoom < map.getMinZoom()) map.setMinZoom(zoom);
    // The page's centre, shifted by half the difference of the margins.
    var centre = map.project(boundsOf(page).getCenter(), zoom)
      .subtract(pad.topLeft.subtract(pad.bottomRight).divideBy(2));
    var snap = map.options.zoomSnap;
    map.options.zoomSnap = 0;
    map.setView(map.unproject(centre, zoom), zoom, { animate: false });
    map.options.zoomSnap = snap;
    atFit = true;
    zoomButtons();
  }

  function zoomButtons() {
    zoomIn.disabled = map.getZoom() >= map.getMaxZoom();
    zoomOut.disabled = map.getZoom() <= map.getMinZoom();
  }

  function drawGrid(page) {
    if (gridLines) { map.removeLayer(gridLines); gridLines = null; }
    if (edge) { map.removeLayer(edge); }
    // Edge tiles are padded with the paper's colour, which night mode turns grey: a mask the
    // colour of the viewer's ground covers everything outside the page, and a line marks its edge.
    var inside = boundsOf(page), outside = inside.pad(20);
    edge = L.layerGroup([
      L.polygon([
        [outside.getNorthWest(), outside.getNorthEast(), outside.getSouthEast(), outside.getSouthWest()],
        [inside.getNorthWest(), inside.getNorthEast(), inside.getSouthEast(), inside.getSouthWest()]
      ], { className: "page-mask", stroke: false, fillOpacity: 1, interactive: false }),
      L.rectangle(inside, { className: "page-edge", weight: 1, fill: false, interactive: false })
    ]).addTo(map);
    if (gridOn) {
      var g = page.grid, lines = [], i;
      var style = { className: "grid-line", weight: 2, interactive: false, opacity: 1 };
      for (i = 1; i < g.columns; i++) lines.push(L.polyline([at(page, i * g.cell, 0), at(page, i * g.cell, page.height)], style));
      for (i = 1; i < g.rows; i++) lines.push(L.polyline([at(page, 0, i * g.cell), at(page, page.width, i * g.cell)], style));
      lines.push(L.rectangle(boundsOf(page), L.extend({ fill: false }, style)));
      gridLines = L.layerGroup(lines).addTo(map);
    }
    placeLabels();
  }

  /* A column's letter or a row's number; x or y is null to leave that side to the CSS
     (a label is centred across its strip). */
  function label(kind, text, x, y) {
    var node = document.createElement("span");
    node.className = "grid-label " + kind;
    node.textContent = text;
    if (x !== null) node.style.left = x + "px";
    if (y !== null) node.style.top = y + "px";
    return node;
  }

  function tick(kind, offset) {
    var node = document.createElement("span");
    node.className = "grid-tick " + kind;
    node.style[kind === "column" ? "left" : "top"] = offset + "px";
    return node;
  }

  /* Each column's letter in the middle of the column's visible part, each row's number in
     the middle of the row's: always readable, whatever the zoom and pan. */
  function placeLabels() {
    columnStrip.textContent = "";
    rowStrip.textContent = "";
    if (!gridOn || current < 0) return;
    var page = pages[current], g = page.grid, size = map.getSize();
    var columns = document.createDocumentFragment(), rows = document.createDocumentFragment();
    var i, a, b, from, to;
    for (i = 0; i <= g.columns; i++) {
      a = map.latLngToContainerPoint(at(page, Math.min(page.width, i * g.cell), 0)).x;
      if (a >= 0 && a <= size.x) columns.appendChild(tick("column", a));
      if (i === g.columns) break;
      b = map.latLngToContainerPoint(at(page, Math.min(page.width, (i + 1) * g.cell), 0)).x;
      from = Math.max(a, 0); to = Math.min(b, size.x);
      if (to - from >= 18) columns.appendChild(label("column", g.column_labels[i], (from + to) / 2, null));
    }
    for (i = 0; i <= g.rows; i++) {
      a = map.latLngToContainerPoint(at(page, 0, Math.min(page.height, i * g.cell))).y;
      if (a >= 0 && a <= size.y) rows.appendChild(tick("row", a));
      if (i === g.rows) break;
      b = map.latLngToContainerPoint(at(page, 0, Math.min(page.height, (i + 1) * g.cell))).y;
      from = Math.max(a, 0); to = Math.min(b, size.y);
      // Kept whole inside the strip: a row's last visible sliver near the strip's end (a
      // shorter viewer, say under the Find box on a phone) would otherwise cut its number.
      if (to - from >= 18) {
        rows.appendChild(label("row", String(i + 1), null,
          Math.max(rowHalf, Math.min(size.y - rowHalf, (from + to) / 2))));
      }
    }
    columnStrip.appendChild(columns);
    rowStrip.appendChild(rows);
    if (!rowMeasured) {
      var measured = rowStrip.querySelector(".grid-label");
      if (measured && measured.offsetHeight) {
        rowMeasured = true;
        rowHalf = measured.offsetHeight / 2 + 0.5;
        placeLabels();
      }
    }
  }

  function showFloor(index) {
    if (index === current || !pages[index]) return;
    current = index;
    var page = pages[index];
    if (tiles) map.removeLayer(tiles);
    el.dataset.ready = "";
    el.dataset.showing = String(index);
    var bounds = boundsOf(page);
    tiles = L.tileLayer(page.tile_url, {
      bounds: bounds,
      tileSize: page.tile_size,
      minNativeZoom: 0,
      maxNativeZoom: page.max_zoom,
      minZoom: -4,
      maxZoom: page.max_zoom + 1,
      noWrap: true,
      keepBuffer: 1,
      updateWhenIdle: true
    });
    var failed = 0;
    tiles.on("tileerror", function () {
      failed += 1;
      say("Parts of this floor could not be loaded (no connection, and not saved on this device).");
    });
    tiles.on("load", function () {
      if (!failed) say("");
      var shown = current;
      // Marked once the loaded tiles are painted (two frames on): tests and bench/firstview.py wait for it.
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          if (shown !== current) return;
          el.dataset.readyAt = String(Math.round(performance.now()));
          el.dataset.ready = String(shown);
        });
      });
    });
    tiles.addTo(map);
    map.setMaxBounds(bounds.pad(0.5));
    map.setMinZoom(Math.min(fitZoom(page), 0) - 1);
    map.setMaxZoom(page.max_zoom + 1);
    fit();
    drawGrid(page);
    floorButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.floor) === index));
    });
    if (floorSelect) floorSelect.value = String(index);
    if (window.history && history.replaceState) history.replaceState(null, "", "#floor=" + (index + 1));
    el.dispatchEvent(new CustomEvent("plan:floor", { detail: { index: index, page: page } }));
  }

  floorButtons.forEach(function (button) {
    button.addEventListener("click", function () { showFloor(Number(button.dataset.floor)); });
  });
  if (floorSelect) floorSelect.addEventListener("change", function () { showFloor(Number(floorSelect.value)); });
  if (fitButton) fitButton.addEventListener("click", fit);
  zoomIn.addEventListener("click", function () { map.zoomIn(); });
  zoomOut.addEventListener("click", function () { map.zoomOut(); });
  if (gridButton) {
    gridButton.setAttribute("aria-pressed", String(gridOn));
    gridButton.addEventListener("click", function () {
      gridOn = !gridOn;
      gridButton.setAttribute("aria-pressed", String(gridOn));
      drawGrid(pages[current]);
    });
  }
  map.on("move zoom resize", placeLabels);
  map.on("zoomend", zoomButtons);
  // Any move of the officer's (drag, pinch, wheel, a button) leaves the fitted view; fit()
  // sets it again after its own move.
  map.on("movestart zoomstart", function () { atFit = false; });
  // The viewer's box changes without a window resize too (a notice above it, a docked keyboard).
  if (window.ResizeObserver) new ResizeObserver(function () { map.invalidateSize(); }).observe(el);
  map.on("resize", function () {
    if (current < 0) return;
    map.setMinZoom(Math.min(fitZoom(pages[current]), 0) - 1);
    if (atFit) fit();
    zoomButtons();
  });

  el.planViewer = {
    map: map,
    pages: pages,
    index: function () { return current; },
    page: function () { return pages[current]; },
    showFloor: showFloor,
    fit: fit,
    toLatLng: function (page, fx, fy) { return at(page, fx * page.width, fy * page.height); },
    toPage: function (page, latlng) {
      var point = map.project(latlng, page.max_zoom);
      return [point.x / page.width, point.y / page.height];
    }
  };
  var wanted = /floor=(\d+)/.exec(location.hash);
  showFloor(wanted ? Math.max(0, Math.min(pages.length - 1, Number(wanted[1]) - 1)) : 0);
})();
