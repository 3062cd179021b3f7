"""Tabletop exercises for emergency planners: the exercises a planner takes part in, who
takes part and over which buildings (``exercises``), and the drawing page with its JSON
endpoints for the scratch layer over each building's plan (``layer``).

Nothing here writes a building's real record: floorplans.services.exercises changes only
the exercise tables."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("planning", __name__)

from blueprints.planning import exercises, layer  # noqa: E402,F401  (routes register on bp)
