"""Quotas over HTTP: a use over a limit (``floorplans.services.quotas``) is a 429 with the
limit in words and a ``Retry-After`` header, as JSON under /api/ and as a page elsewhere.
Registering this blueprint also checks the quota settings, so a wrong value stops the app
at start instead of running without a limit."""
from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from blueprints.errors import render_error
from floorplans.services.quotas import QuotaExceeded, check_settings

bp = Blueprint("limits", __name__)


@bp.record_once
def _check_settings(state: BlueprintSetupState) -> None:
    try:
        check_settings(state.app.config)
    except ValueError as error:
        raise RuntimeError(f"A quota setting is wrong: {error}") from error


@bp.app_errorhandler(QuotaExceeded)
def quota_exceeded(error: QuotaExceeded) -> ResponseReturnValue:
    body, status = render_error(429, error.message)  # type: ignore[misc]
    return body, status, {"Retry-After": str(error.retry_after)}
