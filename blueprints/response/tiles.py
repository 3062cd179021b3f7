"""Plan tiles for the in-car viewer, access-checked, cached as long as browsers allow.

Most tile GETs never reach these views: once a view has let a login session read a tile, the
tile gate (floorplans.tile_gate) answers that session's next tile GETs for a few seconds
with the same rule, without Flask.  Everything the gate does not know goes through here."""
from __future__ import annotations

from flask import current_app, make_response, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.response import bp
from floorplans import tile_gate, tile_links
from floorplans.auth import permission
from floorplans.permissions import Permission
from floorplans.services import plan_tiles

#: Tile keys never change (a new plan is a new version key), so browsers may keep them for a
#: year; ``private`` keeps shared caches from storing access-checked images.
CACHE_CONTROL = "private, max-age=31536000, immutable"


@bp.record_once
def _open_gate(state: BlueprintSetupState) -> None:
    prefix = (state.url_prefix or bp.url_prefix or "").rstrip("/")
    tile_gate.open_for(state.app, f"{prefix}/tiles/", cache_control=CACHE_CONTROL)


def _image(data: bytes, etag: str) -> ResponseReturnValue:
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = make_response(data)
        response.mimetype = "image/webp"
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _redirect(url: str) -> ResponseReturnValue:
    """To a presigned S3 URL (TILE_REDIRECT_SECONDS): S3 sends the bytes."""
    response = make_response("", 302)
    response.headers["Location"] = url
    response.headers["Cache-Control"] = tile_links.redirect_cache_control(
        tile_links.redirect_lifetime(current_app.config))
    return response


@bp.route("/tiles/<version_key>/<int:page>/<int:z>/<int:x>/<int:y>.webp")
@permission(Permission.READ_RECORDS)
def tile(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    response = tile_response(version_key, page, z, x, y)
    tile_gate.remember(current_user)
    return response


def tile_response(version_key: str, page: int, z: int, x: int, y: int) -> ResponseReturnValue:
    """One tile for the signed-in user (the in-car view's route and the API's): 304 when the
    browser has it (still access-checked), a presigned redirect, or the image."""
    etag = f"{version_key}-{page}-{z}-{x}-{y}"
    if request.if_none_match.contains(etag):
        plan_tiles.check_tile_access(current_user, version_key, page)  # still checks access
        return _image(b"", etag)
    if signed := plan_tiles.tile_redirect(current_user, version_key, page, z, x, y):
        return _redirect(signed)
    return _image(plan_tiles.read_tile(current_user, version_key, page, z, x, y), etag)


def overview_response(version_key: str, page: int) -> ResponseReturnValue:
    return _image(plan_tiles.read_overview(current_user, version_key, page), f"{version_key}-{page}-overview")


@bp.route("/tiles/<version_key>/<int:page>/overview.webp")
@permission(Permission.READ_RECORDS)
def overview(version_key: str, page: int) -> ResponseReturnValue:
    return overview_response(version_key, page)
