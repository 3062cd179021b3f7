"""The in-car view: find a building and read its record, read-only."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from floorplans.auth import permission
from floorplans.db import db
from floorplans.permissions import Permission
from floorplans.services import access, buildings, plans
from floorplans.services.gatherings import now_and_next

bp = Blueprint("response", __name__, url_prefix="/r")


@bp.route("/")
@permission(Permission.READ_RECORDS)
def index() -> ResponseReturnValue:
    query = request.args.get("q", "")
    found = buildings.search(current_user, query) if query else []
    return render_template("response/index.html", q=query, buildings=found)


@bp.route("/buildings/<int:building_id>")
@permission(Permission.READ_RECORDS)
def card(building_id: int) -> ResponseReturnValue:
    building = buildings.get_readable(current_user, building_id)
    access.record_access(current_user, building, "view_record", channel="web", ip_address=request.remote_addr or "")
    db.session.commit()
    happening, upcoming = now_and_next(
        building.gatherings, now=dt.datetime.now(dt.UTC), timezone=current_app.config["TIMEZONE"]
    )
    return render_template("response/card.html", building=building, happening=happening, upcoming=upcoming)


def _image(data: bytes, etag: str) -> ResponseReturnValue:
    """Tile keys never change (a new plan is a new version key), so browsers may keep them
    for a year; ``private`` keeps shared caches from storing access-checked images."""
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = make_response(data)
        response.mimetype = "image/webp"
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


@bp.route("/tiles/<version_key>/<int:page>/<int:z>/<int:x>/<int:y>.webp")
@permission(Permission.READ_RECORDS)
def tile(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    etag = f"{version_key}-{page}-{z}-{x}-{y}"
    if request.if_none_match.contains(etag):
        plans.readable_version_by_key(current_user, version_key)  # still checks access
        return _image(b"", etag)
    return _image(plans.read_tile(current_user, version_key, page, z, x, y), etag)


@bp.route("/tiles/<version_key>/<int:page>/overview.webp")
@permission(Permission.READ_RECORDS)
def overview(version_key: str, page: int) -> ResponseReturnValue:
    return _image(plans.read_overview(current_user, version_key, page), f"{version_key}-{page}-overview")
