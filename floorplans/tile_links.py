"""Short-lived signed tile URLs for a front (nginx) that serves tiles without the app.

With ``TILE_URL_SECRET`` set, the pages and the API hand out tile URL templates of the form
``<TILE_URL_BASE>/<expires>/<signature>/<version key>/<page>/{z}/{x}/{y}.webp``.  The
signature covers the expiry and the ``<version key>/<page>`` prefix, not each tile: Leaflet
fills ``{z}/{x}/{y}`` itself, so one signature must serve a whole page.  nginx's
``secure_link`` module checks it with the same secret (``secure_link_md5 "$expires $prefix
SECRET"``: base64url MD5 without padding, nginx's only format) and refuses an altered URL
(403) or an expired one (410) on its own.  Only someone who may read the building ever gets
the URL (the app checks access when it renders the page or answers the API), and it dies
after ``TILE_URL_LIFETIME_SECONDS``.  docs/operations.md has the nginx configuration.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import urlsplit

from floorplans import tile_urls
from floorplans.config import Settings


def is_enabled(settings: Settings) -> bool:
    return bool(settings.tile_url_secret)


def expiry(lifetime: int, now: float | None = None) -> int:
    """The expiry (Unix seconds) of URLs handed out now: at least ``lifetime`` seconds away,
    rounded up to a quarter of it, so the URLs of one page stay the same for a while and
    browsers' caches (and the in-car offline copies) keep hitting."""
    step = max(60, lifetime // 4)
    moment = int(time.time() if now is None else now) + lifetime
    return -(-moment // step) * step


def signature(secret: str, expires: int, prefix: str) -> str:
    """What nginx computes for ``secure_link_md5 "$expires $prefix <secret>"``."""
    # MD5 is nginx's choice, not ours; with the secret last, no length extension applies.
    digest = hashlib.md5(f"{expires} {prefix} {secret}".encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def tile_url_template(settings: Settings, version_key: str, page: int, *, now: float | None = None) -> str:
    expires = expiry(settings.tile_url_lifetime_seconds, now)
    signed = signature(settings.tile_url_secret or "", expires, tile_urls.page_path(version_key, page))
    return tile_urls.signed_template(settings.tile_url_base, expires, signed, version_key, page)


def front_path(settings: Settings, host: str) -> str | None:
    """The path under which the front serves signed tiles on the app's own host (``/t/``),
    for the service worker to keep them offline; None without a front, or when it is on
    another host (the page's Content-Security-Policy would have to allow it, and a worker
    cannot read another origin's images to keep them)."""
    if not is_enabled(settings):
        return None
    base = urlsplit(settings.tile_url_base)
    if base.netloc and base.netloc != host:
        return None
    return base.path.rstrip("/") + "/"


def redirect_lifetime(settings: Settings) -> int:
    """Seconds a presigned S3 URL handed out by the tile route lives (0: no redirects)."""
    return settings.tile_redirect_seconds


def redirect_origin(settings: Settings, store: Any) -> str | None:
    """The origin (``https://bucket.s3.example``) presigned tile URLs point at, for the
    Content-Security-Policy; None when tiles are not redirected or the store has no such URLs."""
    lifetime = redirect_lifetime(settings)
    url = store.signed_url(f"{tile_urls.FOLDER}/origin-probe.webp", expires_in=lifetime) if lifetime else None
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def redirect_cache_control(lifetime: int) -> str:
    """A browser may reuse the tile route's redirect for half the presigned URL's life, so the
    URL it follows always has at least the other half left."""
    return f"private, max-age={lifetime // 2}"


def nginx_locations(*, secret: str, storage_root: str, base: str = "/t") -> str:
    """The nginx ``location`` blocks that verify these URLs and serve the tiles from the
    local-folder store at ``storage_root`` (docs/operations.md; the tests and bench/load.py
    run exactly this)."""
    base = base.rstrip("/")
    pattern = tile_urls.nginx_pattern(base)
    return f"""
    # Signed tiles: {base}/<expires>/<signature>/<version key>/<page>/<z>/<x>/<y>.webp
    location ~ {pattern} {{
        secure_link $tl_sig,$tl_expires;
        secure_link_md5 "$tl_expires $tl_prefix {secret}";
        if ($secure_link = "") {{ return 403; }}
        if ($secure_link = "0") {{ return 410; }}
        default_type image/webp;
        add_header Cache-Control "{tile_urls.CACHE_CONTROL}" always;
        alias {storage_root.rstrip('/')}/{tile_urls.FOLDER}/$tl_prefix/$tl_rest;
    }}
    location {base}/ {{ return 403; }}
"""
