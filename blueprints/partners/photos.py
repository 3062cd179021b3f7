"""Photos of a building and of its markers: the front, each entrance, the gas shut-off, the
key box, a door. Add, replace, caption and delete them (services.photos); the marker editor
links here for the markers of the version it edits."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.limits import count_upload
from blueprints.partners import bp
from floorplans.auth import permission
from floorplans.errors import InvalidInput
from floorplans.grid import cell_name, plan_grid
from floorplans.marker_kinds import BY_KEY, door_label
from floorplans.models import Building, Marker, PlanVersion, VersionState
from floorplans.permissions import Permission
from floorplans.services import buildings, markers, photos, plans, quotas


def _marker_version(building: Building) -> PlanVersion | None:
    """The version whose markers the page lists: the one asked for (the marker editor's),
    else the published one, else the newest ready draft."""
    asked = request.args.get("version", type=int)
    if asked:
        return plans.version_of(building, asked)
    if building.published_version is not None:
        return building.published_version
    ready = [v for v in building.plan_versions if v.state == VersionState.READY and v.has_tiles]
    return max(ready, key=lambda v: v.number) if ready else None


def marker_words(marker: Marker) -> dict[str, str]:
    """A marker as the photos page and the packet name it: what, which floor, which cell."""
    page = marker.page
    cell = cell_name(plan_grid(page.width, page.height), marker.x * page.width, marker.y * page.height) \
        if page.width and page.height else ""
    kind = BY_KEY.get(marker.kind)
    what = " ".join(part for part in (kind.label if kind else marker.kind, door_label(marker.number, marker.side),
                                      marker.label) if part)
    return {"what": what, "floor": page.label, "cell": cell}


def _page(building: Building, errors: dict[str, str] | None = None, error: str = "",
          status: int = 200, photo_id: int | None = None) -> ResponseReturnValue:
    """The page; after a refusal, what the partner typed comes back in the form they sent
    (``typed``: its subject, marker or photo, and caption; the file must be chosen again)."""
    version = _marker_version(building)
    version_markers = markers.markers_of(version) if version is not None else []
    rows: list[dict[str, Any]] = [
        {"marker": marker, **marker_words(marker)} for marker in version_markers
    ]
    by_marker = photos.photos_for_markers(version_markers)
    all_photos = photos.photos_of(building)
    return render_template(
        "partners/photos.html", building=building, version=version, rows=rows, by_marker=by_marker,
        front=photos.front_photo(building),
        entrances=[p for p in all_photos if p.subject == "entrance"],
        errors=errors or {}, error=error, sizes=photos.SIZES, small=photos.SMALL, large=photos.LARGE,
        typed=_typed(photo_id) if status >= 400 else {},
    ), status


def _typed(photo_id: int | None) -> dict[str, Any]:
    upload = request.files.get("file")
    return {
        "subject": request.form.get("subject", ""), "marker_id": request.form.get("marker_id", type=int),
        "caption": request.form.get("caption", ""), "photo_id": photo_id,
        "filename": upload.filename if upload is not None and upload.filename else "",
    }


@bp.route("/buildings/<int:building_id>/photos", methods=["GET", "POST"], endpoint="photos")
@permission(Permission.EDIT_RECORDS)
def photos_page(building_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    if request.method == "GET":
        return _page(building)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(building, error="Choose the photo (JPEG, PNG or HEIC), then press Add photo.", status=422)
    subject = request.form.get("subject", "")
    try:
        count_upload()
        building = buildings.get_editable(current_user, building_id)
        marker = photos.marker_of(building, request.form.get("marker_id", type=int)) if subject == "marker" else None
        photo = photos.add(current_user, building, upload.stream, subject=subject, marker=marker,
                           caption=request.form.get("caption", ""))
    except quotas.QuotaExceeded as over:
        return _page(buildings.get_editable(current_user, building_id), error=over.message, status=429)
    except photos.PhotoRejected as rejected:
        return _page(buildings.get_editable(current_user, building_id), error=rejected.message, status=422)
    except InvalidInput as invalid:
        return _page(buildings.get_editable(current_user, building_id), errors=invalid.fields,
                     error=invalid.message, status=422)
    flash("The photo is kept: turned upright, with the phone's location and other details removed.", "success")
    return redirect(url_for("partners.photos", building_id=building.id, **_version_arg()) + f"#photo-{photo.id}")


def _version_arg() -> dict[str, Any]:
    """The marker editor's version, kept across the page's forms (None: left out of the URL)."""
    return {"version": request.args.get("version", type=int)}


@bp.route("/buildings/<int:building_id>/photos/<int:photo_id>", methods=["POST"], endpoint="change_photo")
@permission(Permission.EDIT_RECORDS)
def change_photo(building_id: int, photo_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    photo = photos.get_for_edit(current_user, building, photo_id)
    upload = request.files.get("file")
    try:
        if upload is not None and upload.filename:
            count_upload()
            building = buildings.get_editable(current_user, building_id)
            photo = photos.get_for_edit(current_user, building, photo_id)
            photos.replace(current_user, photo, upload.stream)
        if "caption" in request.form:
            photos.set_caption(current_user, photo, request.form.get("caption"))
    except quotas.QuotaExceeded as over:
        return _page(buildings.get_editable(current_user, building_id), error=over.message, status=429,
                     photo_id=photo_id)
    except photos.PhotoRejected as rejected:
        return _page(buildings.get_editable(current_user, building_id), error=rejected.message, status=422,
                     photo_id=photo_id)
    except InvalidInput as invalid:
        return _page(building, errors=invalid.fields, error="The caption " + invalid.fields.get("caption", ""),
                     status=422, photo_id=photo_id)
    flash("Saved.", "success")
    return redirect(url_for("partners.photos", building_id=building.id, **_version_arg()) + f"#photo-{photo.id}")


@bp.route("/buildings/<int:building_id>/photos/<int:photo_id>/delete", methods=["POST"], endpoint="delete_photo")
@permission(Permission.EDIT_RECORDS)
def delete_photo(building_id: int, photo_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    photos.delete(current_user, photos.get_for_edit(current_user, building, photo_id))
    flash("The photo is deleted.", "success")
    return redirect(url_for("partners.photos", building_id=building.id, **_version_arg()))
