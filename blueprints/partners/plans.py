"""Uploading plans, following their rendering, labelling pages, and choosing what is published."""
from __future__ import annotations

from flask import flash, jsonify, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.partners import bp
from floorplans import jobs
from floorplans.auth import permission
from floorplans.db import db
from floorplans.errors import InvalidInput
from floorplans.permissions import Permission
from floorplans.representations import version_json
from floorplans.services import access, buildings, plans


@bp.route("/buildings/<int:building_id>/plans", methods=["GET", "POST"], endpoint="plans")
@permission(Permission.EDIT_RECORDS)
def plans_page(building_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Choose the PDF file of your plans, then press Upload."
        else:
            try:
                version = plans.upload_plan(building, upload.stream, upload.filename, by=current_user)
            except plans.PlanRejected as rejected:
                db.session.rollback()
                error = rejected.message
            else:
                db.session.commit()
                jobs.queue_render(version.id)
                flash("Your plans are uploaded and are being prepared. Officers keep seeing the current "
                      "plans until the new ones are ready.", "success")
                return redirect(url_for("partners.plan_version", building_id=building.id, version_id=version.id))
        building = buildings.get_editable(current_user, building_id)
    return render_template("partners/plans.html", building=building, error=error), (422 if error else 200)


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>")
@permission(Permission.EDIT_RECORDS)
def plan_version(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    if access.record_access(current_user, building, "view_plan", channel="web", ip_address=request.remote_addr or "",
                            detail=f"version {version.number}"):
        db.session.commit()  # an administrator's read of a congregation's plan
    return render_template("partners/plan_version.html", building=building, version=version, errors={},
                           stored=plans.stored_pages(version))


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/progress")
@permission(Permission.EDIT_RECORDS)
def plan_progress(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    return jsonify({**version_json(version), "stored_pages": plans.stored_pages(version)})


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/pages/<int:page>/preview.webp")
@permission(Permission.EDIT_RECORDS)
def page_preview(building_id: int, version_id: int, page: int) -> ResponseReturnValue:
    """A page's preview while the rest of its version is still being prepared."""
    building = buildings.get_editable(current_user, building_id)
    response = make_response(plans.stored_page_preview(plans.version_of(building, version_id), page))
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
    try:
        plans.update_pages(version, labels, order, north)
    except InvalidInput as exc:
        db.session.rollback()
        version = plans.version_of(buildings.get_editable(current_user, building_id), version_id)
        return render_template(
            "partners/plan_version.html", building=version.building, version=version, errors=exc.fields,
            stored=plans.stored_pages(version),
        ), 422
    db.session.commit()
    flash("Page names, order and north are saved.", "success")
    return redirect(url_for("partners.plan_version", building_id=building.id, version_id=version.id))


@bp.route("/buildings/<int:building_id>/plans/<int:version_id>/publish", methods=["POST"])
@permission(Permission.EDIT_RECORDS)
def publish_plan(building_id: int, version_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    version = plans.version_of(building, version_id)
    plans.publish(version)
    db.session.commit()
    flash(f"Version {version.number} is now the plan officers see.", "success")
    return redirect(url_for("partners.plans", building_id=building.id))
