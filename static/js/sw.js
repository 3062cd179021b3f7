/* The in-car view's service worker (served as /r/sw.js, scope /r/; SHELL, SHELL_VERSION,
   OFFLINE_COPY_HEADER, TILE_FRONT, TILE_GRAMMAR, OFFLINE_MAX_DAYS, LOGIN_PATH and SESSION_URL are written
   in front of this file by the server: blueprints/response/offline.py).

   - Pages (cards, plans, the find page): network first; a copy of every page that loaded is
     kept, and served, marked as saved, when the network fails or is too slow.
   - Tiles: cache first (their URLs never change).  A tile never fetched is drawn from a
     lower-zoom tile that was, so an offline plan zooms in blurred rather than blank.  Signed
     tile URLs of the tile front (TILE_FRONT/<expires>/<signature>/<version>/<page>/<z>/<x>/<y>.webp,
     floorplans/tile_links.py) are kept under the app's own tile URL (/r/tiles/...): a page
     that hands out a newer signature still finds every tile kept under an older one.
   - Photos (/r/photos/...): cache first, beside the tiles (their URLs change when a photo is
     replaced), kept by "keep offline" or once seen.
   - Fingerprinted assets and Leaflet: cache first, kept from installation on.
   - Superseded plans: a plan page that shows a newer version of the plan than the kept copy
     replaces it, and the old version's tiles are deleted (static/js/kept.js says why that
     never loses the only copy of a plan).
   Signing out deletes these caches (incar.js and the Clear-Site-Data header).

   Copies end with access, even when nobody signs out:
   - when the server shows that the session is gone (a 401, a redirect to the sign-in page, or
     a navigation's redirect after which SESSION_URL says "signed out": an administrator
     disabled the account, the login ran out, the password changed on another device), the
     cards, plans and tiles kept here (whatever kept them: browsing or "keep offline") are
     deleted at once and the pages are told (incar.js then shows the sign-in page);
   - every copy carries the time it was saved (X-Saved-At); one older than OFFLINE_MAX_DAYS is
     deleted unopened, when it is asked for and at each start of the worker.

   The served script starts with "use strict" (the server writes it before those constants,
   where a directive still counts): the worker runs in strict mode. */
/* global SHELL, SHELL_VERSION, OFFLINE_COPY_HEADER, TILE_FRONT, TILE_GRAMMAR, OFFLINE_MAX_DAYS, LOGIN_PATH, SESSION_URL */
// Shared with the page's "keep offline" (static/js/kept.js, written in front of this file).
const KEPT = self.floorplansKept;
const { PAGES, TILES, KEEPING, SAVED_AT, stamp } = KEPT;
const SHELL_CACHE = "floorplans-shell-" + SHELL_VERSION;
// On a patchy cellular link a saved copy after this long beats a spinner at a red light.
const NETWORK_WAIT_MS = 5000;
const SCOPE = new URL(self.registration.scope).pathname;
const MAX_AGE_MS = OFFLINE_MAX_DAYS * 24 * 3600 * 1000;
// Counts the wipes: a response fetched before one is never stored after it.
let wipes = 0;

self.addEventListener("install", (event) => {
  const pages = SHELL.filter((url) => url.endsWith("/"));
  const assets = SHELL.filter((url) => !url.endsWith("/"));
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(assets))
      .then(() => caches.open(PAGES))
      .then((cache) => Promise.all(pages.map((url) => fetch(url, { credentials: "same-origin" }).then((r) => {
        if (r.ok && !r.redirected) return stamp(r).then((s) => cache.put(url, s));
        return undefined;
      }).catch(() => undefined))))
      .then(() => self.skipWaiting())
  );
});

/* A copy saved more than OFFLINE_MAX_DAYS ago, or whose time is unknown, is too old to show. */
function isFresh(response) {
  const saved = Date.parse(response.headers.get(SAVED_AT) || "");
  return !Number.isNaN(saved) && Date.now() - saved < MAX_AGE_MS;
}

/* The kept copy of key in cache, unless it is too old: then it is deleted without being read. */
function keptCopy(cache, key) {
  return cache.match(key).then((hit) => {
    if (!hit || isFresh(hit)) return hit;
    return cache.delete(key).then(() => undefined);
  });
}

function keptCache(name) {
  return caches.has(name).then((kept) => (kept ? caches.open(name) : undefined));
}

/* Every start of the worker deletes the copies that grew too old.  keys() and matchAll() list
   a cache's entries in the same order (their headers only are read); an entry that looks old
   is looked up again by its key before it goes, in case the cache changed in between. */
function sweep() {
  return Promise.all([PAGES, TILES].map((name) => keptCache(name).then((cache) => {
    if (!cache) return undefined;
    return Promise.all([cache.keys(), cache.matchAll()]).then(([keys, responses]) => Promise.all(
      keys.filter((key, i) => !responses[i] || !isFresh(responses[i])).map((key) => keptCopy(cache, key))));
  }))).catch(() => undefined);
}
const swept = sweep();

