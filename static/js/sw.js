/* The in-car view's service worker (served as /r/sw.js, scope /r/; SHELL, SHELL_VERSION,
   OFFLINE_COPY_HEADER and TILE_FRONT are written in front of this file by the server).

   - Pages (cards, plans, the find page): network first; a copy of every page that loaded is
     kept, and served, marked as saved, when the network fails or is too slow.
   - Tiles: cache first (their URLs never change).  A tile never fetched is drawn from a
     lower-zoom tile that was, so an offline plan zooms in blurred rather than blank.  Signed
     tile URLs of the tile front (TILE_FRONT/<expires>/<signature>/<version>/<page>/<z>/<x>/<y>.webp,
     floorplans/tile_links.py) are kept under the app's own tile URL (/r/tiles/...): a page
     that hands out a newer signature still finds every tile kept under an older one.
   - Fingerprinted assets and Leaflet: cache first, kept from installation on.
   Signing out deletes these caches (incar.js and the Clear-Site-Data header). */
"use strict";
const PAGES = "floorplans-pages";
const TILES = "floorplans-tiles";
const SHELL_CACHE = "floorplans-shell-" + SHELL_VERSION;
const SAVED_AT = "X-Saved-At";
// On a patchy cellular link a saved copy after this long beats a spinner at a red light.
const NETWORK_WAIT_MS = 5000;
const SCOPE = new URL(self.registration.scope).pathname;

function stamp(response) {
  return response.blob().then((blob) => {
    const headers = new Headers(response.headers);
    headers.set(SAVED_AT, new Date().toISOString());
    return new Response(blob, { status: response.status, statusText: response.statusText, headers });
  });
}

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

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(
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
  return caches.open(PAGES).then((cache) => cache.match(url).then((hit) => {
    if (hit) return hit;
    // A search or a CAD lookup never saved: the find page, with its recently viewed list.
    const path = new URL(url).pathname;
    if (path === SCOPE || path === SCOPE + "lookup") return cache.match(new URL(SCOPE, url).href);
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
    fetch(request).then((response) => {
      clearTimeout(timer);
      const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
      if (response.ok && !response.redirected && html) {
        const copy = response.clone();
        event.waitUntil(stamp(copy).then((s) => caches.open(PAGES).then((cache) => cache.put(request.url, s))));
      }
      if (response.status >= 500) return fallback().then((saved) => answer(saved.status === 503 ? response : saved));
      answer(response);
      return undefined;
    }).catch(() => { clearTimeout(timer); return fallback().then(answer); });
  });
}

const TILE = /\/tiles\/([^/]+)\/(\d+)\/(\d+)\/(\d+)\/(\d+)\.webp$/;
const SIGNED = /^\d+\/[A-Za-z0-9_-]+\/([A-Za-z0-9_-]+\/\d+\/\d+\/\d+\/\d+\.webp)$/;

function isFrontTile(url) {
  return Boolean(TILE_FRONT) && url.origin === self.location.origin && url.pathname.startsWith(TILE_FRONT) &&
    SIGNED.test(url.pathname.slice(TILE_FRONT.length));
}

// The cache key of a tile: the app's own tile URL, without the signature of a front's URL.
function tileKey(url) {
  const parsed = new URL(url);
  if (!isFrontTile(parsed)) return url;
  return parsed.origin + SCOPE + "tiles/" + SIGNED.exec(parsed.pathname.slice(TILE_FRONT.length))[1];
}

function fromParent(cache, url) {
  const match = TILE.exec(new URL(url).pathname);
  if (!match || typeof OffscreenCanvas === "undefined") return Promise.resolve(Response.error());
  const [, , , zText, xText, yText] = match;
  const z = Number(zText), x = Number(xText), y = Number(yText);
  const tryLevel = (up) => {
    if (up > 4 || z - up < 0) return Promise.resolve(Response.error());
    const parent = url.replace(TILE, (all, key, pageNo) =>
      `/tiles/${key}/${pageNo}/${z - up}/${x >> up}/${y >> up}.webp`);
    return cache.match(parent).then((hit) => {
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

function tile(request) {
  const key = tileKey(request.url);
  return caches.open(TILES).then((cache) => cache.match(key).then((hit) => hit || fetch(request).then((response) => {
    if (response.ok) cache.put(key, response.clone());
    return response;
  }).catch(() => fromParent(cache, key))));
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

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (isFrontTile(url)) {
    event.respondWith(tile(request));
    return;
  }
  if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  if (request.headers.get(OFFLINE_COPY_HEADER)) return; // "keep offline" stores what it fetches itself
  const path = url.pathname.slice(SCOPE.length);
  if (path.startsWith("tiles/")) {
    event.respondWith(tile(request));
  } else if ((path.startsWith("assets/") && url.searchParams.has("v")) || path.startsWith("vendor/")) {
    event.respondWith(shellFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(event));
  }
});
