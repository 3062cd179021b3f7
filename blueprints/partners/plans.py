"""Uploading plans, following their rendering, reviewing a draft (names, order, hidden
sheets, carried-over markers) and publishing it, deleting drafts and failed uploads."""
from __future__ import annotations

from flask import flash, jsonify, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.forms import attempt
from blueprints.limits import count_upload
from blueprints.partners import bp
from blueprints.reads import log_read
from floorplans import jobs
from floorplans.auth import permission
from floorplans.db import db
from floorplans.errors import Conflict
from floorplans.grid import cell_name, plan_grid
from floorplans.marker_kinds import BY_KEY, door_label
from floorplans.models import PlanVersion
from floorplans.permissions import Permission
from floorplans.representations import version_json
from floorplans.services import buildings, carried_markers, markers, plan_tiles, plans, quotas


@bp.route("/buildings/<int:building_id>/plans", methods=["GET", "POST"], endpoint="plans")
@permission(Permission.EDIT_RECORDS)
def plans_page(building_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    error = None
    refused: quotas.QuotaExceeded | None = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Choose the PDF of your plans (or a photo of the plan), then press Upload."
        else:
            try:
                count_upload()
                version = plans.upload_plan(building, upload.stream, upload.filename, by=current_user)
            except quotas.QuotaExceeded as over:
                error, refused = over.message, over
            except plans.PlanRejected as rejected:  # refused before anything was written
                error = rejected.message
            else:
                jobs.queue_render(version.id)  # once the request has committed the version
                flash("Your plans are uploaded and are being prepared. When they are ready, check each sheet "
                      "here and publish them; officers keep seeing the current plans until then.", "success")
                return redirect(url_for("partners.plan_version", building_id=building.id, version_id=version.id))
        building = buildings.get_editable(current_user, building_id)
    page = render_template("partners/plans.html", building=building, error=error)
    if refused is not None:  # over the quota: the same page, saying when to try again
        return page, 429, {"Retry-After": str(refused.retry_after)}
    return page, (422 if error else 200)


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>")
@permission(Permission.EDIT_RECORDS)
def plan_version(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    log_read(building, "view_plan", f"version {version.number}")  # an administrator's read of a congregation's plan
    return _version_page(version, errors={})


def _version_page(version: PlanVersion, errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    """The version page: progress while it renders, only the error when it failed, and
    otherwise its sheets to name, order and hide, the markers to check, and publishing."""
    review = version.has_tiles
    return render_template(
        "partners/plan_version.html", building=version.building, version=version, errors=errors,
        stored=version.stored_page_numbers,
        reasons=plans.reasons_not_to_publish(version) if review else [],
        duplicates=plans.duplicate_names(version) if review else {},
        to_check=_markers_to_check(version) if review else [],
        left_behind=(carried_markers.left_behind(version.building.published_version, version)
                     if version.is_draft else {}),
    ), status


def _markers_to_check(version: PlanVersion) -> list[dict[str, str]]:
    """The carried-over markers not checked yet, where they are: floor and grid cell."""
    rows = []
    for marker in markers.flagged_markers(version):
        page = marker.page
        cell = cell_name(plan_grid(page.width, page.height), marker.x * page.width, marker.y * page.height) \
            if page.width and page.height else ""
        rows.append({
            "what": " ".join(part for part in (BY_KEY[marker.kind].label if marker.kind in BY_KEY else marker.kind,
                                               door_label(marker.number, marker.side), marker.label) if part),
            "floor": page.label, "cell": cell, "hidden": "yes" if page.hidden else "",
            "floor_index": str(page.position),
        })
    return rows


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/progress")
@permission(Permission.EDIT_RECORDS)
def plan_progress(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    return jsonify({**version_json(version), "stored_pages": version.stored_page_numbers})


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/pages/<int:page>/preview.webp")
@permission(Permission.EDIT_RECORDS)
def page_preview(building_id: int, version_id: int, page: int) -> ResponseReturnValue:
    """A page's preview while the rest of its version is still being prepared."""
    building = buildings.get_editable(current_user, building_id)
    response = make_response(plan_tiles.stored_page_preview(plans.version_of(building, version_id), page))
    response.mimetype = "image/webp"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/pages", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def plan_pages(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    labels = {page.id: request.form.get(f"label-{page.id}", "") for page in version.pages}
    positions = {page.id: request.form.get(f"position-{page.id}", type=int) or 0 for page in version.pages}
    order = sorted(positions, key=lambda page_id: (positions[page_id], page_id))
    north = {page.id: request.form[f"north-{page.id}"] for page in version.pages if f"north-{page.id}" in request.form}
    # A ticked box is a sheet shown to officers; the form lists every sheet it offers.
    offered = {page.id for page in version.pages if f"offered-{page.id}" in request.form}
    hidden = {page_id: f"shown-{page_id}" not in request.form for page_id in offered}
    _, errors = attempt(lambda: plans.update_pages(version, labels, order, north, hidden))
    if errors:
        version = plans.version_of(buildings.get_editable(current_user, building_id), version_id)
        return _version_page(version, errors=errors, status=422)
    flash("Sheet names, order, north and what officers see are saved.", "success")
    return redirect(url_for("partners.plan_version", building_id=building.id, version_id=version.id))


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/publish", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def publish_plan(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    try:
        with db.session.begin_nested():
            plans.publish(version, by=current_user)
    except Conflict as refused:
        flash(refused.message, "error")
        return redirect(url_for("partners.plan_version", building_id=building.id, version_id=version_id))
    flash(f"Version {version.number} is now the plan officers see.", "success")
    return redirect(url_for("partners.plans", building_id=building.id))


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/delete", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def delete_plan(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    number = version.number
    try:
        with db.session.begin_nested():
            plans.delete_version(version, by=current_user)  # its stored files go once this is committed
    except Conflict as refused:
        flash(refused.message, "error")
        return redirect(url_for("partners.plan_version", building_id=building.id, version_id=version_id))
    flash(f"Version {number} is deleted, with its sheets and markers.", "success")
    return redirect(url_for("partners.plans", building_id=building.id))
