"""The in-car view: find a building and read its record, read-only."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from floorplans.auth import permission
from floorplans.db import db
from floorplans.permissions import Permission
from floorplans.services import access, buildings
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
