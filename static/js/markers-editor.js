/* The partner's marker editor (templates/partners/plan_markers.html, and only there): the
   palette, a click on the plan to place a marker, a drag to move one, the form to edit,
   confirm or remove it, and the list of the floor's markers.  Each change is saved at once
   through the JSON endpoints of blueprints/partners/markers.py (save.js: CSRF token in a
   header) and the server's copy of the marker replaces ours.

   Load it after plan.js, markers.js and save.js (all deferred, in that order).  It works on
   the [data-plan] element that has data-markers-editable="true", data-markers-url and
   data-csrf-token, through markers.js's el.planMarkers: markers.edit({wire, floorChanged})
   hands markers.js the two hooks it calls on each redraw.  A carried-over marker
   (needs_confirmation) is checked one by one, on the plan: there is no "confirm all". */
(function () {
  "use strict";
  var el = document.querySelector("[data-plan][data-markers-editable='true']");
  if (!el) return;

  function start() {
    var markers = el.planMarkers;
    if (!markers || markers.editing) return;
    edit(markers, el.planViewer);
  }

  function edit(markers, viewer) {
    var sprite = el.dataset.markerSprite || "";
    var markersOf = markers.markersOf, doorText = markers.doorText, fullText = markers.fullText;
    function redraw() { markers.redraw(); }

    var url = el.dataset.markersUrl;
    var csrf = el.dataset.csrfToken || "";
    var palette = Array.prototype.slice.call(document.querySelectorAll("[data-marker-kind]"));
    var form = document.querySelector("[data-marker-form]");
    var message = document.querySelector("[data-marker-message]");
    var list = document.querySelector("[data-marker-list]");
    var listEmpty = document.querySelector("[data-marker-list-empty]");
    var flaggedBox = document.querySelector("[data-flagged]");
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

    /* Saves through save.js; a save at a time: a click on the plan waits for it. */
    function send(path, body) {
      busy = true;
      return window.floorplans.saveJSON(path, body, csrf).then(
        function (data) { busy = false; return data; },
        function (error) { busy = false; throw error; });
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
        say(kindLabels[kind] + " added" + (created.number ? ": " + doorText(created) : "") + ".");
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
      var page = viewer.page();
      markersOf(page || {}).forEach(function (m) {
        var marker = markers.drawn(m.id), node = marker && marker.getElement();
        if (node) node.classList.toggle("selected", m.id === selected);
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
      // Its photo, added and replaced on the building's Photos page (a file upload, not JSON).
      var photoBox = form.querySelector("[data-marker-photo]");
      if (photoBox) {
        var link = photoBox.querySelector("[data-marker-photo-link]");
        var image = photoBox.querySelector("[data-marker-photo-image]");
        link.href = photoBox.dataset.photosUrl + "#marker-" + id;
        link.textContent = m.photo ? "Change or remove its photo" : "Add a photo of it";
        image.hidden = !m.photo;
        if (m.photo) {
          image.src = m.photo.small;
          image.alt = "Photo of " + (m.label || m.kind_label || m.kind);
        } else {
          image.removeAttribute("src");
        }
      }
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
        button.appendChild(markers.kindIcon(m.kind));
        button.appendChild(document.createTextNode(fullText(m) || m.kind_label || m.kind));
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

    markers.edit({
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
    });
  }

  // markers.js normally ran first; if not, it starts on the first floor event, before us.
  if (el.planMarkers) start();
  else el.addEventListener("plan:floor", start);
})();
