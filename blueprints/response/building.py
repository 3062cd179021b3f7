"""A building in the car: the one-screen card and the plan viewer.  Every view is written
to the access log (the partner reads it); a copy fetched by "keep offline" is logged too,
as such."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.reads import log_read
from blueprints.response import bp
from floorplans.auth import permission
from floorplans.config import get_settings
from floorplans.grid import plan_grid
from floorplans.marker_kinds import KINDS, MarkerKind
from floorplans.models import Building, PlanVersion
from floorplans.permissions import Permission
from floorplans.representations import marker_json, tile_url_template
from floorplans.services import buildings, markers, photos, rooms
from floorplans.services.briefing import brief

#: Sent by incar.js when it fetches pages for "keep offline": the read is logged as
#: ``keep_offline`` instead of a view.  Either way it is logged; the header only names it.
OFFLINE_COPY_HEADER = "X-Offline-Copy"


def _log(building: Building, what: str) -> None:
    offline = request.headers.get(OFFLINE_COPY_HEADER) == "1"
    log_read(building, "keep_offline" if offline else f"view_{what}", what if offline else "")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@bp.route("/buildings/<int:building_id>")
@permission(Permission.READ_RECORDS)
def card(building_id: int) -> ResponseReturnValue:
    building = buildings.get_readable(current_user, building_id)
    _log(building, "record")
    settings = get_settings()
    summary = brief(building, now=_now(), timezone=settings.timezone, stale_after_days=settings.stale_after_days)
    version = published_plan(building)
    return render_template(
        "response/card.html", building=building, brief=summary, has_plan=version is not None,
        floors=[page.label for page in version.shown_pages] if version else [],
        places=rooms.card_places(building), front=photos.front_photo(building),
        entrances=[photo for photo in photos.building_photos(building) if photo.subject == "entrance"],
    )


def published_plan(building: Building) -> PlanVersion | None:
    """The plan officers see (``Building.shown_plan``)."""
    return building.shown_plan


def viewer_pages(version: PlanVersion, *, with_hidden: bool = False, with_labels: bool = False) -> list[dict[str, Any]]:
    """What plan.js needs for each page, in the partner's order: the pyramid's geometry,
    the tile URL template, the reference grid (page-relative, see floorplans.grid) and the
    page's markers (``marker_json`` with each one's photo, drawn by markers.js).  Sheets hidden from officers are
    left out unless ``with_hidden`` (the partner's marker editor shows every sheet).
    ``with_labels``: each page's room labels too, for the Find box (rooms.js), so a plan
    kept offline finds rooms without a connection (services.rooms.viewer_labels)."""
    by_page = markers.markers_by_page(version)
    by_marker = photos.photos_for_markers(marker for found in by_page.values() for marker in found)
    labels = rooms.viewer_labels(version) if with_labels else {}
    pages = []
    for page in version.pages if with_hidden else version.shown_pages:
        if not (page.width and page.height and page.tile_size and page.max_zoom is not None):
            continue
        pages.append({
            "id": page.id, "number": page.number, "label": page.label, "hidden": page.hidden,
            "width": page.width, "height": page.height,
            "tile_size": page.tile_size, "max_zoom": page.max_zoom, "background": page.background,
            "tile_url": tile_url_template(version, page),
            "grid": plan_grid(page.width, page.height).as_json(),
            "markers": [marker_json(marker, by_marker.get(marker.id)) for marker in by_page.get(page.id, [])],
        })
        if with_labels:
            pages[-1]["labels"] = labels.get(page.number, [])
    return pages


def marker_legend(pages: list[dict[str, Any]]) -> list[MarkerKind]:
    """The kinds of marker on these viewer pages, in the catalogue's order (the legend)."""
    present = {marker["kind"] for page in pages for marker in page.get("markers", [])}
    return [kind for kind in KINDS if kind.key in present]


@bp.route("/buildings/<int:building_id>/plan")
@permission(Permission.READ_RECORDS)
def plan(building_id: int) -> ResponseReturnValue:
    building = buildings.get_readable(current_user, building_id)
    version = published_plan(building)
    if version is not None:
        _log(building, "plan")
    pages = viewer_pages(version, with_labels=True) if version else []
    return render_template(
        "response/plan.html", building=building, version=version, pages=pages, legend=marker_legend(pages),
        card_url=url_for("response.card", building_id=building.id),
    )
