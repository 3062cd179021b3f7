/* What the in-car view keeps offline, in one place for the two scripts that keep it: the page
   ("keep offline" in incar.js; loaded before it) and the service worker (browsing, sw.js; the
   server serves /r/sw.js with this file in front of it: blueprints/response/offline.py).

   - the caches' names and the time stamp every copy carries (X-Saved-At);
   - how a page is kept: a newer copy replaces the older one, and when the older copy was a
     plan page showing another version of the plan (a partner published a new one), the
     tiles of that superseded version are deleted.  A plan page names its version in
     <meta name="plan-version">; a tile's URL carries it (TILE_GRAMMAR.tile, group 1).

   Why the old tiles may go then and never earlier (docs/in-car.md, "Superseded plans"): once
   the kept plan page shows the new version, no kept page can show the old tiles any more.
   The service worker replaces a kept page only with one the network just answered (the
   officer is online and the new tiles can be fetched), and "keep offline" stores a plan page
   only after every tile of its version was kept.  Offline nothing is replaced, so nothing is
   evicted: the officer never loses the only copy of a plan. */
(function (scope) {
  "use strict";
  var PAGES = "floorplans-pages";      // cards, plan pages and the find page
  var TILES = "floorplans-tiles";      // plan tiles (immutable) and photos
  var KEEPING = "floorplans-keeping";  // a "keep offline" run under way (incar.js)
  var SAVED_AT = "X-Saved-At";
  var VERSION = /<meta name="plan-version" content="([^"]+)">/g;

  /* A copy of response that says when it was saved: copies older than OFFLINE_MAX_DAYS go. */
  function stamp(response) {
    return response.blob().then(function (blob) {
      var headers = new Headers(response.headers);
      headers.set(SAVED_AT, new Date().toISOString());
      return new Response(blob, { status: response.status, statusText: response.statusText, headers: headers });
    });
  }

  /* The plan versions a kept page shows (none for a card or the find page). */
  function versionsShown(response) {
    if (!response) return Promise.resolve([]);
    return response.clone().text().then(function (html) {
      var found = [];
      html.replace(VERSION, function (all, key) { found.push(key); return all; });
      return found;
    });
  }

  /* Delete the kept tiles of these versions; grammar is TILE_GRAMMAR (floorplans/tile_urls.py). */
  function evictVersions(versions, grammar) {
    if (!versions.length) return Promise.resolve(0);
    var tile = new RegExp(grammar.tile);
    return caches.open(TILES).then(function (tiles) {
      return tiles.keys().then(function (requests) {
        var old = requests.filter(function (request) {
          var match = tile.exec(new URL(request.url).pathname);
          return match && versions.indexOf(match[1]) !== -1;
        });
        return Promise.all(old.map(function (request) { return tiles.delete(request); })).then(function () { return old.length; });
      });
    });
  }

  /* Keep a page (already stamped) under url; returns how many superseded tiles went. */
  function keepPage(url, response, grammar) {
    return caches.open(PAGES).then(function (pages) {
      return pages.match(url).then(function (older) {
        return Promise.all([versionsShown(older), versionsShown(response)]);
      }).then(function (shown) {
        return pages.put(url, response).then(function () {
          var gone = shown[0].filter(function (key) { return shown[1].indexOf(key) === -1; });
          return evictVersions(gone, grammar);
        });
      });
    });
  }

  scope.floorplansKept = {
    PAGES: PAGES, TILES: TILES, KEEPING: KEEPING, SAVED_AT: SAVED_AT,
    stamp: stamp, keepPage: keepPage, versionsShown: versionsShown,
  };
})(self);
