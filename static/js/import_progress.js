// Follows an admin's CSV preview or import (templates/admin/import_report.html): polls the
// job's progress JSON, moves the bar, and reloads the page when the job is done or failed,
// which then shows its report.  No inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("[data-progress-bar]");
  var text = box.querySelector("[data-progress-text]");
  var highest = 0;  // a bar that moved back would say lines were unread

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return setTimeout(poll, 5000); }
        if (job.state === "done" || job.state === "failed") { return window.location.reload(); }
        if (job.state === "running" && job.total) {
          highest = Math.max(highest, Math.floor(100 * job.done / job.total));
          bar.value = highest;
          text.textContent = job.done + " of " + job.total + " lines (" + highest + "%)…";
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
}());
