"""The admin's bulk import of buildings and partners from CSV: upload, a preview of what
will be created, updated, left unchanged or rejected (line by line), then confirm.

Routes on the admin blueprint (imported at the end of blueprints/admin.py).  The preview
is the import itself, rolled back, so it cannot promise what the import will not do.  Both
run as a job (a couple of thousand lines take from seconds to tens of seconds on a busy
machine: docs/benchmarks.md) whose progress the page polls (static/js/progress.js);
the file and the job's state wait in the object store (``services.imports``).
"""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.admin import bp
from floorplans import jobs
from floorplans.auth import permission
from floorplans.errors import Conflict, InvalidInput
from floorplans.permissions import Permission
from floorplans.services import imports


@bp.route("/import", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def import_upload() -> ResponseReturnValue:
    """GET: the upload form.  POST: the file is kept and its preview queued."""
    if request.method == "GET":
        return render_template("admin/import.html", error=None, columns=imports.COLUMNS)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused("Choose the CSV file of the buildings, then press Preview.")
    data = upload.stream.read(imports.MAX_BYTES + 1)
    filename = upload.filename[:200]
    try:
        imports.check_readable(data)  # a file the job would refuse is refused on the form
    except InvalidInput as exc:
        return _refused(f"{filename} {exc.fields.get('file', exc.message)}")
    token = imports.stage(data, filename)
    jobs.queue_import(token, by_id=current_user.id)
    return redirect(url_for("admin.import_status", token=token))


@bp.route("/import/<token>")
@permission(Permission.ADMIN)
def import_status(token: str) -> ResponseReturnValue:
    """The job's progress while it runs; its preview or its result once done."""
    state = imports.read_state(token)
    return render_template("admin/import_report.html", state=state, token=token)


@bp.route("/import/<token>/progress")
@permission(Permission.ADMIN)
def import_progress(token: str) -> ResponseReturnValue:
    state = imports.read_state(token)
    return jsonify({key: state.get(key) for key in ("kind", "state", "done", "total")})


@bp.route("/import/<token>/confirm", methods=["POST"])
@permission(Permission.ADMIN)
def import_confirm(token: str) -> ResponseReturnValue:
    try:
        imports.confirm(token)
    except Conflict as exc:  # confirmed twice (another tab, a double click)
        flash(exc.message, "info")
    else:
        jobs.queue_import(token, by_id=current_user.id, invite=bool(request.form.get("invite")))
    return redirect(url_for("admin.import_status", token=token))


def _refused(message: str) -> ResponseReturnValue:
    return render_template("admin/import.html", error=message, columns=imports.COLUMNS), 422
