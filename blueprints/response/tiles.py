"""Plan tiles for the in-car viewer, access-checked, cached as long as browsers allow.

Most tile GETs never reach these views: once a view has let a login session read a tile, the
tile gate (floorplans.tile_gate) answers that session's next tile GETs for a few seconds
with the same rule (``plan_tiles.may_read_tile``) and the same answer
(floorplans.tile_responses), without Flask.  Everything the gate does not know goes through
here."""
from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.response import bp
from floorplans import tile_gate, tile_responses, tile_urls
from floorplans.auth import permission
from floorplans.permissions import Permission


@bp.route(tile_urls.ROUTE)
@permission(Permission.READ_RECORDS)
def tile(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    response = tile_responses.tile_response(current_user, version_key, page, z, x, y)
    tile_gate.remember(current_user)  # this session's next tiles: the gate, for a few seconds
    return response


@bp.route(tile_urls.OVERVIEW_ROUTE)
@permission(Permission.READ_RECORDS)
def overview(version_key: str, page: int) -> ResponseReturnValue:
    return tile_responses.overview_response(current_user, version_key, page)
