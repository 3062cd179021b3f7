"""The partner portal: a congregation keeps its buildings' records current.

Admins use the same pages for every building."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("partners", __name__)

from blueprints.partners import buildings, markers, people, photos, plans  # noqa: E402,F401  (routes register on bp)
