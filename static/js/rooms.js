/* The in-car plan's Find box: type "kitchen", "204", "stairs" and see the rooms the plan
   names, as a list (label, floor, grid cell); choosing one shows its floor, flies to it and
   outlines it.  Works offline: the labels come with the plan page itself (each page of
   data-pages has "labels": [[text, x0, y0, x1, y1, repeated], ...], page-relative, from the
   version's labels JSON; blueprints/response/building.py), which the service worker and
   "keep offline" already keep.

   The match is the server's (floorplans/services/rooms.py, the API's /rooms): case and
   accents ignored, one typo forgiven in a word of 4+ letters and two in one of 8+, plurals
   and a word's beginning found, numbers exact or as a prefix ("204" finds 204A, never 1204).

   Markup (templates/_plan_viewer.html, find=True): [data-find] holding an <input
   data-find-input> and a <ul data-find-results>; the results are in the controls' column
   (above the plan on a phone), so they never cover the plan, its grid or its markers. */
(function () {
  "use strict";
  var el = document.querySelector("[data-plan]");
  var box = document.querySelector("[data-find]");
  if (!el || !box || !el.planViewer) return;
  var viewer = el.planViewer;
  var input = box.querySelector("[data-find-input]");
  var list = box.querySelector("[data-find-results]");
  var MAX_SHOWN = 12;
  var highlight = null;
  var highlighted = null; // {index, label}: drawn again when its floor is shown

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function words(text) { return fold(text).match(/[a-z0-9]+/g) || []; }
  function hasDigit(word) { return /[0-9]/.test(word); }
  function allowedEdits(word) { return word.length >= 8 ? 2 : word.length >= 4 ? 1 : 0; }

  /* Damerau-Levenshtein, or limit + 1 once certainly over it (as rooms.edit_distance). */
  function editDistance(a, b, limit) {
    if (Math.abs(a.length - b.length) > limit) return limit + 1;
    var before = [], previous = [], current, i, j, cost;
    for (j = 0; j <= b.length; j++) previous.push(j);
    for (i = 1; i <= a.length; i++) {
      current = [i];
      for (j = 1; j <= b.length; j++) {
        cost = a[i - 1] === b[j - 1] ? 0 : 1;
        current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          current[j] = Math.min(current[j], before[j - 2] + 1);
        }
      }
      if (Math.min.apply(null, current) > limit) return limit + 1;
      before = previous;
      previous = current;
    }
    return previous[b.length];
  }

  function wordScore(query, word) {
    if (query === word) return 1;
    if (hasDigit(query)) return word.indexOf(query) === 0 ? 0.8 : 0;
    if (query.length >= 3 && word.indexOf(query) === 0) return 0.85;
    if (query.length >= 4 && query.charAt(query.length - 1) === "s" && word.indexOf(query.slice(0, -1)) === 0) return 0.8;
    var limit = allowedEdits(query);
    if (limit && !hasDigit(word)) {
      var distance = editDistance(query, word, limit);
      if (distance <= limit) return 0.75 - 0.1 * (distance - 1);
      if (word.length > query.length && editDistance(query, word.slice(0, query.length), limit) <= limit) return 0.6;
    }
    return 0;
  }

  function labelScore(query, text) {
    var label = words(text), total = 0, i, j, best;
    if (!label.length || !query.length) return 0;
    for (i = 0; i < query.length; i++) {
      best = 0;
      for (j = 0; j < label.length; j++) best = Math.max(best, wordScore(query[i], label[j]));
      if (!best) return 0;
      total += best;
    }
    return total / query.length + 0.1 * query.length / label.length;
  }

  function cellOf(page, x, y) {
    var g = page.grid;
    var column = Math.min(g.columns - 1, Math.max(0, Math.floor(x * page.width / g.cell)));
    var row = Math.min(g.rows - 1, Math.max(0, Math.floor(y * page.height / g.cell)));
    return g.column_labels[column] + String(row + 1);
  }

  function search(text) {
    var query = words(text.slice(0, 80)), found = [];
    if (!query.length) return found;
    viewer.pages.forEach(function (page, index) {
      (page.labels || []).forEach(function (label) {
        var score = labelScore(query, label[0]);
        if (!score) return;
        if (label[5]) score *= 0.5; // title-block boilerplate printed on every sheet
        var x = (label[1] + label[3]) / 2, y = (label[2] + label[4]) / 2;
        found.push({ score: score, index: index, page: page, label: label, x: x, y: y, cell: cellOf(page, x, y) });
      });
    });
    found.sort(function (a, b) { return b.score - a.score || a.index - b.index || a.y - b.y || a.x - b.x; });
    return found;
  }

  function clearHighlight() {
    if (highlight) { viewer.map.removeLayer(highlight); highlight = null; }
  }

  function drawHighlight() {
    clearHighlight();
    if (!highlighted || highlighted.index !== viewer.index()) return;
    var page = viewer.page(), label = highlighted.label;
    var pad = 0.004;
    var bounds = L.latLngBounds(viewer.toLatLng(page, label[1] - pad, label[4] + pad),
      viewer.toLatLng(page, label[3] + pad, label[2] - pad));
    // An outline only, in the overlay pane: the markers (in their own pane, above) stay visible.
    highlight = L.rectangle(bounds, { className: "find-highlight", weight: 4, fill: false, interactive: false })
      .addTo(viewer.map);
    return bounds;
  }

  function choose(match) {
    highlighted = { index: match.index, label: match.label };
    viewer.showFloor(match.index);
    var bounds = drawHighlight();
    var page = viewer.page();
    // Close enough to read the room's walls around it (a padded box), and at least one step
    // in from the whole floor; never past full zoom.
    var zoom = Math.min(page.max_zoom, Math.max(viewer.map.getZoom() + 1, viewer.map.getBoundsZoom(bounds.pad(3))));
    viewer.map.flyTo(bounds.getCenter(), zoom, { duration: 0.6 });
    el.dataset.found = match.label[0] + "|" + match.index;
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function show() {
    var text = input.value.trim();
    list.textContent = "";
    if (!text) {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      return;
    }
    var found = search(text);
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "find-none";
      none.textContent = "Not named on this plan";
      list.appendChild(none);
    }
    found.slice(0, MAX_SHOWN).forEach(function (match) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "find-result";
      var name = document.createElement("span");
      name.className = "find-label";
      name.textContent = match.label[0];
      var where = document.createElement("span");
      where.className = "find-where";
      where.textContent = match.page.label + " · " + match.cell;
      button.appendChild(name);
      button.appendChild(where);
      button.addEventListener("click", function () { choose(match); });
      item.appendChild(button);
      list.appendChild(item);
    });
    if (found.length > MAX_SHOWN) {
      var more = document.createElement("li");
      more.className = "find-none";
      more.textContent = (found.length - MAX_SHOWN) + " more: type more of the name";
      list.appendChild(more);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  input.addEventListener("input", show);
  input.addEventListener("focus", function () { if (input.value.trim()) show(); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var first = list.querySelector(".find-result");
      if (first) first.click();
    } else if (event.key === "Escape") {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }
  });
  el.addEventListener("plan:floor", drawHighlight);
  // Shown when the plan names something (a plan rendered before labels were read names nothing).
  box.hidden = !viewer.pages.some(function (page) { return page.labels && page.labels.length; });
})();
