"""A building as JSON: the summary that search returns and the whole record.

One shape serves the API and the in-car pages.  Must not import blueprints, storage or
converters.
"""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request, url_for

from floorplans import tile_links, tile_urls
from floorplans.config import get_settings
from floorplans.marker_kinds import BY_KEY, door_label
from floorplans.models import Building, Contact, Gathering, Marker, Photo, PlanPage, PlanVersion, VersionState
from floorplans.services import photos as photo_service
from floorplans.services.buildings import BUILDING_FIELDS
from floorplans.services.contacts import CONTACT_FIELDS
from floorplans.services.gatherings import GATHERING_FIELDS
from floorplans.services.markers import markers_by_page


def utc_time(value: Any) -> str | None:
    """A stored time (naive UTC) as the API writes every time: ISO 8601 to the second, with Z."""
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def building_summary(building: Building) -> dict[str, Any]:
    return {
        "id": building.id,
        "name": building.name,
        "address": building.address,
        "organisation": {"id": building.organisation.id, "name": building.organisation.name},
        "faith_tradition": building.organisation.faith_tradition,
        "latitude": building.latitude,
        "longitude": building.longitude,
        "last_verified_at": utc_time(building.last_verified_at),
    }


def contact_json(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "position": contact.position, **CONTACT_FIELDS.to_json(contact)}


def gathering_json(gathering: Gathering) -> dict[str, Any]:
    return {"id": gathering.id, **GATHERING_FIELDS.to_json(gathering)}


def _for_the_api() -> bool:
    """API answers point at the API's own tile routes: a bearer token counts only under /api/."""
    return has_request_context() and request.path.startswith("/api/")


def tile_url_template(version: PlanVersion, page: PlanPage) -> str:
    """Leaflet's URL template for a page: ``.../{z}/{x}/{y}.webp``; a short-lived signed URL
    on the tile front (nginx) when ``TILE_URL_SECRET`` is set (floorplans.tile_links)."""
    settings = get_settings()
    if tile_links.is_enabled(settings):
        return tile_links.tile_url_template(settings, version.key, page.number)
    endpoint = "api.tile" if _for_the_api() else "response.tile"
    return tile_urls.template_from_sample(url_for(endpoint, version_key=version.key, page=page.number,
                                                  **tile_urls.SAMPLE))


def photo_url(photo: Photo, size: int) -> str:
    """A photo's size: the API's own route under /api/ (a bearer token counts only there)."""
    endpoint = "api.photo" if _for_the_api() else "response.photo"
    return url_for(endpoint, photo_id=photo.id, photo_token=photo.token, size=size)


def photo_json(photo: Photo) -> dict[str, Any]:
    """A photo as the API lists it and as the in-car pages show it: what it shows, and each
    stored size with its URL (``small`` and ``large``: the tap panel's and the screen's)."""
    sizes = [{**size, "url": photo_url(photo, int(size["size"]))} for size in photo.sizes]
    return {
        "id": photo.id, "subject": photo.subject, "marker_id": photo.marker_id, "caption": photo.caption or "",
        "width": photo.width, "height": photo.height, "uploaded_at": utc_time(photo.uploaded_at),
        "small": sizes[0]["url"] if sizes else None, "large": sizes[-1]["url"] if sizes else None,
        "sizes": sizes,
    }


def marker_json(marker: Marker, photo: Photo | None = None) -> dict[str, Any]:
    """A marker as the API returns it and as static/js/markers.js draws it (each viewer page's
    ``markers``): keep these names stable, other layers read them.  ``photo``: the photo it
    shows (services.photos.photos_for_markers), or None."""
    kind = BY_KEY.get(marker.kind)
    return {
        "id": marker.id, "page_id": marker.page_id, "page": marker.page.number, "kind": marker.kind,
        "kind_label": kind.label if kind else marker.kind, "x": marker.x, "y": marker.y,
        "number": marker.number, "side": marker.side or "", "door": door_label(marker.number, marker.side),
        "label": marker.label or "", "note": marker.note or "", "needs_confirmation": bool(marker.needs_confirmation),
        "carried_from_id": marker.carried_from_id, "updated_at": utc_time(marker.updated_at),
        "photo": photo_json(photo) if photo is not None else None,
    }


def page_json(version: PlanVersion, page: PlanPage, markers: list[Marker] | None = None,
              photos: dict[int, Photo] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": page.id, "number": page.number, "position": page.position, "label": page.label,
        "hidden": page.hidden, "width_pt": page.width_pt, "height_pt": page.height_pt,
        "north_degrees": page.north_degrees,
    }
    if version.has_tiles:
        body.update({
            "width": page.width, "height": page.height, "tile_size": page.tile_size, "min_zoom": 0,
            "max_zoom": page.max_zoom, "format": page.tile_format, "kind": page.kind, "background": page.background,
            "tile_url": tile_url_template(version, page),
            "overview_url": url_for("api.tile_overview" if _for_the_api() else "response.overview",
                                    version_key=version.key, page=page.number),
        })
    if markers is not None:
        body["markers"] = [marker_json(marker, (photos or {}).get(marker.id)) for marker in markers]
    return body


def version_json(version: PlanVersion, *, with_hidden: bool = False) -> dict[str, Any]:
    """A version as the API shows it.  Sheets hidden from officers are left out unless
    ``with_hidden`` (for its own congregation and administrators)."""
    by_page = markers_by_page(version) if version.state == VersionState.READY else {}
    pages = version.pages if with_hidden else version.shown_pages
    photos = photo_service.photos_for_markers(marker for page in pages for marker in by_page.get(page.id, []))
    return {
        "id": version.id,
        "building_id": version.building_id,
        "number": version.number,
        "state": version.state,
        "status": version.status,
        "published": version.building.published_version_id == version.id,
        "filename": version.original_filename,
        "bytes": version.original_bytes,
        "page_count": version.page_count,
        "progress": {
            "percent": version.percent, "pages_done": version.pages_done, "pages_total": version.page_count,
            "pages_stored": len(version.stored_page_numbers),
            "tiles_rendered": version.tiles_rendered, "tiles_stored": version.tiles_done,
            "tiles_total": version.tiles_total,
        },
        "error": version.error or None,
        "created_at": utc_time(version.created_at),
        "finished_at": utc_time(version.finished_at),
        "published_at": utc_time(version.published_at),
        "pages": [page_json(version, page, by_page.get(page.id, []), photos) for page in pages],
    }


def building_record(building: Building) -> dict[str, Any]:
    return {
        **building_summary(building),
        **BUILDING_FIELDS.to_json(building),
        "row_version": building.row_version,
        "updated_at": utc_time(building.updated_at),
        "last_verified_by": building.last_verified_by.email if building.last_verified_by else None,
        "contacts": [contact_json(c) for c in building.contacts],
        "gatherings": [gathering_json(g) for g in building.gatherings],
        "plan": version_json(building.published_version) if building.published_version else None,
    }
