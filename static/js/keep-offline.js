/* "Keep offline" on the Find page: the cards, plan pages, tiles and photos of chosen buildings
   (the search's results, or "my area": those within a distance of the car or of a building
   found) fetched into the caches the service worker reads, with a progress bar.

   - Before anything is fetched the officer sees how many buildings and about how big
     (the pack: GET /r/offline/pack), and the laptop's free room is checked
     (navigator.storage.estimate()): when it is short the page says so and offers to keep
     only the first (nearest) buildings that fit.
   - The run survives a reload: its pack and how far it got are kept (see KEEPING below) and
     a Find page opened again shows the bar where it was and carries on; files already kept
     are matched in the cache and not fetched again.  A lost connection pauses the run, which
     continues when the connection is back (or on "Continue keeping offline").
   - A building's plan page is stored only after every tile of its version is kept, so a
     newer version replaces the kept one (and its tiles go: static/js/kept.js) only once it
     is whole.
   Loaded after kept.js and incar.js (window.floorplansKept, window.floorplansSession). */
(function () {
  "use strict";
  var kept = window.floorplansKept;
  var session = window.floorplansSession;
  var body = document.body;
  var area = document.querySelector("[data-keep-offline]");
  if (!area || !kept || !session) return;
  var bar = area.querySelector("progress");
  var status = area.querySelector(".keep-offline-status");
  var fitButton = area.querySelector("[data-keep-offline-fit]");
  var continueButton = area.querySelector("[data-keep-offline-continue]");
  var grammar = JSON.parse(body.dataset.tileGrammar);
  // The server logs the pages fetched with it as keep_offline; the service worker lets them by.
  var OFFLINE_HEADER = "X-Offline-Copy";
  // Tiles are estimated at an average size (floorplans/services/offline.py): ask for a fifth more.
  var MARGIN = 1.2;
  // The run under way lives in Cache Storage, beside the copies it makes, rather than in
  // localStorage or IndexedDB: it goes with them whenever they go (sign-out clears the
  // floorplans-* caches, the worker's wipe when the session ends, another account on the
  // laptop), and a pack of 300 buildings (about half a megabyte) is no load for it, where
  // localStorage is synchronous and small.  The pack is written once; the progress, a few
  // numbers, at most once a second.  These URLs are only keys: nothing ever fetches them.
  var PACK_KEY = new URL(body.dataset.swScope + "offline/keeping/pack", location.href).href;
  var PROGRESS_KEY = new URL(body.dataset.swScope + "offline/keeping/progress", location.href).href;

  function megabytes(bytes) {
    var mb = bytes / 1e6;
    return (mb < 100 ? mb.toFixed(1) : Math.round(mb).toLocaleString()) + " MB";
  }
  function buildingsText(count) { return count.toLocaleString() + (count === 1 ? " building" : " buildings"); }
  function filesOf(b) {
    return b.pages.length + b.photos.length + b.plan_pages.reduce(function (sum, p) { return sum + p.tiles; }, 0);
  }
  /* The first n buildings of a pack (a zone's are nearest first), with their files and bytes. */
  function firstOf(pack, n) {
    var buildings = pack.buildings.slice(0, n);
    return {
      buildings: buildings, more: false,
      files: buildings.reduce(function (sum, b) { return sum + filesOf(b); }, 0),
      bytes: buildings.reduce(function (sum, b) { return sum + b.bytes; }, 0),
    };
  }
  function json(value) { return new Response(JSON.stringify(value), { headers: { "Content-Type": "application/json" } }); }

  function tileUrls(page) {
    var urls = [];
    page.levels.forEach(function (level) {
      for (var x = 0; x < level.columns; x++) {
        for (var y = 0; y < level.rows; y++) {
          urls.push(page.tile_url.replace("{z}", level.zoom).replace("{x}", x).replace("{y}", y));
        }
      }
    });
    return urls;
  }
  /* A signed tile URL of the tile front (<front>/<expires>/<signature>/<version>/<page>/<z>/<x>/<y>.webp)
     is kept under the app's own tile URL, as sw.js keeps it, so a newer signature finds it.  The
     grammar is the page's (data-tile-grammar, from floorplans/tile_urls.py), never spelt here. */
  function tileKey(url) {
    var signed = new RegExp(grammar.signedTail).exec(new URL(url, location.href).pathname);
    return signed ? new URL(body.dataset.swScope + grammar.folder + signed[1], location.href).href : url;
  }
  /* Every file of a pack, in the order fetched: each building's card, its tiles and photos, then
     its plan page, which waits for the tiles.  The same pack always gives the same list, so a
     run continued after a reload needs only how far it got. */
  function jobsOf(pack) {
    var jobs = [];
    pack.buildings.forEach(function (b, index) {
      jobs.push({ url: b.pages[0], kind: "page", b: index });
      b.plan_pages.forEach(function (p) {
        tileUrls(p).forEach(function (url) { jobs.push({ url: url, key: tileKey(url), kind: "tile", b: index }); });
      });
      // Photos (the front, the markers'): immutable URLs, kept beside the tiles (sw.js serves both).
      b.photos.forEach(function (url) { jobs.push({ url: url, key: new URL(url, location.href).href, kind: "photo", b: index }); });
      b.pages.slice(1).forEach(function (url) { jobs.push({ url: url, kind: "plan", b: index }); });
    });
    return jobs;
  }

  function say(text, state) {
    status.textContent = text;
    if (state) area.dataset.state = state;
    else delete area.dataset.state;
  }

  /* Whether this laptop has room for bytes more: null when it has (or cannot tell), else
     what it has and what is needed. */
  function shortOfRoom(bytes) {
    if (!navigator.storage || !navigator.storage.estimate) return Promise.resolve(null);
    return navigator.storage.estimate().then(function (estimate) {
      if (typeof estimate.quota !== "number") return null;
      var free = Math.max(0, estimate.quota - (estimate.usage || 0));
      var need = bytes * MARGIN;
      return free < need ? { free: free, need: need } : null;
    }, function () { return null; });
  }
  function tellShort(pack, room, which) {
    say("This computer has about " + megabytes(room.free) + " free for offline plans; these need about " +
        megabytes(room.need) + ". Keep fewer buildings or free space.", "short");
    var fit = 0, used = 0;
    while (fit < pack.buildings.length && (used + pack.buildings[fit].bytes) * MARGIN <= room.free) {
      used += pack.buildings[fit].bytes;
      fit += 1;
    }
    if (fit > 0) {
      fitButton.textContent = fit === 1 ? "Keep only the " + which + " building (it fits)"
        : "Keep the " + which + " " + fit.toLocaleString() + " buildings (they fit)";
      fitButton.onclick = function () { start(firstOf(pack, fit), which); };
      fitButton.hidden = false;
    }
  }

  var running = false;
  var paused = null;  // { pack, progress } of a run stopped by a lost connection

  /* Fetch what remains of a pack; progress is { low, failed, bad } (low: every file before it
     is done; bad: buildings a tile of which could not be fetched, whose plan page is not replaced). */
  function run(pack, progress) {
    running = true;
    paused = null;
    fitButton.hidden = continueButton.hidden = true;
    var jobs = jobsOf(pack);
    var total = jobs.length;
    var low = progress.low, failed = progress.failed, done = progress.low;
    var bad = {};
    progress.bad.forEach(function (b) { bad[b] = true; });
    var finished = {};
    var next = low;
    var lost = false;  // the network failed: stop, keep the list, continue later
    var tilesLeft = {}, tilesKept = {};
    jobs.slice(low).forEach(function (job) { if (job.kind !== "plan") tilesLeft[job.b] = (tilesLeft[job.b] || 0) + 1; });
    var label = "Keeping " + buildingsText(pack.buildings.length) + " offline (about " + megabytes(pack.bytes) + ")";
    var savedAt = 0;
    function save(now) {
      if (!now && Date.now() - savedAt < 1000) return Promise.resolve();
      savedAt = Date.now();
      var record = { low: low, failed: failed, bad: Object.keys(bad).map(Number) };
      return caches.open(kept.KEEPING).then(function (c) { return c.put(PROGRESS_KEY, json(record)); }).catch(function () {});
    }
    function show() {
      bar.max = Math.max(1, total);
      bar.value = done;
      bar.hidden = false;
      say(label + ": " + done.toLocaleString() + " of " + total.toLocaleString() + " files");
    }
    function tilesOf(b) {
      if (!tilesLeft[b]) return Promise.resolve();
      return new Promise(function (resolve) { tilesKept[b] = resolve; });
    }
    function release() { Object.keys(tilesKept).forEach(function (b) { tilesKept[b](); }); }
    function settle(index, ok) {
      var job = jobs[index];
      finished[index] = true;
      done += 1;
      if (!ok) {
        failed += 1;
        if (job.kind === "tile") bad[job.b] = true;
      }
      while (finished[low]) low += 1;
      if (job.kind !== "plan") {
        tilesLeft[job.b] -= 1;
        if (!tilesLeft[job.b] && tilesKept[job.b]) tilesKept[job.b]();
      }
      show();
      save(false);
    }
    /* One file: true kept, false could not be (an error from the server), null the network failed. */
    function one(job, tiles) {
      var ready = job.kind === "plan" ? tilesOf(job.b) : Promise.resolve();
      return ready.then(function () {
        if (lost) return null;
        // A plan page is the switch to its version: never to one whose tiles are not all kept.
        if (job.kind === "plan" && bad[job.b]) return false;
        var inCache = job.key ? tiles.match(job.key) : Promise.resolve(undefined);
        return inCache.then(function (hit) {
          if (hit) return true;
          // Straight to the network, past the service worker: offline it would answer a tile
          // with one drawn from a lower zoom, not to be kept as the real one.
          var headers = {};
          if (new URL(job.url, location.href).origin === location.origin) headers[OFFLINE_HEADER] = "1";
          return fetch(job.url, { headers: headers, credentials: "same-origin" }).then(function (r) {
            if (!r.ok || r.redirected) {
              if (r.status === 401 || r.redirected) session.check();  // signed out meanwhile?
              return false;
            }
            return kept.stamp(r).then(function (copy) {
              if (session.ended()) return false;
              return (job.key ? tiles.put(job.key, copy) : kept.keepPage(job.url, copy, grammar)).then(function () { return true; });
            });
          }, function () { lost = true; release(); return null; });
        });
      });
    }
    show();
    return caches.open(kept.TILES).then(function (tiles) {
      function worker() {
        if (lost || session.ended() || next >= total) return Promise.resolve();
        var index = next++;
        return one(jobs[index], tiles).then(function (ok) { if (ok !== null) settle(index, ok); }).then(worker);
      }
      // A few at a time: enough to fill a cellular link, few enough not to starve the officer's own clicks.
      return Promise.all([worker(), worker(), worker(), worker()]);
    }).then(function () {
      running = false;
      if (session.ended()) return undefined;
      if (lost) {
        paused = { pack: pack, progress: { low: low, failed: failed, bad: Object.keys(bad).map(Number) } };
        continueButton.hidden = false;
        say("Stopped: no connection. " + done.toLocaleString() + " of " + total.toLocaleString() +
            " files are kept; the rest follow when the connection is back.", "paused");
        return save(true);
      }
      bar.value = bar.max;
      say(failed
        ? (total - failed).toLocaleString() + " of " + total.toLocaleString() + " files kept; " + failed.toLocaleString() +
          " could not be fetched. Try again with a better connection."
        : "Done: " + buildingsText(pack.buildings.length) + " kept offline (" + total.toLocaleString() +
          " files). They open without a network.", failed ? "partial" : "done");
      return caches.delete(kept.KEEPING);
    }).catch(function () {
      running = false;
      say("Could not keep these offline on this computer. Try again.", "failed");
    });
  }

  /* One run at a time, across this officer's windows too (Web Locks where the browser has them). */
  function alone(work) {
    if (!navigator.locks) return work();
    return navigator.locks.request("floorplans-keeping", { ifAvailable: true }, function (lock) {
      if (!lock) { say("Keeping offline in another window of this browser."); return undefined; }
      return work();
    });
  }

  /* Start keeping a pack: check the room, write down the run, then fetch. which: "first" or "nearest". */
  function start(pack, which) {
    if (running) return;
    if (!window.caches) { say("This browser cannot keep pages offline.", "failed"); return; }
    fitButton.hidden = continueButton.hidden = true;
    if (!pack.buildings.length) { say("No building to keep offline.", "failed"); return; }
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
    shortOfRoom(pack.bytes).then(function (room) {
      if (room) { tellShort(pack, room, which); return undefined; }
      var fresh = { low: 0, failed: 0, bad: [] };
      return caches.open(kept.KEEPING)
        .then(function (c) { return Promise.all([c.put(PACK_KEY, json(pack)), c.put(PROGRESS_KEY, json(fresh))]); })
        .then(function () { return alone(function () { return run(pack, fresh); }); });
    }).catch(function () { say("Could not keep these offline on this computer. Try again.", "failed"); });
  }

  /* Carry on with a run written down: from a reload, another page, or a lost connection. */
  function carryOn(pack, progress) {
    if (running) return;
    var remaining = pack.bytes * (1 - progress.low / Math.max(1, jobsOf(pack).length));
    shortOfRoom(remaining).then(function (room) {
      if (room) { tellShort(firstOf(pack, pack.buildings.length), room, "first"); return undefined; }
      return alone(function () { return run(pack, progress); });
    });
  }
  continueButton.addEventListener("click", function () { if (paused) carryOn(paused.pack, paused.progress); });
  window.addEventListener("online", function () { if (paused) carryOn(paused.pack, paused.progress); });

  /* A run written down and not finished: show where it was, and carry on when online. */
  if (window.caches) {
    caches.has(kept.KEEPING).then(function (has) {
      if (!has) return undefined;
      return caches.open(kept.KEEPING).then(function (c) {
        return Promise.all([c.match(PACK_KEY), c.match(PROGRESS_KEY)]);
      }).then(function (found) {
        if (!found[0] || !found[1]) return undefined;
        return Promise.all([found[0].json(), found[1].json()]).then(function (read) {
          var pack = read[0], progress = read[1];
          var total = jobsOf(pack).length;
          bar.max = Math.max(1, total);
          bar.value = progress.low;
          bar.hidden = false;
          if (body.dataset.copy === "saved" || !navigator.onLine) {
            paused = { pack: pack, progress: progress };
            continueButton.hidden = false;
            say("Keeping " + buildingsText(pack.buildings.length) + " offline stopped at " + progress.low.toLocaleString() +
                " of " + total.toLocaleString() + " files; it continues when the connection is back.", "paused");
            return undefined;
          }
          say("Continuing: " + progress.low.toLocaleString() + " of " + total.toLocaleString() + " files kept");
          return carryOn(pack, progress);
        });
      });
    }).catch(function () {});
  }

  /* The search's results: "Keep these 3 buildings offline". */
  function fetchPack(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok || r.redirected) { session.check(); throw new Error(String(r.status)); }
      return r.json();
    });
  }
  document.querySelectorAll("[data-keep-offline-start]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (running) return;
      say("Preparing…");
      fetchPack(button.dataset.packUrl).then(function (pack) { start(pack, "first"); }, function () {
        say("Could not reach the service to keep these offline. Try again with a connection.", "failed");
      });
    });
  });

  /* My area: the buildings within a distance of the car (or of a building found), counted and
     sized before anything is kept. */
  var zone = document.querySelector("[data-keep-zone]");
  if (zone) {
    var distance = zone.querySelector("[data-keep-zone-km]");
    var around = zone.querySelector("[data-keep-zone-around]");
    var count = zone.querySelector("[data-keep-zone-count]");
    var summary = zone.querySelector("[data-keep-zone-summary]");
    var keepZone = zone.querySelector("[data-keep-zone-start]");
    var zonePack = null;
    var tell = function (text) { summary.textContent = text; summary.hidden = !text; };
    var forget = function () { zonePack = null; keepZone.hidden = true; tell(""); };
    distance.addEventListener("change", forget);
    around.addEventListener("change", forget);
    var position = function () {
      if (around.value !== "car") {
        var point = around.value.split(",");
        return Promise.resolve({ lat: point[0], lon: point[1] });
      }
      if (!navigator.geolocation) return Promise.reject(new Error("This device cannot tell where it is."));
      return new Promise(function (resolve, reject) {
        navigator.geolocation.getCurrentPosition(function (p) {
          resolve({ lat: p.coords.latitude, lon: p.coords.longitude });
        }, function () {
          reject(new Error("Location is not available (allow it for this site, or choose a building found instead)."));
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    };
    count.addEventListener("click", function () {
      forget();
      tell(around.value === "car" ? "Finding where you are…" : "Counting…");
      var place = around.options[around.selectedIndex].text;
      position().then(function (point) {
        tell("Counting…");
        var url = zone.dataset.packUrl + "?lat=" + encodeURIComponent(point.lat) + "&lon=" + encodeURIComponent(point.lon) +
          "&km=" + encodeURIComponent(distance.value);
        return fetchPack(url).then(function (pack) {
          var within = " within " + distance.value + " km of " + place;
          if (!pack.buildings.length) { tell("No building with a known location is" + within + "."); return; }
          zonePack = pack;
          tell(buildingsText(pack.buildings.length) + within + ": about " + megabytes(pack.bytes) + " on this computer (" +
               pack.files.toLocaleString() + " files)." +
               (pack.more ? " More are that close: these are the " + pack.buildings.length + " nearest." : ""));
          keepZone.textContent = pack.buildings.length === 1 ? "Keep this building offline"
            : "Keep these " + pack.buildings.length.toLocaleString() + " buildings offline";
          keepZone.hidden = false;
        }, function () { tell("Could not reach the service. Try again with a connection."); });
      }, function (error) { tell(error.message); });
    });
    keepZone.addEventListener("click", function () { if (zonePack) start(zonePack, "nearest"); });
  }
})();
