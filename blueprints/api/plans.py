"""Plans through the API: upload a PDF or a photo of a plan (JPEG, PNG, HEIC: it becomes a
one-page PDF) (202, rendered in the background into a draft),
follow it, publish it once reviewed, delete a draft or a failed upload."""
from __future__ import annotations

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.api import bp
from blueprints.api.bodies import uploaded_file
from blueprints.limits import count_upload
from blueprints.reads import log_read
from floorplans import jobs
from floorplans.auth import permission
from floorplans.permissions import Permission, can_edit
from floorplans.representations import version_json
from floorplans.services import buildings, plans


@bp.post("/buildings/<int:building_id>/plans")
@permission(Permission.EDIT_RECORDS)
def upload_plan(building_id: int) -> ResponseReturnValue:
    building = buildings.get_editable(current_user, building_id)
    upload = uploaded_file(plans.PlanRejected(
        "Send the PDF (or a JPEG, PNG or HEIC photo of the plan) as multipart/form-data in a field named 'file'."
    ))
    count_upload()
    version = plans.upload_plan(building, upload.stream, upload.filename or "plan.pdf", by=current_user)
    jobs.queue_render(version.id)  # once the request has committed the version
    response = jsonify(version_json(version))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_plan", version_id=version.id)
    return response


@bp.get("/plans/<int:version_id>")
@permission(Permission.READ_RECORDS)
def get_plan(version_id: int) -> ResponseReturnValue:
    version = plans.get_version(current_user, version_id)
    log_read(version.building, "view_plan", f"version {version.number}")
    return jsonify(version_json(version, with_hidden=can_edit(current_user, version.building)))


@bp.post("/plans/<int:version_id>/publish")
@permission(Permission.EDIT_RECORDS)
def publish_plan(version_id: int) -> ResponseReturnValue:
    """The partner (or an administrator) has reviewed the draft: officers see it from now.
    409 with the reasons while carried-over markers are unchecked or floor names clash."""
    version = plans.get_version(current_user, version_id, edit=True)
    plans.publish(version, by=current_user)
    return jsonify(version_json(version, with_hidden=True))


@bp.delete("/plans/<int:version_id>")
@permission(Permission.EDIT_RECORDS)
def delete_plan(version_id: int) -> ResponseReturnValue:
    """A draft or a failed upload, with its tiles; 409 for a version officers have seen."""
    plans.delete_version(plans.get_version(current_user, version_id, edit=True), by=current_user)
    return "", 204
