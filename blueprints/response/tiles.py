"""Plan tiles for the in-car viewer, access-checked, cached as long as browsers allow."""
from __future__ import annotations

from flask import make_response, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.response import bp
from floorplans.auth import permission
from floorplans.permissions import Permission
from floorplans.services import plans


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
        plans.check_tile_access(current_user, version_key)  # still checks access
        return _image(b"", etag)
    return _image(plans.read_tile(current_user, version_key, page, z, x, y), etag)


@bp.route("/tiles/<version_key>/<int:page>/overview.webp")
@permission(Permission.READ_RECORDS)
def overview(version_key: str, page: int) -> ResponseReturnValue:
    return _image(plans.read_overview(current_user, version_key, page), f"{version_key}-{page}-overview")
