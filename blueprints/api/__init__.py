"""JSON API v1 for CAD integrations and scripts: bearer tokens (which count here and nowhere
else), the web's permissions, errors as ``{"error": "..."}``, described by the OpenAPI
document at /api/v1/openapi.json."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)

from blueprints.api import (  # noqa: E402,F401  (routes register on bp)
    buildings,
    exports,
    markers,
    openapi,
    photos,
    plans,
    rooms,
    tiles,
    tokens,
)
