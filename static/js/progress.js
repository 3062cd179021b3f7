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

  function show(version) {
    var p = version.progress;
    previews(version.stored_pages);
    bar.value = p.percent;
    if (version.state === "queued") {
      text.textContent = "Waiting to start…";
    } else {
      text.textContent = "Preparing page " + Math.min(p.pages_done + 1, p.pages_total) + " of " + p.pages_total +
        " (" + p.percent + "%)";
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
