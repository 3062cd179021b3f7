"""Offline in the car: the service worker script and the "keep offline" packs.

The worker is served from ``/r/sw.js`` so that its scope is exactly the in-car view.  Its
script is static/js/kept.js (shared with the page) and static/js/sw.js, with the app shell's
fingerprinted URLs written in front: when
any of them changes the script's bytes change, the browser installs the new worker, and
the old shell cache is dropped.  The worker's settings are written there too: how old a
kept copy may grow (``OFFLINE_MAX_DAYS``), the sign-in page's path, and ``/r/session``,
which it asks when a response looks like the session has ended (then it deletes every
card, plan and tile it kept: static/js/sw.js).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TypedDict

from flask import Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.response import bp
from blueprints.response.assets import shell_urls
from blueprints.response.building import OFFLINE_COPY_HEADER
from blueprints.response.find import coordinate
from floorplans import tile_links, tile_urls
from floorplans.auth import permission
from floorplans.bounds import fits_record_id
from floorplans.config import get_settings
from floorplans.errors import InvalidInput
from floorplans.permissions import Permission
from floorplans.representations import photo_url, tile_url_template
from floorplans.services import buildings, finding, offline
from floorplans.services.offline import MAX_KEEP_BUILDINGS, offline_levels


# The offline pack as incar.js reads it.
class _Level(TypedDict):
    zoom: int
    columns: int
    rows: int


class _PlanPage(TypedDict):
    label: str
    tile_url: str
    levels: list[_Level]
    tiles: int


class _Building(TypedDict):
    id: int
    name: str
    pages: list[str]
    plan_pages: list[_PlanPage]
    photos: list[str]
    bytes: int


@bp.route("/sw.js")
@permission(Permission.PUBLIC)
def service_worker() -> ResponseReturnValue:
    scripts = Path(current_app.static_folder or "static") / "js"
    # kept.js first: how copies are kept, shared with the page's "keep offline".
    script = (scripts / "kept.js").read_text() + "\n" + (scripts / "sw.js").read_text()
    shell = [url_for("response.index"), *shell_urls()]
    header = (
        # First, where a directive counts: sw.js itself comes after these constants.
        '"use strict";\n'
        f"const SHELL = {json.dumps(shell)};\n"
        f"const SHELL_VERSION = {json.dumps(hashlib.sha256(json.dumps(shell).encode()).hexdigest()[:12])};\n"
        f"const OFFLINE_COPY_HEADER = {json.dumps(OFFLINE_COPY_HEADER)};\n"
        f"const TILE_FRONT = {json.dumps(tile_links.front_path(get_settings(), request.host))};\n"
        f"const TILE_GRAMMAR = {json.dumps(tile_urls.for_browser())};\n"  # floorplans/tile_urls.py
        f"const OFFLINE_MAX_DAYS = {get_settings().offline_max_days:g};\n"  # above 0, at most 365 (Settings)
        f"const LOGIN_PATH = {json.dumps(url_for('auth.login'))};\n"
        f"const SESSION_URL = {json.dumps(url_for('response.session_state'))};\n"
    )
    response = Response(header + script, mimetype="text/javascript")
    # Browsers check the worker script on every navigation; it must never be served stale.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for("response.index")
    return response


@bp.route("/session")
@permission(Permission.PUBLIC)
def session_state() -> ResponseReturnValue:
    """Whether this browser is still signed in, for the service worker (and the page's own
    "keep offline" fetches): "no" makes them delete what they kept.  Public, so that the
    answer is never a redirect; it tells a visitor only about their own session."""
    response = jsonify(signed_in=bool(current_user.is_authenticated), login_url=url_for("auth.login"))
    response.headers["Cache-Control"] = "no-store"
    return response


def _ids() -> list[int]:
    parts = [part.strip() for part in request.args.get("ids", "").split(",") if part.strip()]
    if len(parts) > MAX_KEEP_BUILDINGS:
        raise InvalidInput({"ids": f"at most {MAX_KEEP_BUILDINGS} buildings at a time."})
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise InvalidInput({"ids": "must be building ids separated by commas."})
    # An id no record can have is left out, as an unreadable building is (finding.buildings_by_id).
    return [int(part) for part in parts if fits_record_id(part)]


@bp.route("/offline/pack")
@permission(Permission.READ_RECORDS)
def offline_pack() -> ResponseReturnValue:
    """What to fetch to keep buildings offline: ``?ids=1,2,3``, ``?q=<search>``,
    ``?city=<name>`` or an area, ``?lat=&lon=&km=`` (the buildings within ``km`` of the
    point, nearest first; ``more`` says the area holds more than can be kept at once).
    incar.js shows the count and size, fetches every URL and stores it; the card and plan
    fetches are logged as ``keep_offline`` in each building's access log."""
    more = False
    if request.args.get("km"):
        area = offline.zone(current_user, coordinate("lat"), coordinate("lon"), _kilometres())
        chosen, more = area.buildings, area.more
    elif request.args.get("ids"):
        chosen = finding.buildings_by_id(current_user, _ids())
    elif request.args.get("city"):
        chosen = finding.in_city(current_user, request.args["city"], limit=MAX_KEEP_BUILDINGS)
    else:
        chosen = list(buildings.search(current_user, request.args.get("q", ""), limit=MAX_KEEP_BUILDINGS))
    packs: list[_Building] = []
    for keep in offline.kept(current_user, chosen):
        building, version = keep.building, keep.version
        pages: list[_PlanPage] = []
        for page in keep.pages:
            levels = offline_levels(page)
            if levels:
                pages.append({
                    "label": page.label,
                    "tile_url": tile_url_template(page.version, page),
                    "levels": [{"zoom": lv.zoom, "columns": lv.columns, "rows": lv.rows} for lv in levels],
                    "tiles": sum(lv.tiles for lv in levels),
                })
        packs.append({
            "id": building.id, "name": building.name,
            "pages": [url_for("response.card", building_id=building.id)]
            + ([url_for("response.plan", building_id=building.id)] if version else []),
            "plan_pages": pages,
            # Every size: the small one the card and the tap panel show, the large one a tap opens.
            "photos": [photo_url(photo, int(size["size"])) for photo in keep.photos for size in photo.sizes],
            "bytes": keep.bytes,
        })
    total = sum(len(p["pages"]) + sum(page["tiles"] for page in p["plan_pages"]) + len(p["photos"]) for p in packs)
    return jsonify(buildings=packs, files=total, bytes=sum(p["bytes"] for p in packs), more=more)


def _kilometres() -> float:
    try:
        return float(request.args.get("km", ""))
    except ValueError:
        raise InvalidInput({"km": "must be a distance in kilometres."}) from None
