"""One place that turns errors into pages or JSON: domain errors with their own message,
HTTP errors with a plain one, and anything unexpected as a 500.  An exception that left a
view has already rolled its work back (``floorplans.db.App``)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from floorplans import bounds
from floorplans.auth import is_api_request
from floorplans.config import get_settings
from floorplans.db import db
from floorplans.errors import FloorplansError, InvalidInput

bp = Blueprint("errors", __name__)

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in first.",
    403: "Your account does not have access to this page.",
    404: "There is nothing here. Check the address, or go back to the start page.",
    405: "This page cannot be used that way.",
    409: "Someone else changed this at the same moment. Reload and try again.",
    413: "The file is too large to upload. Plans must be at most {limit} MB; "
    "export the drawing again with fewer or smaller sheets.",
    414: "This address is too long (at most {limit:,} characters). Shorten the search or the link and try again.",
    429: "Too many attempts. Wait a few minutes and try again.",
    500: "Something went wrong on our side and nothing was saved. Try again; "
    "if it happens again, tell the service's administrator.",
}

NUMERIC_OUT_OF_RANGE = "22003"  # PostgreSQL's SQLSTATE for a number past a column's type
BODY_TOO_LARGE = ("The request is too large: anything but a plan upload may send at most {limit} KB. "
                  "Send fewer or shorter fields at a time.")


def render_error(status: int, message: str, fields: dict[str, str] | None = None) -> tuple[Response | str, int]:
    if is_api_request() or request.accept_mimetypes.best == "application/json":
        body: dict[str, object] = {"error": message}
        if fields:
            body["fields"] = fields
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message, fields=fields or {}), status


@bp.app_errorhandler(FloorplansError)
def domain_error(error: FloorplansError) -> ResponseReturnValue:
    fields = error.fields if isinstance(error, InvalidInput) else None
    return render_error(error.status, error.message, fields)


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> ResponseReturnValue:
    return render_error(
        400,
        "This form has expired or did not come from this site. Go back, reload the page and submit it again.",
    )


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    message = MESSAGES.get(status, error.description or "")
    if status == 413 and not bounds.is_upload():
        message = BODY_TOO_LARGE.format(limit=get_settings().body_max_kb)
    elif status == 413:
        message = message.format(limit=get_settings().upload_max_mb)
    elif status == 414:
        message = message.format(limit=get_settings().url_max_chars)
    elif status in (400, 403, 404) and error.description and error.description != type(error).description:
        message = error.description  # a specific message from abort(..., description=...)
    body, code = render_error(status, message)
    if isinstance(error, MethodNotAllowed):
        return body, code, {"Allow": ", ".join(error.valid_methods or [])}
    return body, code


@bp.app_errorhandler(OverflowError)
@bp.app_errorhandler(DataError)
def number_too_large(error: Exception) -> ResponseReturnValue:
    """A number no database column can hold reached SQL (SQLite refuses to bind it, PostgreSQL
    answers "integer out of range", SQLSTATE 22003): it can be no record's id, so the answer
    is the one for any missing record.  Every id a route reads is bounded first
    (floorplans.bounds); this is the net under a route that forgets.  Other data errors stay 500s."""
    if isinstance(error, DataError) and getattr(error.orig, "sqlstate", None) != NUMERIC_OUT_OF_RANGE:
        raise error
    current_app.logger.warning("A number too large for the database reached SQL on %s", request.path)
    return render_error(404, MESSAGES[404])


@bp.app_errorhandler(InternalServerError)
def server_error(error: InternalServerError) -> ResponseReturnValue:
    db.session.rollback()  # a failure outside a view (a hook, the commit) may leave the session needing it
    return render_error(500, MESSAGES[500])
