"""The admin's bulk import of buildings and partners from CSV: upload, a preview of what
will be created, updated, left unchanged or rejected (line by line), then confirm.

Routes on the admin blueprint (imported at the end of blueprints/admin.py).  The preview
is the import itself, rolled back, so it cannot promise what the import will not do; the
file waits in the object store between the two (``services.imports.stage``).  A couple of
thousand lines take a few seconds (docs/benchmarks.md), so both steps run in the request.
"""
from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.admin import bp
from floorplans.auth import permission
from floorplans.db import after_commit, db
from floorplans.errors import InvalidInput
from floorplans.permissions import Permission
from floorplans.services import imports


@bp.route("/import", methods=["GET", "POST"])
@permission(Permission.ADMIN)
def import_upload() -> ResponseReturnValue:
    """GET: the upload form.  POST: the preview of the uploaded file, nothing changed."""
    if request.method == "GET":
        return render_template("admin/import.html", error=None, columns=imports.COLUMNS)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused("Choose the CSV file of the buildings, then press Preview.")
    data = upload.stream.read(imports.MAX_BYTES + 1)
    filename = upload.filename[:200]
    # The preview is the real import undone (a savepoint rolled back): what it shows is what
    # Confirm will do.
    preview = db.session.begin_nested()
    try:
        report = imports.import_buildings(data, filename=filename, by=current_user)
    except InvalidInput as exc:
        return _refused(f"{filename} {exc.fields.get('file', exc.message)}")
    finally:
        preview.rollback()
    token = imports.stage(data)
    return render_template("admin/import_report.html", report=report, token=token, done=False)


@bp.route("/import/confirm", methods=["POST"])
@permission(Permission.ADMIN)
def import_confirm() -> ResponseReturnValue:
    token = request.form.get("token", "")
    data = imports.staged(token)  # NotFound: imported already, or never uploaded
    report = imports.import_buildings(data, filename=request.form.get("filename", "")[:200], by=current_user)
    after_commit(lambda: imports.discard(token))  # kept until the import is committed
    invited: list[str] = []
    if request.form.get("invite") and report.new_partners:
        # In the import's unit of work; the mail itself must wait for the commit
        # (floorplans.db.after_commit), or an invitation could name an account never saved.
        invited = imports.invite_new_partners(report.new_partners, by=current_user)
    return render_template("admin/import_report.html", report=report, token=None, done=True,
                           invite=bool(request.form.get("invite")), invited=invited)


def _refused(message: str) -> ResponseReturnValue:
    return render_template("admin/import.html", error=message, columns=imports.COLUMNS), 422
