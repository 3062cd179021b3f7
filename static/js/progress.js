// Follows work that runs as a job, on the page that waits for it: a plan's rendering on the
// partner's version page (templates/partners/plan_version.html: each page's preview appears
// once it is stored) and an admin's CSV preview or import (templates/admin/import_report.html).
// Polls the progress JSON at data-progress-url, moves the bar, and reloads the page when the
// work is over (the page then shows the plan, the report or the failure).  No inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("[data-progress-bar]");
  var text = box.querySelector("[data-progress-text]");
  // Over: a plan version "ready" or "failed", an import job "done" or "failed".
  var OVER = ["ready", "done", "failed"];

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
  function move(percent, line) {
    highest = Math.max(highest, percent);
    bar.value = highest;
    text.textContent = line(highest);
  }

  function showPlan(version) {
    var p = version.progress;
    previews(version.stored_pages);
    if (version.state === "queued") {
      move(p.percent, function () { return "Waiting to start…"; });
    } else if (p.pages_done < p.pages_total || !p.tiles_total) {
      move(p.percent, function (percent) {
        return "Prepared " + p.pages_done + " of " + p.pages_total + " sheets, " + p.pages_stored +
          " saved (" + percent + "%)…";
      });
    } else {
      move(p.percent, function (percent) {
        return "All " + p.pages_total + " sheets prepared; saving images: " + p.tiles_stored + " of " +
          p.tiles_total + " (" + percent + "%)…";
      });
    }
  }

  function showImport(job) {
    if (job.state !== "running" || !job.total) { return; }
    move(Math.floor(100 * job.done / job.total), function (percent) {
      return job.done + " of " + job.total + " lines (" + percent + "%)…";
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer) { return setTimeout(poll, 5000); }
        if (OVER.indexOf(answer.state) >= 0) { return window.location.reload(); }
        if (answer.progress) { showPlan(answer); } else { showImport(answer); }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
}());
