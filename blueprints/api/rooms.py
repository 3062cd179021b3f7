"""Finding a room on a building's plan: ``GET /buildings/<id>/rooms?q=kitchen``."""
from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from blueprints.reads import log_read
from floorplans.auth import permission
from floorplans.permissions import Permission
from floorplans.services import buildings, rooms


@bp.get("/buildings/<int:building_id>/rooms")
@permission(Permission.READ_RECORDS)
def find_rooms(building_id: int) -> ResponseReturnValue:
    """Labels of the plan officers see that match ``q``, best first, each with its floor,
    page, centre (page-relative) and grid cell. The read is logged as a plan read."""
    building = buildings.get_readable(current_user, building_id)
    q = request.args.get("q", "")
    matches = rooms.search(building, q)
    log_read(building, "view_plan", f"find rooms: {q.strip()}")
    return jsonify(matches=[match.as_json() for match in matches])
