"""Quotas over HTTP: a use over a limit (``floorplans.services.quotas``) is a 429 with the
limit in words and a ``Retry-After`` header, as JSON under /api/ and as a page elsewhere.
(The quota settings are checked with every other setting: floorplans.config.Settings.)"""
from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import current_user

from blueprints.errors import render_error
from floorplans.db import db
from floorplans.services import quotas
from floorplans.services.quotas import QuotaExceeded

bp = Blueprint("limits", __name__)


@bp.app_errorhandler(QuotaExceeded)
def quota_exceeded(error: QuotaExceeded) -> ResponseReturnValue:
    body, status = render_error(429, error.message)
    return body, status, {"Retry-After": str(error.retry_after)}


def count_upload() -> None:
    """Count one upload against the caller's quota (``QuotaExceeded`` past it) and commit
    the count at once: a file refused once checked still counts, and no write lock is held
    while it is checked."""
    quotas.take_upload(current_user)
    db.session.commit()  # counted now: a refused file still counts, and no write lock is held while it is checked