/* The session is gone: nothing kept here may be read any more.  Cards, plans and tiles go, and
   a "keep offline" run's list (the app shell stays: our CSS and JS, no records); open pages
   are told, to show the sign-in. */
function wipe(loginUrl) {
  wipes += 1;
  return Promise.all([PAGES, TILES, KEEPING].map((name) => caches.delete(name)))
    .then(() => self.clients.matchAll({ type: "window", includeUncontrolled: true }))
    .then((windows) => windows.forEach((w) => w.postMessage({ type: "floorplans:signed-out", login: loginUrl || LOGIN_PATH })))
    .catch(() => undefined);
}

let checking = null;
/* Ask the server whether this browser is still signed in (one question at a time). */
function checkSession() {
  if (!checking) {
    checking = fetch(SESSION_URL, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then((r) => (r.ok ? r.json() : null))
      .then((state) => (state && state.signed_in === false ? wipe(state.login_url) : undefined))
      .catch(() => undefined)
      .then(() => { checking = null; });
  }
  return checking;
}

function toSignIn(response) {
  if (!response.redirected || !response.url) return false;
  const url = new URL(response.url);
  return url.origin === self.location.origin && url.pathname === LOGIN_PATH;
}

/* Keep the worker alive for promise; once the page has its answer (a saved copy after
   NETWORK_WAIT_MS) the browser may refuse to extend, but the work still runs. */
function extend(event, promise) {
  try { event.waitUntil(promise); } catch (e) { /* answered already */ }
  return promise;
}

/* What a response from the server says about the session.  A navigation's redirect is opaque
   here (it may be a CAD lookup finding its building), so the session check settles it. */
function watch(event, response) {
  if (toSignIn(response)) extend(event, wipe());
  else if (response.status === 401 || response.type === "opaqueredirect") extend(event, checkSession());
  return response;
}

self.addEventListener("activate", (event) => {
  event.waitUntil(
    swept.then(() => caches.keys()).then((names) => Promise.all(
      names.filter((n) => n.startsWith("floorplans-shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n))
    )).then(() => self.clients.claim())
  );
});

function markSaved(response) {
  const savedAt = response.headers.get(SAVED_AT) || "";
  return response.text().then((html) => {
    const marked = html.replace('data-copy="live"', 'data-copy="saved" data-saved-at="' + savedAt.replace(/[^0-9TZ:.+-]/g, "") + '"');
    const headers = new Headers(response.headers);
    headers.delete("Content-Length");
    return new Response(marked, { status: 200, headers });
  });
}

function savedPage(url) {
  return keptCache(PAGES).then((cache) => cache && keptCopy(cache, url).then((hit) => {
    if (hit) return hit;
    // A search or a CAD lookup never saved: the find page, with its recently viewed list.
    const path = new URL(url).pathname;
    if (path === SCOPE || path === SCOPE + "lookup") return keptCopy(cache, new URL(SCOPE, url).href);
    return undefined;
  })).then((hit) => (hit ? markSaved(hit) : undefined));
}

function offlinePage() {
  const css = SHELL.find((url) => url.includes(".css")) || "";
  const theme = SHELL.find((url) => url.includes("theme.js")) || "";
  const html = '<!doctype html><html lang="en" class="incar"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>No connection</title>' +
    '<script src="' + theme + '"></script><link rel="stylesheet" href="' + css + '"></head><body>' +
    '<header class="bar"><a class="bar-button" href="' + SCOPE + '">Find</a><div class="bar-title">No connection</div></header>' +
    '<main class="page"><p class="missing">No connection, and this page was not saved on this device. ' +
    "Buildings you opened before, or kept offline, still open: see Recently viewed on the Find page.</p></main></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function page(event) {
  const request = event.request;
  return new Promise((resolve) => {
    let settled = false;
    const answer = (response) => { if (!settled && response) { settled = true; resolve(response); } };
    const fallback = () => savedPage(request.url).then((saved) => saved || offlinePage());
    const timer = setTimeout(() => { savedPage(request.url).then(answer); }, NETWORK_WAIT_MS);
    const generation = wipes;
    fetch(request).then((response) => {
      clearTimeout(timer);
      watch(event, response);
      const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
      if (response.ok && !response.redirected && html) {
        const copy = response.clone();
        // A plan page showing a newer version replaces the kept one, whose tiles go (kept.js):
        // the officer is online, so the new version's tiles can be fetched.
        extend(event, stamp(copy).then((s) => generation === wipes && KEPT.keepPage(request.url, s, TILE_GRAMMAR)));
      }
      if (response.status >= 500) return fallback().then((saved) => answer(saved.status === 503 ? response : saved));
      answer(response);
      return undefined;
    }).catch(() => { clearTimeout(timer); return fallback().then(answer); });
  });
}

// The tile URL grammar comes from the server (floorplans/tile_urls.py), never spelt here.
const TILE = new RegExp(TILE_GRAMMAR.tile);
const SIGNED = new RegExp(TILE_GRAMMAR.signed);

function isFrontTile(url) {
  return Boolean(TILE_FRONT) && url.origin === self.location.origin && url.pathname.startsWith(TILE_FRONT) &&
    SIGNED.test(url.pathname.slice(TILE_FRONT.length));
}

// The cache key of a tile: the app's own tile URL, without the signature of a front's URL.
function tileKey(url) {
  const parsed = new URL(url);
  if (!isFrontTile(parsed)) return url;
  return parsed.origin + SCOPE + TILE_GRAMMAR.folder + SIGNED.exec(parsed.pathname.slice(TILE_FRONT.length))[1];
}

// A tile's path from its parts (key, page, z, x, y), as the grammar writes it.
function tilePath(parts) {
  return TILE_GRAMMAR.tileTail.replace(/\{(\w+)\}/g, (placeholder, name) => String(parts[name]));
}

function fromParent(cache, url) {
  const match = TILE.exec(new URL(url).pathname);
  if (!match || typeof OffscreenCanvas === "undefined") return Promise.resolve(Response.error());
  const [, , , zText, xText, yText] = match;
  const z = Number(zText), x = Number(xText), y = Number(yText);
  const tryLevel = (up) => {
    if (up > 4 || z - up < 0) return Promise.resolve(Response.error());
    const parent = url.replace(TILE, (all, key, pageNo) => tilePath({ key, page: pageNo, z: z - up, x: x >> up, y: y >> up }));
    return keptCopy(cache, parent).then((hit) => {
      if (!hit) return tryLevel(up + 1);
      return hit.blob().then((blob) => createImageBitmap(blob)).then((bitmap) => {
        const side = bitmap.width, part = side >> up;
        const canvas = new OffscreenCanvas(side, side);
        const context = canvas.getContext("2d");
        context.imageSmoothingEnabled = true;
        context.drawImage(bitmap, (x - ((x >> up) << up)) * part, (y - ((y >> up) << up)) * part, part, part, 0, 0, side, side);
        return canvas.convertToBlob({ type: "image/png" });
      }).then((png) => new Response(png, { headers: { "Content-Type": "image/png" } }));
    });
  };
  return tryLevel(1);
}

function tile(event) {
  const request = event.request;
  const key = tileKey(request.url);
  const generation = wipes;
  return caches.open(TILES).then((cache) => keptCopy(cache, key).then((hit) => hit || fetch(request).then((response) => {
    watch(event, response);
    // A redirect is never a tile: the sign-in page, or a presigned S3 URL the worker cannot keep.
    if (response.ok && !response.redirected) {
      extend(event, stamp(response.clone()).then((s) => generation === wipes && cache.put(key, s)));
    }
    return response;
  }).catch(() => fromParent(cache, key))));
}

/* A photo's size (/r/photos/<id>/<token>/<size>.webp): its URL changes when the photo is
   replaced, so a kept copy is always right; kept beside the tiles (the same lifetime, wiped
   with them at sign-out), from "keep offline" or from browsing. */
function photo(event) {
  const request = event.request;
  const generation = wipes;
  return caches.open(TILES).then((cache) => keptCopy(cache, request.url).then((hit) => hit || fetch(request).then((response) => {
    watch(event, response);
    if (response.ok && !response.redirected) {
      extend(event, stamp(response.clone()).then((s) => generation === wipes && cache.put(request.url, s)));
    }
    return response;
  })));
}

function shellFirst(request) {
  return caches.match(request.url).then((hit) => hit || fetch(request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(SHELL_CACHE).then((cache) => cache.put(request.url, copy));
    }
    return response;
  }));
}

let sweepHeld = false;
self.addEventListener("fetch", (event) => {
  if (!sweepHeld) {  // keep a worker just started alive until its sweep is done
    sweepHeld = true;
    event.waitUntil(swept);
  }
  const request = event.request;
  if (request.method !== "GET") return;
  // "Keep offline" stores what it fetches itself, and wants the network's answer, never a
  // tile drawn from a lower zoom (static/js/keep-offline.js).
  if (request.headers.get(OFFLINE_COPY_HEADER)) return;
  const url = new URL(request.url);
  if (isFrontTile(url)) {
    event.respondWith(tile(event));
    return;
  }
  if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  const path = url.pathname.slice(SCOPE.length);
  if (path.startsWith(TILE_GRAMMAR.folder)) {
    event.respondWith(tile(event));
  } else if (path.startsWith("photos/")) {
    event.respondWith(photo(event));
  } else if ((path.startsWith("assets/") && url.searchParams.has("v")) || path.startsWith("vendor/")) {
    event.respondWith(shellFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(event));
  }
});
