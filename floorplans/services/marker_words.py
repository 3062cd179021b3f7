"""Markers' changes in words: "Exterior door 2 (side B) placed on Ground floor at C4",
"moved on Ground floor from C4 to D4".  A marker's place is said as the grid cell an officer
would say on the radio (``floorplans.grid``, from the page-relative x and y and the sheet's
size in the version it was on), and its sheet by name, or as gone when that version or
sheet is no longer in the plan.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from floorplans.db import db
from floorplans.grid import cell_name, plan_grid
from floorplans.marker_kinds import BY_KEY
from floorplans.models import AuditEvent, Marker, PlanPage, PlanVersion
from floorplans.services.carried_markers import label_key
from floorplans.services.review_words import (
    Change,
    change,
    detail_of,
    field_changes,
    generic_change,
    humanise,
    mapping,
    pairs,
    plural,
    quoted,
    value_words,
)

GONE = "a floor no longer in the plan"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class MarkerWords:
    """Markers' changes in words, with what they need from the building's plans, read once
    per page of changes: each
    version's sheets by name (for the grid cell of a point) and where each marker was
    after each of its events (an event keeps only what changed: a move along x says
    nothing of y)."""

    def __init__(self, building_id: int, events: Sequence[AuditEvent]) -> None:
        self.sheets: dict[tuple[int, str], tuple[float, float]] = {}
        rows = db.session.execute(
            select(PlanVersion.number, PlanPage.label, PlanPage.width, PlanPage.height, PlanPage.width_pt,
                   PlanPage.height_pt)
            .join(PlanPage, PlanPage.version_id == PlanVersion.id).where(PlanVersion.building_id == building_id)
        )  # fmt: skip
        for number, label, width, height, width_pt, height_pt in rows:
            size = (width, height) if width and height else (width_pt, height_pt)
            self.sheets.setdefault((number, label_key(label)), size)
        ids = {e.target_id for e in events if e.action.startswith("marker.") and e.target_type == "marker"}
        self.after = self._states_after(building_id, {i for i in ids if i is not None})

    @staticmethod
    def _states_after(building_id: int, marker_ids: set[int]) -> dict[int, dict[str, Any]]:
        """Event id -> the marker just after it, worked back from the marker as it is now
        (or as its deletion recorded it) through the changes each event logged."""
        if not marker_ids:
            return {}
        state: dict[int, dict[str, Any]] = {
            m.id: {"kind": m.kind, "number": m.number, "side": m.side, "label": m.label, "x": m.x, "y": m.y,
                   "page": m.page.label, "version": m.page.version.number, "since": m.created_at}
            for m in db.session.scalars(select(Marker).where(Marker.id.in_(marker_ids)))
        }  # fmt: skip
        after: dict[int, dict[str, Any]] = {}
        history = db.session.scalars(
            select(AuditEvent).where(AuditEvent.building_id == building_id, AuditEvent.target_type == "marker",
                                     AuditEvent.target_id.in_(marker_ids)).order_by(AuditEvent.id.desc())
        )  # fmt: skip
        for event in history:
            if event.target_id is None:  # never: the query asks for these markers' ids
                continue
            detail = detail_of(event)
            current = state.get(event.target_id)
            if (event.action == "marker.delete" or current is None or event.at < current.get("since", event.at)
                    or current.get("version", detail.get("version")) != detail.get("version")):
                # Gone (deleted, or with its plan version), or its id now belongs to a newer
                # marker (SQLite hands a deleted row's id out again): the event's own detail
                # says what the marker was.
                news = {name: new for name, (_old, new) in pairs(detail).items()}
                where = {"page": detail.get("page"), "version": detail.get("version")}
                current = state[event.target_id] = {**mapping(detail.get("values")), **news, **where}
            after[event.id] = {name: value for name, value in current.items() if name != "since"}
            for name, (old, _new) in pairs(detail).items():
                current[name] = old
        return after

    def where(self, version: Any, sheet: Any, x: Any, y: Any) -> tuple[str, str]:
        """(the sheet's name, or that it is gone from the plan; the grid cell, or "")."""
        size = self.sheets.get((version, label_key(str(sheet)))) if isinstance(version, int) and sheet else None
        if size is None:
            return GONE, ""
        px, py = _number(x), _number(y)
        if px is None or py is None or not size[0] or not size[1]:
            return str(sheet), ""
        width, height = max(1, round(size[0])), max(1, round(size[1]))
        return str(sheet), cell_name(plan_grid(width, height), px * width, py * height)

    def spot(self, version: Any, sheet: Any, x: Any, y: Any) -> str:
        """"Ground floor at C4"."""
        name, cell = self.where(version, sheet, x, y)
        return f"{name} at {cell}" if cell else name

    def marker_change(self, event: AuditEvent, verb: str, detail: dict[str, Any]) -> Change:
        version = detail.get("version", detail.get("to"))
        key, record = f"markers-{version}", f"Markers on plan version {version}" if version is not None else "Markers"
        if event.target_type != "marker":  # about a whole version: confirm all, carry over
            if verb == "confirm":
                count = detail.get("count", "?")
                return change(event, key, record, f"confirmed {plural(count, 'carried-over marker')}")
            if verb == "carry":
                notes = [f"not carried: no sheet named “{name}”" for name in detail.get("pages_without_match") or []]
                carried = plural(detail.get("carried", "?"), "marker")
                return change(event, key, record, f"{carried} carried over from version {detail.get('from', '?')} "
                               f"to version {version}", notes=notes)  # fmt: skip
            return generic_change(event, "marker", verb, detail)
        changes = pairs(detail)
        now = {**mapping(detail.get("values")), **{k: new for k, (_old, new) in changes.items()}}
        now.update(self.after.get(event.id, {}))
        now.setdefault("page", detail.get("page"))
        now.setdefault("kind", detail.get("kind"))
        then = {**now, **{k: v[0] for k, v in changes.items()}}
        here = self.spot(version, now.get("page"), now.get("x"), now.get("y"))
        if verb == "place":
            return change(event, key, record, f"{marker_name(now)} placed on {here}",
                           field_changes("marker", _not_in_name(now), one_value=True))
        if verb == "delete":
            return change(event, key, record, f"{marker_name(now)} removed from {here}")
        if verb == "confirm":
            return change(event, key, record, f"{marker_name(now)} confirmed where it was carried over, on {here}")
        moved = self._moved(version, then, now) if changes.keys() & {"x", "y", "page"} else ""
        if verb == "move":
            return change(event, key, record, f"{marker_name(now)} {moved or 'moved'}")
        if verb != "update":
            return generic_change(event, "marker", verb, detail)
        headline = f"{marker_name(then)} on {self.spot(version, then.get('page'), then.get('x'), then.get('y'))} " \
                   f"changed" + (f", and {moved}" if moved else "")
        return change(event, key, record, headline, field_changes("marker", changes))

    def _moved(self, version: Any, then: Mapping[str, Any], now: Mapping[str, Any]) -> str:
        """"moved on Ground floor from C4 to D4", or from one sheet to another."""
        (old_sheet, old_cell), (sheet, cell) = (
            self.where(version, state.get("page"), state.get("x"), state.get("y")) for state in (then, now)
        )
        if old_sheet == sheet == GONE:
            return f"moved on {GONE}"
        if old_sheet == sheet and old_cell and cell:
            return f"moved on {sheet} " + (f"within {cell}" if old_cell == cell else f"from {old_cell} to {cell}")
        return f"moved from {self.spot(version, then.get('page'), then.get('x'), then.get('y'))} " \
               f"to {self.spot(version, now.get('page'), now.get('x'), now.get('y'))}"


def _not_in_name(values: dict[str, Any]) -> dict[str, Any]:
    # The headline names the kind, number, side, label and where it is already.
    named = ("kind", "number", "side", "label", "version", "page", "x", "y")
    return {k: v for k, v in values.items() if k not in named and v not in (None, "")}


def marker_name(values: Mapping[str, Any]) -> str:
    """"Exterior door 2 (side B)", "AED (defibrillator) “By the office”"."""
    key = values.get("kind")
    kind = BY_KEY.get(key) if isinstance(key, str) else None
    name = kind.label if kind else (humanise(key) if key else "Marker")
    if values.get("number") not in (None, ""):
        name += f" {value_words(values['number'])}"
    if values.get("side"):
        name += f" (side {value_words(values['side'])})"
    return name + quoted(values.get("label"))
