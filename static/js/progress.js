// Follows a plan's rendering on the partner's version page: polls the progress JSON, shows
// each page's preview once it is stored, and reloads the page when the plan is ready or
// failed.  No inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("[data-progress-bar]");
  var text = box.querySelector("[data-progress-text]");

  // A page's preview as soon as the page is stored, while the others are still prepared.
  function previews(numbers) {
    (numbers || []).forEach(function (number) {
      var cell = document.querySelector('[data-preview-page="' + number + '"]');
      if (!cell || cell.querySelector("img")) { return; }
      var img = document.createElement("img");
      img.src = cell.getAttribute("data-preview-src");
      img.alt = "Preview of page " + number;
      img.className = "preview";
      cell.replaceChildren(img);
    });
  }

  // Counts only grow while a job runs (the server's percent too); a bar that moved back
  // would say the work was undone, so the highest value seen stays.
  var highest = 0;
  function show(version) {
    var p = version.progress;
    previews(version.stored_pages);
    highest = Math.max(highest, p.percent);
    bar.value = highest;
    if (version.state === "queued") {
      text.textContent = "Waiting to start…";
    } else if (p.pages_done < p.pages_total || !p.tiles_total) {
      text.textContent = "Prepared " + p.pages_done + " of " + p.pages_total + " sheets, " + p.pages_stored +
        " saved (" + highest + "%)…";
    } else {
      text.textContent = "All " + p.pages_total + " sheets prepared; saving images: " + p.tiles_stored + " of " +
        p.tiles_total + " (" + highest + "%)…";
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (version) {
        if (!version) { return setTimeout(poll, 5000); }
        if (version.state === "ready" || version.state === "failed") { return window.location.reload(); }
        show(version);
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
}());
