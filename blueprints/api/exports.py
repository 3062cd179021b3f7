"""Exports through the API: the packet PDF, the markers as GeoJSON and a page as PNG, the
same files, logging, quotas and same-site rule as the web's Print & export page (a bearer
token is never sent by a browser on its own, so token calls pass that rule; a browser
session calling these must come from this site's pages)."""
from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from blueprints.response.exports import geojson_response, packet_response, png_response
from floorplans.auth import permission
from floorplans.permissions import Permission


@bp.get("/buildings/<int:building_id>/export/packet.pdf")
@permission(Permission.READ_RECORDS)
def export_packet(building_id: int) -> ResponseReturnValue:
    return packet_response(current_user, building_id, "api")


@bp.get("/buildings/<int:building_id>/export/markers.geojson")
@permission(Permission.READ_RECORDS)
def export_markers(building_id: int) -> ResponseReturnValue:
    return geojson_response(current_user, building_id, "api")


@bp.get("/buildings/<int:building_id>/export/pages/<int:page>.png")
@permission(Permission.READ_RECORDS)
def export_page_png(building_id: int, page: int) -> ResponseReturnValue:
    return png_response(current_user, building_id, page, "api")
