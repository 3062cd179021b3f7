"""Health and readiness for load balancers and orchestrators, which cannot sign in.

The one deliberate exception to "nothing anonymous but the login page": these answers name
no host, no version and no error text, only whether each part answers."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from floorplans.auth import permission
from floorplans.health import readiness
from floorplans.permissions import Permission

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@permission(Permission.PUBLIC)
def healthz() -> ResponseReturnValue:
    """The process is up and serving requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
@permission(Permission.PUBLIC)
def readyz() -> ResponseReturnValue:
    """Ready for traffic: the database, the object store and the job queue all answer."""
    checks = readiness()
    ready = all(checks.values())
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {k: "ok" if v else "failing" for k, v in checks.items()},
    }
    return jsonify(body), (200 if ready else 503)
