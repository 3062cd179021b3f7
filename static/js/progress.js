// Follows a plan's rendering on the partner's version page: polls the progress JSON and
// reloads the page when the plan is ready or failed.  No inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("[data-progress-bar]");
  var text = box.querySelector("[data-progress-text]");

  function show(version) {
    var p = version.progress;
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
