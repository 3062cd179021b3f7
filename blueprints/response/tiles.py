"""Plan tiles for the in-car viewer, access-checked, cached as long as browsers allow.

Most tile GETs never reach these views: once a view has let a login session read a tile, the
tile gate (floorplans.tile_gate) answers that session's next tile GETs for a few seconds
with the same rule (``plan_tiles.may_read_tile``) and the same answer
(floorplans.tile_responses), without Flask.  Everything the gate does not know goes through
here."""
from __future__ import annotations

from flask import Response, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.response import bp
from floorplans import tile_gate, tile_responses, tile_urls
from floorplans.auth import permission
from floorplans.errors import NotFound
from floorplans.permissions import Permission
from floorplans.services import plan_tiles


def _sent(answer: tile_responses.TileAnswer) -> Response:
    return Response(answer.body, answer.status, answer.headers)


@bp.route(tile_urls.ROUTE)
@permission(Permission.READ_RECORDS)
def tile(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    response = tile_response(version_key, page, z, x, y)
    tile_gate.remember(current_user)
    return response


def tile_response(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    """One tile for the signed-in user (the in-car view's route and the API's): 304 when the
    browser has it (still access-checked), a presigned redirect, or the image."""
    plan_tiles.check_tile_access(current_user, version_key, page)
    answer = tile_responses.tile_answer(current_app, version_key, page, z, x, y,
                                        if_none_match=request.headers.get("If-None-Match"))
    if answer is None:
        raise NotFound("There is no such tile.")
    return _sent(answer)


def overview_response(version_key: str, page: int) -> ResponseReturnValue:
    data = plan_tiles.read_overview(current_user, version_key, page)
    return _sent(tile_responses.image_answer(tile_responses.overview_etag(version_key, page),
                                             request.headers.get("If-None-Match"), data))


@bp.route(tile_urls.OVERVIEW_ROUTE)
@permission(Permission.READ_RECORDS)
def overview(version_key: str, page: int) -> ResponseReturnValue:
    return overview_response(version_key, page)
