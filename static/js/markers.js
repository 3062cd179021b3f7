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
    placeLabels();
    el.dataset.markersShown = String(visible ? markersOf(page || {}).length : 0);
    if (editor) editor.floorChanged(page);
    api.layer = group;
  }

  /* A label that would run off the right edge of the map goes on the icon's left, so
     "B2 Ramp door" by the east wall is read whole, not cut to "B2 Ramp d". */
  function placeLabels() {
    if (!viewer || !visible) return;
    var width = viewer.map.getSize().x;
    // Measure every label first, then move them: one layout, not one per marker.
    var sides = Object.keys(drawn).map(function (id) {
      var marker = drawn[id];
      var node = marker.getElement();
      var text = node && node.querySelector(".marker-text");
      if (!text) return null;
      var x = viewer.map.latLngToContainerPoint(marker.getLatLng()).x;
      var needed = 14 + 3 + text.offsetWidth + 6; // half the icon, the gap, the label, a margin
      return [node, x + needed > width && x - needed >= 0];
    });
    sides.forEach(function (side) { if (side) side[0].classList.toggle("text-left", side[1]); });
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
    viewer.map.on("zoomend moveend resize", placeLabels);
    if (editable) editor = makeEditor();
    redraw();
  }

  /* --- the partner's editor (data-markers-editable="true") ----------------------------- */

  function makeEditor() {
    var url = el.dataset.markersUrl;
    var csrf = el.dataset.csrfToken || "";
    var palette = Array.prototype.slice.call(document.querySelectorAll("[data-marker-kind]"));
    var form = document.querySelector("[data-marker-form]");
    var message = document.querySelector("[data-marker-message]");
    var list = document.querySelector("[data-marker-list]");
    var listEmpty = document.querySelector("[data-marker-list-empty]");
    var flaggedBox = document.querySelector("[data-flagged]");
    var confirmAll = document.querySelector("[data-markers-confirm-all]");
    var numbered = {}, kindLabels = {};
    var armed = null; // the kind waiting for a click on the plan
    var selected = null; // the id of the marker in the form
    var busy = false;

    palette.forEach(function (button) {
      numbered[button.dataset.markerKind] = button.dataset.numbered === "true";
      kindLabels[button.dataset.markerKind] = button.dataset.kindLabel || button.textContent.trim();
      button.addEventListener("click", function () { arm(armed === button.dataset.markerKind ? null : button.dataset.markerKind); });
    });

    function say(text, isError) {
      if (!message) return;
      message.textContent = text || "";
      message.classList.toggle("error", !!isError);
    }

    function fieldErrors(fields) {
      if (!form) return;
      Array.prototype.forEach.call(form.querySelectorAll("[data-field-error]"), function (node) {
        node.textContent = (fields && fields[node.dataset.fieldError]) || "";
      });
    }

    function failed(error) {
      say(error.message || "The change was not saved.", true);
      fieldErrors(error.fields || {});
    }

    /* POST JSON with the page's CSRF token; resolves with the answer's JSON, rejects with an
       Error carrying the server's message and its per-field problems. */
    function send(path, body) {
      busy = true;
      return fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body || {})
      }).catch(function () {
        throw new Error("No connection: the change was not saved. Try again when the network is back.");
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            var error = new Error(data.error || "The change was not saved (the server answered " + response.status + ").");
            error.fields = data.fields || {};
            throw error;
          }
          return data;
        });
      }).then(function (data) { busy = false; return data; }, function (error) { busy = false; throw error; });
    }

    function find(id) {
      for (var i = 0; i < viewer.pages.length; i++) {
        var found = markersOf(viewer.pages[i]);
        for (var j = 0; j < found.length; j++) if (found[j].id === id) return { page: viewer.pages[i], marker: found[j], index: j };
      }
      return null;
    }

    /* Put the server's copy of a marker in place of ours (it may have changed page). */
    function keep(updated) {
      var old = find(updated.id);
      if (old) markersOf(old.page).splice(old.index, 1);
      for (var i = 0; i < viewer.pages.length; i++) {
        if (viewer.pages[i].id === updated.page_id) {
          if (old && old.page === viewer.pages[i]) markersOf(viewer.pages[i]).splice(old.index, 0, updated);
          else markersOf(viewer.pages[i]).push(updated);
        }
      }
      return updated;
    }

    function nextDoorNumber() {
      var highest = 0;
      viewer.pages.forEach(function (page) {
        markersOf(page).forEach(function (m) { if (m.number && m.number > highest) highest = m.number; });
      });
      return highest < 99 ? highest + 1 : undefined;
    }

    function arm(kind) {
      armed = kind;
      palette.forEach(function (button) { button.setAttribute("aria-pressed", String(button.dataset.markerKind === kind)); });
      el.classList.toggle("placing", !!kind);
      if (kind) say("Click the plan where the " + kindLabels[kind].toLowerCase() + " is. (Esc: cancel)");
      else say("");
    }

    function clampUnit(value) { return Math.max(0, Math.min(1, value)); }

    viewer.map.on("click", function (event) {
      if (!armed || busy) return;
      var page = viewer.page();
      var at = viewer.toPage(page, event.latlng);
      if (at[0] < 0 || at[0] > 1 || at[1] < 0 || at[1] > 1) {
        say("Click inside the page of the plan.", true);
        return;
      }
      var kind = armed;
      var body = { page: page.number, kind: kind, x: at[0], y: at[1] };
      if (numbered[kind]) body.number = nextDoorNumber();
      send(url, body).then(function (created) {
        keep(created);
        arm(null);
        selected = created.id;
        redraw();
        select(created.id);
        say(kindLabels[kind] + " added" + (created.number ? " as door " + created.door : "") + ".");
      }, failed);
    });

    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && armed) arm(null);
    });

    function closeForm() {
      selected = null;
      if (form) form.hidden = true;
      highlight();
    }

    function highlight() {
      Object.keys(drawn).forEach(function (id) {
        var node = drawn[id].getElement();
        if (node) node.classList.toggle("selected", Number(id) === selected);
      });
      if (list) {
        Array.prototype.forEach.call(list.querySelectorAll("[data-list-marker]"), function (button) {
          button.setAttribute("aria-current", String(Number(button.dataset.listMarker) === selected));
        });
      }
    }

    function select(id) {
      var found = find(id);
      if (!found || !form) { closeForm(); return; }
      var m = found.marker;
      selected = id;
      form.dataset.markerId = String(id);
      form.querySelector("[data-marker-form-kind]").textContent = m.kind_label || kindLabels[m.kind] || m.kind;
      form.querySelector("[data-marker-form-icon]").setAttribute("href", sprite + "#marker-" + m.kind);
      Array.prototype.forEach.call(form.querySelectorAll("[data-door-fields]"), function (node) {
        node.hidden = !numbered[m.kind];
      });
      form.elements.number.value = m.number || "";
      form.elements.side.value = m.side || "";
      form.elements.label.value = m.label || "";
      form.elements.note.value = m.note || "";
      form.querySelector("[data-marker-form-flag]").hidden = !m.needs_confirmation;
      form.querySelector("[data-marker-confirm]").hidden = !m.needs_confirmation;
      fieldErrors({});
      form.hidden = false;
      highlight();
    }

    function refreshList(page) {
      if (!list) return;
      list.textContent = "";
      var shown = page ? markersOf(page) : [];
      shown.forEach(function (m) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.dataset.listMarker = String(m.id);
        var svg = document.createElementNS(SVG, "svg");
        svg.setAttribute("viewBox", "0 0 24 24");
        svg.setAttribute("aria-hidden", "true");
        var use = document.createElementNS(SVG, "use");
        use.setAttribute("href", sprite + "#marker-" + m.kind);
        svg.appendChild(use);
        button.appendChild(svg);
        button.appendChild(document.createTextNode(shortText(m) || m.kind_label || m.kind));
        if (m.needs_confirmation) {
          var flag = document.createElement("span");
          flag.className = "flag";
          flag.textContent = "check";
          button.appendChild(flag);
        }
        button.addEventListener("click", function () {
          select(m.id);
          viewer.map.panTo(viewer.toLatLng(page, m.x, m.y));
        });
        item.appendChild(button);
        list.appendChild(item);
      });
      if (listEmpty) listEmpty.hidden = shown.length > 0;
    }

    function refreshFlagged() {
      var count = 0;
      viewer.pages.forEach(function (page) {
        markersOf(page).forEach(function (m) { if (m.needs_confirmation) count += 1; });
      });
      el.dataset.markersFlagged = String(count);
      if (!flaggedBox) return;
      flaggedBox.hidden = count === 0;
      var text = flaggedBox.querySelector("[data-flagged-text]");
      if (text) {
        text.textContent = count + (count === 1 ? " marker" : " markers") + " carried over from " +
          (flaggedBox.dataset.flaggedFrom || "the previous version") + (count === 1 ? " needs" : " need") + " checking.";
      }
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var found = find(selected);
        if (!found) return;
        var body = { label: form.elements.label.value, note: form.elements.note.value };
        if (numbered[found.marker.kind]) {
          body.number = form.elements.number.value === "" ? null : form.elements.number.value;
          body.side = form.elements.side.value;
        }
        send(url + "/" + found.marker.id, body).then(function (updated) {
          keep(updated);
          redraw();
          select(updated.id);
          say("Saved.");
        }, failed);
      });
      form.querySelector("[data-marker-delete]").addEventListener("click", function () {
        var found = find(selected);
        if (!found) return;
        send(url + "/" + found.marker.id + "/delete").then(function () {
          var again = find(found.marker.id);
          if (again) markersOf(again.page).splice(again.index, 1);
          closeForm();
          redraw();
          say((found.marker.kind_label || "Marker") + " removed.");
        }, failed);
      });
      form.querySelector("[data-marker-confirm]").addEventListener("click", function () {
        var found = find(selected);
        if (!found) return;
        send(url + "/" + found.marker.id + "/confirm").then(function (updated) {
          keep(updated);
          redraw();
          select(updated.id);
          say("Confirmed: it is in the right place.");
        }, failed);
      });
      form.querySelector("[data-marker-close]").addEventListener("click", closeForm);
    }
    if (confirmAll) {
      confirmAll.addEventListener("click", function () {
        send(url + "/confirm").then(function (answer) {
          viewer.pages.forEach(function (page) {
            markersOf(page).forEach(function (m) { m.needs_confirmation = false; });
          });
          redraw();
          if (selected !== null) select(selected);
          say(answer.confirmed + (answer.confirmed === 1 ? " marker" : " markers") + " confirmed.");
        }, failed);
      });
    }

    return {
      /* Called for each marker drawn on the floor on screen. */
      wire: function (page, m, marker) {
        marker.on("click", function () { select(m.id); });
        marker.on("dragstart", function () { select(m.id); });
        marker.on("dragend", function () {
          var at = viewer.toPage(page, marker.getLatLng());
          send(url + "/" + m.id, { x: clampUnit(at[0]), y: clampUnit(at[1]) }).then(function (updated) {
            keep(updated);
            redraw();
            select(updated.id);
            say("Moved.");
          }, function (error) {
            marker.setLatLng(viewer.toLatLng(page, m.x, m.y));
            failed(error);
          });
        });
      },
      floorChanged: function (page) {
        refreshList(page);
        refreshFlagged();
        if (selected !== null) {
          var found = find(selected);
          if (!found || found.page !== page) closeForm();
        }
        highlight();
      }
    };
  }

  // plan.js normally ran first and already showed a floor; if not, the first floor event starts us.
  if (el.planViewer) start();
  else el.addEventListener("plan:floor", start);
})();
