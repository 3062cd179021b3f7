"""Static files of the in-car view, fingerprinted and cached for a year.

Our own CSS and JS are served at ``/r/assets/<file>?v=<sha256[:12]>``: a URL whose hash
matches the file's content is immutable, so the car downloads each version once and the
service worker can keep it without ever asking again.  Leaflet comes from the
XStatic-Leaflet package (never copied into the tree) at ``/r/vendor/leaflet-<version>/``,
its version in the path for the same reason.  Text files go out gzipped: on a 1.6 Mbit/s
link Leaflet's 147 KB are 43 KB.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import xstatic.pkg.leaflet as leaflet
from flask import Response, abort, current_app, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.security import safe_join

from blueprints.response import bp
from floorplans.auth import permission
from floorplans.marker_kinds import sprite_svg
from floorplans.permissions import Permission

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # a stale or missing hash: usable, but ask again next time
LEAFLET_VERSION = leaflet.VERSION
LEAFLET_FILES = {"leaflet.js", "leaflet.css", "images/layers.png", "images/layers-2x.png",
                 "images/marker-icon.png", "images/marker-icon-2x.png", "images/marker-shadow.png"}
COMPRESSIBLE = {"text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"}


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes | None
    digest: str
    mimetype: str


_cache: dict[tuple[Path, int, int], _Asset] = {}


def _load(path: Path) -> _Asset:
    """Read, hash and compress a file once per version of it (size and mtime)."""
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    asset = _cache.get(key)
    if asset is None:
        body = path.read_bytes()
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mimetype == "application/javascript":
            mimetype = "text/javascript"
        compressible = mimetype in COMPRESSIBLE and len(body) > 512
        asset = _Asset(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0) if compressible else None,
            digest=hashlib.sha256(body).hexdigest()[:12],
            mimetype=mimetype,
        )
        _cache[key] = asset
    return asset


def _own_file(filename: str) -> Path:
    folder = current_app.static_folder
    joined = safe_join(folder, filename) if folder else None
    if joined is None or not Path(joined).is_file():
        abort(404)
    return Path(joined)


# Each file's hash once per process: a deployment changes its files only with a restart, and
# every in-car page links half a dozen (two stat() calls each, ~0.4 ms a page).  With the
# debugger on, a file edited while the app runs is hashed again on the next page.
_digests: dict[str, str] = {}


def asset_url(filename: str) -> str:
    """The fingerprinted URL of one of our files in static/: ``asset_url('css/incar.css')``."""
    digest = None if current_app.debug else _digests.get(filename)
    if digest is None:
        digest = _digests[filename] = _load(_own_file(filename)).digest
    return url_for("response.asset", filename=filename, v=digest)


def leaflet_url(filename: str) -> str:
    return url_for("response.leaflet_file", leaflet_version=LEAFLET_VERSION, leaflet_path=filename)


def _send(asset: _Asset, cache_control: str) -> ResponseReturnValue:
    etag = asset.digest
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    elif asset.gzipped is not None and request.accept_encodings.quality("gzip") > 0:  # not "gzip;q=0"
        response = Response(asset.gzipped, mimetype=asset.mimetype)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(asset.body, mimetype=asset.mimetype)
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    return response


@bp.route("/assets/<path:filename>")
@permission(Permission.PUBLIC)
def asset(filename: str) -> ResponseReturnValue:
    found = _load(_own_file(filename))
    return _send(found, IMMUTABLE if request.args.get("v") == found.digest else REVALIDATE)


@bp.route("/vendor/leaflet-<leaflet_version>/<path:leaflet_path>")
@permission(Permission.PUBLIC)
def leaflet_file(leaflet_version: str, leaflet_path: str) -> ResponseReturnValue:
    if leaflet_version != LEAFLET_VERSION or leaflet_path not in LEAFLET_FILES:
        abort(404)
    return _send(_load(Path(leaflet.BASE_DIR) / leaflet_path), IMMUTABLE)


# --- markers: the icons' SVG sprite, generated from floorplans.marker_kinds ------------------
# Under assets/ with its hash in ?v=, like our files: the service worker keeps it with the shell.

@functools.cache
def _marker_sprite() -> _Asset:
    body = sprite_svg().encode()
    return _Asset(body=body, gzipped=gzip.compress(body, compresslevel=9, mtime=0),
                  digest=hashlib.sha256(body).hexdigest()[:12], mimetype="image/svg+xml")


def marker_sprite_url() -> str:
    """The icons' sprite: ``<use href="{{ marker_sprite_url() }}#marker-door">``."""
    return url_for("response.marker_icons", v=_marker_sprite().digest)


@bp.route("/assets/marker-icons.svg")
@permission(Permission.PUBLIC)
def marker_icons() -> ResponseReturnValue:
    sprite = _marker_sprite()
    return _send(sprite, IMMUTABLE if request.args.get("v") == sprite.digest else REVALIDATE)


def shell_urls() -> list[str]:
    """What the service worker keeps from its first start: enough to draw any in-car page."""
    return [
        asset_url("css/incar.css"), asset_url("js/theme.js"), asset_url("js/kept.js"), asset_url("js/incar.js"),
        asset_url("js/keep-offline.js"),
        asset_url("css/plan.css"), asset_url("js/plan.js"), leaflet_url("leaflet.js"), leaflet_url("leaflet.css"),
        asset_url("css/markers.css"), asset_url("js/markers.js"), marker_sprite_url(), asset_url("js/rooms.js"),
    ]


@bp.app_context_processor
def _template_helpers() -> dict[str, object]:
    return {"asset_url": asset_url, "leaflet_url": leaflet_url, "marker_sprite_url": marker_sprite_url}
