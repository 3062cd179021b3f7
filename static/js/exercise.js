/* The exercise's scratch layer over the plan viewer (plan.js): planners draw markers, lines,
   areas and notes on the floor shown, move and delete them; each change is saved at once
   through the JSON endpoints of blueprints/planning/layer.py (save.js: CSRF token in a header).
   Other planners' drawings appear by polling every 5 seconds (and on each floor change);
   a poll never replaces the layer while a line or area is being drawn or an item dragged.
   Items live in their own Leaflet pane above the real markers, dashed, so nobody takes
   them for the building's record.  Positions are page-relative [fx, fy], as stored.
   A closed exercise (data-readonly) is drawn view-only. */
(function () {
  "use strict";
  var el = document.querySelector("[data-plan]");
  var box = document.querySelector("[data-exercise]");
  if (!el || !box || !el.planViewer || !window.L) return;
  var viewer = el.planViewer, map = viewer.map;
  var urls = JSON.parse(box.dataset.urls);
  var items = JSON.parse(box.dataset.items);
  var kinds = {};
  JSON.parse(box.dataset.kinds).forEach(function (k) { kinds[k.key] = k; });
  var readonly = box.hasAttribute("data-readonly");
  var statusEl = box.querySelector("[data-exercise-status]");
  var toolButtons = Array.prototype.slice.call(box.querySelectorAll("[data-tool]"));
  var swatches = Array.prototype.slice.call(box.querySelectorAll("[data-colour]"));
  var kindSelect = box.querySelector("[data-kind]");
  var kindField = box.querySelector("[data-kind-field]");
  var labelInput = box.querySelector("[data-label]");
  var finishButton = box.querySelector("[data-finish]");
  var cancelButton = box.querySelector("[data-cancel]");
  var applyButton = box.querySelector("[data-apply]");

  map.createPane("exercise").style.zIndex = 640; // over markerPane (600), under tooltips and popups
  var renderer = L.svg({ pane: "exercise" });
  var layer = L.layerGroup().addTo(map);
  var tool = "select";
  var colour = swatches.length ? swatches[0].dataset.colour : "#dc2626";
  var drawing = null; // {shape, points: [[fx, fy]], preview}
  var selected = null; // id of the selected item
  var busy = 0; // drags and saves under way: a poll waits for them
  var shownSignature = "";

  function say(text, isError) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }

  function page() { return viewer.page(); }
  function toLatLng(point) { return viewer.toLatLng(page(), point[0], point[1]); }
  function toPoint(latlng) {
    var p = viewer.toPage(page(), latlng);
    return [Math.round(p[0] * 1e6) / 1e6, Math.round(p[1] * 1e6) / 1e6];
  }
  function onPage(point) { return point[0] >= 0 && point[0] <= 1 && point[1] >= 0 && point[1] <= 1; }
  function byId(id) {
    for (var i = 0; i < items.length; i++) if (items[i].id === id) return items[i];
    return null;
  }

  /* --- talking to the server ------------------------------------------------------- */

  /* Saves through save.js; a poll waits while any is under way. */
  function send(url, body) {
    busy += 1;
    return window.floorplans.saveJSON(url, body, box.dataset.csrf).finally(function () { busy -= 1; });
  }
  function itemUrl(id, suffix) { return urls.item.replace(/0$/, String(id)) + (suffix || ""); }
  /* After a refused change: the server's layer again, drawn afresh (a dragged item goes back). */
  function failed(error) {
    var problems = error.fields || {};
    var fields = Object.keys(problems).map(function (k) { return k + " " + problems[k]; });
    // The server's refusal after "Not saved:"; no answer at all says so itself (save.js).
    say(error.status ? "Not saved: " + (fields.join("; ") || error.message) : error.message, true);
    shownSignature = "";
    refresh();
  }

  function save(body) {
    body.page_id = page().id;
    body.colour = colour;
    return send(urls.items, body).then(function (data) {
      items.push(data.item);
      render();
      say("Saved.");
    }).catch(failed);
  }
  function change(item, body, message) {
    return send(itemUrl(item.id), body).then(function (data) {
      var i = items.indexOf(item);
      if (i >= 0) items[i] = data.item;
      render();
      say(message || "Saved.");
    }).catch(failed);
  }
  function remove(item) {
    return send(itemUrl(item.id, "/delete")).then(function () {
      items = items.filter(function (other) { return other.id !== item.id; });
      if (selected === item.id) select(null);
      render();
      say("Deleted.");
    }).catch(failed);
  }

  /* Other planners' work: every 5 s while the page is visible, and on each floor change. */
  function refresh() {
    if (busy || drawing || document.hidden) return;
    fetch(urls.items, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || busy || drawing) return;
        items = data.items;
        if (data.state !== "open" && !readonly) {
          readonly = true;
          box.setAttribute("data-readonly", "");
          setTool("select");
          Array.prototype.forEach.call(box.querySelectorAll(".tool-group"), function (g) { g.hidden = true; });
          say("Another planner closed this exercise: view only.");
        }
        render();
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }
  setInterval(refresh, 5000);

  /* --- drawing the layer ------------------------------------------------------------ */

  function markerIcon(item) {
    var node = document.createElement("div");
    node.className = "exercise-marker" + (item.id === selected ? " exercise-selected-marker" : "");
    node.style.borderColor = item.colour;
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    var use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", (el.dataset.markerSprite || "") + "#marker-" + item.kind);
    svg.appendChild(use);
    node.appendChild(svg);
    var kind = kinds[item.kind];
    node.title = "Exercise: " + (kind ? kind.label : item.kind) + (item.label ? " · " + item.label : "");
    return L.divIcon({ html: node, className: "exercise-icon", iconSize: [34, 34], iconAnchor: [17, 17] });
  }
  function noteIcon(item) {
    var node = document.createElement("div");
    node.className = "exercise-note" + (item.id === selected ? " exercise-selected-marker" : "");
    node.style.borderColor = item.colour;
    node.textContent = item.label;
    return L.divIcon({ html: node, className: "exercise-icon", iconSize: null, iconAnchor: [0, 0] });
  }

  function interactive() { return tool === "select" || tool === "delete"; }

  function draw(item) {
    var latlngs = item.points.map(toLatLng);
    var canMove = !readonly && tool === "select";
    var shape;
    if (item.shape === "marker" || item.shape === "note") {
      shape = L.marker(latlngs[0], {
        pane: "exercise", icon: item.shape === "marker" ? markerIcon(item) : noteIcon(item),
        draggable: canMove, interactive: interactive(), keyboard: false, bubblingMouseEvents: false
      });
      shape.on("dragstart", function () { busy += 1; });
      shape.on("dragend", function () {
        busy -= 1;
        var point = toPoint(shape.getLatLng());
        if (!onPage(point)) { say("Keep it on the plan.", true); redraw(); return; }
        change(item, { points: [point] }, "Moved.");
      });
    } else {
      var options = {
        renderer: renderer, pane: "exercise", color: item.colour, weight: item.id === selected ? 6 : 4,
        dashArray: "10 7", className: "exercise-item" + (item.id === selected ? " selected" : ""),
        interactive: interactive(), bubblingMouseEvents: false
      };
      if (item.shape === "area") {
        shape = L.polygon(latlngs, L.extend(options, { fillColor: item.colour, fillOpacity: 0.15 }));
      } else {
        shape = L.polyline(latlngs, options);
      }
    }
    if (item.label && item.shape !== "note") {
      var text = document.createElement("span");
      text.textContent = item.label; // a node, not a string: Leaflet would read a string as HTML
      shape.bindTooltip(text, { permanent: true, direction: "top", className: "exercise-label", opacity: 0.95 });
    }
    function clicked() {
      if (readonly) return;
      if (tool === "delete") {
        remove(item);
      } else if (tool === "select") {
        select(item.id);
      }
    }
    shape.on("click", clicked);
    layer.addLayer(shape);
    var hit = null;
    if (item.shape === "line" && interactive()) {
      // A dashed line's gaps take no clicks: a wide invisible twin takes them instead.
      hit = L.polyline(latlngs, { renderer: renderer, pane: "exercise", weight: 16, opacity: 0,
                                      className: "exercise-hit", bubblingMouseEvents: false });  // prettier-ignore
      hit.on("click", clicked);
      layer.addLayer(hit);
    }
    if (canMove && item.id === selected && (item.shape === "line" || item.shape === "area")) {
      addHandles(item, shape);
      shape.on("mousedown", function (event) { startShift(item, shape, event); });
      if (hit) hit.on("mousedown", function (event) { startShift(item, shape, event); });
    }
  }

  /* A selected line or area moves as a whole when dragged by its body (its handles move one
     point).  Mouse only: on a touch screen the handles do it. */
  function startShift(item, shape, event) {
    var from = toPoint(event.latlng), delta = [0, 0];
    busy += 1;
    map.dragging.disable();
    function move(e) {
      var at = toPoint(e.latlng);
      delta = [at[0] - from[0], at[1] - from[1]];
      shape.setLatLngs(item.points.map(function (p) { return toLatLng([p[0] + delta[0], p[1] + delta[1]]); }));
    }
    function end() {
      map.off("mousemove", move);
      document.removeEventListener("mouseup", end);
      map.dragging.enable();
      busy -= 1;
      if (Math.abs(delta[0]) < 1e-4 && Math.abs(delta[1]) < 1e-4) return;
      var points = item.points.map(function (p) {
        return [Math.round((p[0] + delta[0]) * 1e6) / 1e6, Math.round((p[1] + delta[1]) * 1e6) / 1e6];
      });
      if (!points.every(onPage)) { say("Keep every point on the plan.", true); redraw(); return; }
      change(item, { points: points }, "Moved.");
    }
    map.on("mousemove", move);
    document.addEventListener("mouseup", end);
  }

  /* A selected line or area shows a handle on each point: drag one to move that point. */
  function addHandles(item, shape) {
    var latlngs = item.points.map(toLatLng);
    latlngs.forEach(function (latlng, index) {
      var handle = L.marker(latlng, {
        pane: "exercise", draggable: true, keyboard: false, bubblingMouseEvents: false,
        icon: L.divIcon({ className: "exercise-handle", iconSize: [16, 16] })
      });
      handle.on("dragstart", function () { busy += 1; });
      handle.on("drag", function () {
        latlngs[index] = handle.getLatLng();
        shape.setLatLngs(latlngs);
      });
      handle.on("dragend", function () {
        busy -= 1;
        var points = latlngs.map(toPoint);
        if (!points.every(onPage)) { say("Keep every point on the plan.", true); redraw(); return; }
        change(item, { points: points }, "Moved.");
      });
      layer.addLayer(handle);
    });
  }

  function render() {
    if (!page()) return;
    var signature = JSON.stringify([page().id, tool, selected, readonly, items]);
    if (signature === shownSignature && !drawing) return;
    shownSignature = signature;
    layer.clearLayers();
    items.forEach(function (item) { if (item.page_id === page().id) draw(item); });
    el.dataset.exerciseItems = String(items.filter(function (i) { return i.page_id === page().id; }).length);
    if (drawing) drawPreview();
  }

  function redraw() { shownSignature = ""; render(); }

  function select(id) {
    selected = id;
    var item = id === null ? null : byId(id);
    if (applyButton) applyButton.hidden = !item;
    if (item) {
      if (labelInput) labelInput.value = item.label;
      setColour(item.colour);
      if (item.shape === "marker" && kindSelect) { kindSelect.value = item.kind; kindField.hidden = false; }
      say("Selected: drag it (or its points) to move it, or change its label and colour and save.");
    }
    render();
  }

  /* --- tools ------------------------------------------------------------------------ */

  function setTool(name) {
    cancelDrawing();
    tool = name;
    toolButtons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.tool === name)); });
    if (kindField) kindField.hidden = name !== "marker";
    el.classList.toggle("drawing", ["marker", "line", "area", "note"].indexOf(name) >= 0);
    el.classList.toggle("deleting", name === "delete");
    // Double-click ends a line or area: it must not zoom then.
    if (name === "line" || name === "area") map.doubleClickZoom.disable(); else map.doubleClickZoom.enable();
    if (name !== "select") select(null); else render();
    say({
      select: "Click an item to select it; drag to move it.",
      marker: "Click the plan to place the marker.",
      line: "Click each point of the line; double-click or Finish to end, Escape to cancel.",
      area: "Click each corner of the area; double-click or Finish to close it, Escape to cancel.",
      note: "Type the note's text in Label, then click the plan where it goes.",
      "delete": "Click an item to delete it."
    }[name] || "");
  }

  function setColour(code) {
    colour = code;
    swatches.forEach(function (s) { s.setAttribute("aria-checked", String(s.dataset.colour === code)); });
  }

  function drawPreview() {
    if (drawing.preview) layer.removeLayer(drawing.preview);
    var latlngs = drawing.points.map(toLatLng);
    var options = { renderer: renderer, pane: "exercise", color: colour, weight: 3, dashArray: "4 6",
                    className: "exercise-item exercise-preview", interactive: false };  // prettier-ignore
    drawing.preview = (drawing.shape === "area" && latlngs.length > 2)
      ? L.polygon(latlngs, L.extend(options, { fillColor: colour, fillOpacity: 0.1 }))
      : L.polyline(latlngs, options);
    layer.addLayer(drawing.preview);
    var fewest = drawing.shape === "area" ? 3 : 2;
    if (finishButton) finishButton.disabled = drawing.points.length < fewest;
  }

  function cancelDrawing() {
    if (drawing && drawing.preview) layer.removeLayer(drawing.preview);
    drawing = null;
    if (finishButton) finishButton.hidden = true;
    if (cancelButton) cancelButton.hidden = true;
  }

  function finishDrawing() {
    if (!drawing) return;
    var points = [];
    drawing.points.forEach(function (p) {
      var last = points[points.length - 1];
      // The two clicks of a double-click land on the same spot: one point.
      if (!last || Math.abs(last[0] - p[0]) > 1e-4 || Math.abs(last[1] - p[1]) > 1e-4) points.push(p);
    });
    var shape = drawing.shape;
    var fewest = shape === "area" ? 3 : 2;
    if (points.length < fewest) {
      say((shape === "area" ? "An area needs at least 3 corners" : "A line needs at least 2 points") + ": keep clicking.", true);
      return;
    }
    cancelDrawing();
    save({ shape: shape, points: points, label: labelInput ? labelInput.value : "" });
  }

  map.on("click", function (event) {
    if (readonly || !page()) return;
    var point = toPoint(event.latlng);
    if (tool === "select" && selected !== null) { select(null); return; }
    if (["marker", "line", "area", "note"].indexOf(tool) < 0) return;
    if (!onPage(point)) { say("Click on the plan itself.", true); return; }
    if (tool === "marker") {
      save({ shape: "marker", kind: kindSelect.value, points: [point], label: labelInput.value });
    } else if (tool === "note") {
      var text = labelInput.value.trim() || (window.prompt("The note's text:") || "").trim();
      if (!text) { say("A note needs its text: type it in Label first.", true); return; }
      save({ shape: "note", points: [point], label: text });
    } else {
      if (!drawing) {
        drawing = { shape: tool, points: [], preview: null };
        finishButton.hidden = false;
        cancelButton.hidden = false;
      }
      drawing.points.push(point);
      drawPreview();
      say((tool === "area" ? "Corner " : "Point ") + drawing.points.length + ". Double-click or Finish to end, Escape to cancel.");
    }
  });
  map.on("dblclick", function () { if (drawing) finishDrawing(); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && drawing) { cancelDrawing(); say("Cancelled."); return; }
    if (event.key === "Escape" && selected !== null) { select(null); say(""); return; }
    var typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement && document.activeElement.tagName);
    if (event.key === "Delete" && selected !== null && !typing && !readonly) {
      var item = byId(selected);
      if (item) remove(item);
    }
  });

  toolButtons.forEach(function (b) { b.addEventListener("click", function () { setTool(b.dataset.tool); }); });
  swatches.forEach(function (s) { s.addEventListener("click", function () { setColour(s.dataset.colour); }); });
  if (finishButton) finishButton.addEventListener("click", finishDrawing);
  if (cancelButton) cancelButton.addEventListener("click", function () { cancelDrawing(); say("Cancelled."); });
  if (applyButton) applyButton.addEventListener("click", function () {
    var item = selected === null ? null : byId(selected);
    if (!item) return;
    var body = { label: labelInput.value, colour: colour };
    if (item.shape === "marker") body.kind = kindSelect.value;
    change(item, body);
  });

  el.addEventListener("plan:floor", function () { cancelDrawing(); select(null); refresh(); });
  render();
})();
