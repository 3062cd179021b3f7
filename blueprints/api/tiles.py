"""Plan tiles for API clients (a CAD integration's own map): the same images, access rule and
cache headers as the in-car view's tile routes, under /api/ because bearer tokens count
nowhere else.  The ``tile_url`` of a page in the API's answers points here; the in-car
pages keep theirs under /r/tiles/ (where the tile gate serves browser sessions)."""
from __future__ import annotations

import re
from typing import Any

from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from floorplans import tile_responses, tile_urls
from floorplans.auth import permission
from floorplans.permissions import Permission


@bp.get(tile_urls.ROUTE)
@permission(Permission.READ_RECORDS)
def tile(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    return tile_responses.tile_response(current_user, version_key, page, z, x, y)  # the in-car route's, no gate


@bp.get(tile_urls.OVERVIEW_ROUTE)
@permission(Permission.READ_RECORDS)
def tile_overview(version_key: str, page: int) -> ResponseReturnValue:
    return tile_responses.overview_response(current_user, version_key, page)


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



def _openapi_path(rule: str) -> str:
    """A Flask rule as OpenAPI writes it: ``<int:page>`` -> ``{page}``."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


TILE_PATHS: dict[str, Any] = {
    _openapi_path(tile_urls.ROUTE): {
        "parameters": [_KEY, _PAGE, _path_parameter("z", "Zoom level, 0 to the page's max_zoom."),
                       _path_parameter("x", "Column."), _path_parameter("y", "Row.")],
        "get": {
            "summary": "One tile of a plan page (use the page's tile_url template)",
            "responses": {"200": _IMAGE, "302": {"description": "To a short-lived signed URL of the tile "
                                                                "(deployments with TILE_REDIRECT_SECONDS)."},
                          **_ERRORS},
        },
    },
    _openapi_path(tile_urls.OVERVIEW_ROUTE): {
        "parameters": [_KEY, _PAGE],
        "get": {"summary": "A small image of the whole page", "responses": {"200": _IMAGE, **_ERRORS}},
    },
}
