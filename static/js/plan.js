/* The plan viewer: Leaflet's CRS.Simple over our tile pyramids, a floor switcher in the
   partner's order, fit-to-screen, and the reference grid (columns A.., rows 1..) that
   names the same square at every zoom ("subject in C4").  The pages, their geometry and
   the grid come from data-pages (see blueprints/response/building.py, floorplans/grid.py).
   Other scripts draw over the plan (markers.js, the exercise layer) through el.planViewer,
   set before the first floor is shown, and the "plan:floor" event fired on el each time a
   floor is shown (detail: {index, page}).  Positions they exchange are page-relative
   [fx, fy] (0..1 from the page's left and top edges), as stored. */
(function () {
  "use strict";
  var el = document.querySelector("[data-plan]");
  if (!el || !window.L) return;
  var pages = JSON.parse(el.dataset.pages);
  if (!pages.length) return;
  var floorButtons = Array.prototype.slice.call(document.querySelectorAll("[data-floor]"));
  var floorsBox = document.querySelector("[data-floors]");
  var gridButton = document.querySelector("[data-grid-toggle]");
  var fitButton = document.querySelector("[data-fit]");

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
  L.control.zoom({ position: "bottomright" }).addTo(map);

  var current = -1;
  var tiles = null;
  var gridLines = null;
  var edge = null;
  var rulers = document.createElement("div");
  rulers.className = "grid-rulers";
  el.appendChild(rulers);
  // On whenever a plan opens (not remembered): "C4" on the radio must mean something on every screen.
  var gridOn = true;
  var status = null;

  function say(text) {
    if (!status) {
      status = document.createElement("p");
      status.className = "plan-status";
      status.setAttribute("role", "status");
      el.parentNode.appendChild(status);
    }
    status.textContent = text;
    status.hidden = !text;
  }

  /* Page pixels (at full zoom) to map coordinates, and the page's bounds. */
  function at(page, x, y) { return map.unproject([x, y], page.max_zoom); }
  function boundsOf(page) { return L.latLngBounds(at(page, 0, page.height), at(page, page.width, 0)); }

  function fitOptions() {
    var left = floorsBox ? floorsBox.offsetWidth + 16 : 8;
    return { paddingTopLeft: [left, 64], paddingBottomRight: [8, 8] };
  }
  function fit() {
    if (current < 0) return;
    map.fitBounds(boundsOf(pages[current]), fitOptions());
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
    rulers.textContent = "";
    if (!gridOn) return;
    var g = page.grid, lines = [], i;
    var style = { className: "grid-line", weight: 2, interactive: false, opacity: 1 };
    for (i = 1; i < g.columns; i++) lines.push(L.polyline([at(page, i * g.cell, 0), at(page, i * g.cell, page.height)], style));
    for (i = 1; i < g.rows; i++) lines.push(L.polyline([at(page, 0, i * g.cell), at(page, page.width, i * g.cell)], style));
    lines.push(L.rectangle(boundsOf(page), L.extend({ fill: false }, style)));
    gridLines = L.layerGroup(lines).addTo(map);
    placeLabels();
  }

  /* Column letters along the top and row numbers down the left of what is on screen:
     always readable, whatever the zoom, in the middle of each column's visible part. */
  function placeLabels() {
    rulers.textContent = "";
    if (!gridOn || current < 0) return;
    var page = pages[current], g = page.grid;
    var size = map.getSize();
    var topLeft = map.latLngToContainerPoint(at(page, 0, 0));
    var bottomRight = map.latLngToContainerPoint(at(page, page.width, page.height));
    var minX = floorsBox ? floorsBox.offsetWidth + 12 : 0;
    // Outside the page's edge when there is room, so no label hides what is drawn there;
    // pinned to the screen's edge once the page fills it.
    var top = topLeft.y >= 30 ? topLeft.y - 26 : 4;
    var left = topLeft.x >= minX + 34 ? topLeft.x - 30 : minX + 4;
    if (top > size.y - 20 || left > size.x - 20 || bottomRight.y < 0 || bottomRight.x < 0) return;
    var fragment = document.createDocumentFragment();
    var i, a, b, from, to, label;
    for (i = 0; i < g.columns; i++) {
      a = map.latLngToContainerPoint(at(page, i * g.cell, 0)).x;
      b = map.latLngToContainerPoint(at(page, Math.min(page.width, (i + 1) * g.cell), 0)).x;
      from = Math.max(a, minX); to = Math.min(b, size.x);
      if (to - from < 18) continue;
      label = document.createElement("span");
      label.className = "grid-label column";
      label.textContent = g.column_labels[i];
      label.style.left = ((from + to) / 2) + "px";
      label.style.top = top + "px";
      fragment.appendChild(label);
    }
    for (i = 0; i < g.rows; i++) {
      a = map.latLngToContainerPoint(at(page, 0, i * g.cell)).y;
      b = map.latLngToContainerPoint(at(page, 0, Math.min(page.height, (i + 1) * g.cell))).y;
      from = Math.max(a, top + 22); to = Math.min(b, size.y);
      if (to - from < 18) continue;
      label = document.createElement("span");
      label.className = "grid-label row";
      label.textContent = String(i + 1);
      label.style.left = left + "px";
      label.style.top = ((from + to) / 2) + "px";
      fragment.appendChild(label);
    }
    rulers.appendChild(fragment);
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
    var fitZoom = map.getBoundsZoom(bounds, false, L.point(32, 72));
    map.setMinZoom(Math.min(fitZoom, 0) - 1);
    map.setMaxZoom(page.max_zoom + 1);
    fit();
    drawGrid(page);
    floorButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.floor) === index));
    });
    if (window.history && history.replaceState) history.replaceState(null, "", "#floor=" + (index + 1));
    el.dispatchEvent(new CustomEvent("plan:floor", { detail: { index: index, page: page } }));
  }

  floorButtons.forEach(function (button) {
    button.addEventListener("click", function () { showFloor(Number(button.dataset.floor)); });
  });
  if (fitButton) fitButton.addEventListener("click", fit);
  if (gridButton) {
    gridButton.setAttribute("aria-pressed", String(gridOn));
    gridButton.addEventListener("click", function () {
      gridOn = !gridOn;
      gridButton.setAttribute("aria-pressed", String(gridOn));
      drawGrid(pages[current]);
    });
  }
  map.on("move zoom resize", placeLabels);
  // The viewer's box changes without a window resize too (a notice above it, a docked keyboard).
  if (window.ResizeObserver) new ResizeObserver(function () { map.invalidateSize(); }).observe(el);
  map.on("resize", function () { if (current >= 0) map.setMinZoom(Math.min(map.getBoundsZoom(boundsOf(pages[current])), 0) - 1); });

  el.planViewer = {
    map: map,
    pages: pages,
    index: function () { return current; },
    page: function () { return pages[current]; },
    showFloor: showFloor,
    toLatLng: function (page, fx, fy) { return at(page, fx * page.width, fy * page.height); },
    toPage: function (page, latlng) {
      var point = map.project(latlng, page.max_zoom);
      return [point.x / page.width, point.y / page.height];
    }
  };
  var wanted = /floor=(\d+)/.exec(location.hash);
  showFloor(wanted ? Math.max(0, Math.min(pages.length - 1, Number(wanted[1]) - 1)) : 0);
})();
