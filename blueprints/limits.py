"""Quotas over HTTP: a use over a limit (``floorplans.services.quotas``) is a 429 with the
limit in words and a ``Retry-After`` header, as JSON under /api/ and as a page elsewhere.
(The quota settings are checked with every other setting: floorplans.config.Settings.)"""
from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from blueprints.errors import render_error
from floorplans.services.quotas import QuotaExceeded

bp = Blueprint("limits", __name__)


@bp.app_errorhandler(QuotaExceeded)
def quota_exceeded(error: QuotaExceeded) -> ResponseReturnValue:
    body, status = render_error(429, error.message)
    return body, status, {"Retry-After": str(error.retry_after)}
