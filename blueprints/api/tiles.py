"""Plan tiles for API clients (a CAD integration's own map): the same images, access rule and
cache headers as the in-car view's tile routes, under /api/ because bearer tokens count
nowhere else.  The ``tile_url`` of a page in the API's answers points here; the in-car
pages keep theirs under /r/tiles/ (where the tile gate serves browser sessions)."""
from __future__ import annotations

from typing import Any

from flask import current_app, make_response, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from blueprints.response.tiles import CACHE_CONTROL
from floorplans import tile_links
from floorplans.auth import permission
from floorplans.permissions import Permission
from floorplans.services import plan_tiles


def _image(data: bytes, etag: str) -> ResponseReturnValue:
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = make_response(data)
        response.mimetype = "image/webp"
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.get("/tiles/<version_key>/<int:page>/<int:z>/<int:x>/<int:y>.webp")
@permission(Permission.READ_RECORDS)
def tile(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    etag = f"{version_key}-{page}-{z}-{x}-{y}"
    if request.if_none_match.contains(etag):
        plan_tiles.check_tile_access(current_user, version_key, page)  # a 304 is still access-checked
        return _image(b"", etag)
    if signed := plan_tiles.tile_redirect(current_user, version_key, page, z, x, y):
        response = make_response("", 302)
        response.headers["Location"] = signed
        response.headers["Cache-Control"] = tile_links.redirect_cache_control(
            tile_links.redirect_lifetime(current_app.config))
        return response
    return _image(plan_tiles.read_tile(current_user, version_key, page, z, x, y), etag)


@bp.get("/tiles/<version_key>/<int:page>/overview.webp")
@permission(Permission.READ_RECORDS)
def tile_overview(version_key: str, page: int) -> ResponseReturnValue:
    return _image(plan_tiles.read_overview(current_user, version_key, page), f"{version_key}-{page}-overview")


def _path_parameter(name: str, description: str, kind: str = "integer") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}, "description": description}


_IMAGE = {"description": "A WebP image; Cache-Control: private, immutable (tile addresses never change).",
          "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}}}
_KEY = _path_parameter("version_key", "The plan version's key, from its pages' tile_url.", "string")
_PAGE = _path_parameter("page", "The page's number in the PDF.")
_ERRORS = {
    "304": {"description": "Not modified (If-None-Match)."},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "404": {"$ref": "#/components/responses/NotFound"},
}

TILE_PATHS: dict[str, Any] = {
    "/tiles/{version_key}/{page}/{z}/{x}/{y}.webp": {
        "parameters": [_KEY, _PAGE, _path_parameter("z", "Zoom level, 0 to the page's max_zoom."),
                       _path_parameter("x", "Column."), _path_parameter("y", "Row.")],
        "get": {
            "summary": "One tile of a plan page (use the page's tile_url template)",
            "responses": {"200": _IMAGE, "302": {"description": "To a short-lived signed URL of the tile "
                                                                "(deployments with TILE_REDIRECT_SECONDS)."},
                          **_ERRORS},
        },
    },
    "/tiles/{version_key}/{page}/overview.webp": {
        "parameters": [_KEY, _PAGE],
        "get": {"summary": "A small image of the whole page", "responses": {"200": _IMAGE, **_ERRORS}},
    },
}
