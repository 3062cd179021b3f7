"""Markers that follow a plan to its next version: when a version is rendered, the markers
of the published plan are copied onto its shown sheets of the same name, flagged
(``needs_confirmation``) for the partner to check before publishing; renaming, showing or
hiding a draft's sheet carries again; the review page says which will not come along.
Exercise drawings follow a new plan by the same names (``services.exercise_items``).

Must not import blueprints, storage or converters (nor ``services.plans``, which calls it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from floorplans.db import db
from floorplans.models import Marker, PlanPage, PlanVersion
from floorplans.services import audit
from floorplans.services.markers import markers_by_page, markers_of


def label_key(label: str) -> str:
    """Page labels match whatever the case and spacing: "Ground  Floor" is "ground floor"."""
    return " ".join(label.casefold().split())


def pages_by_label(version: PlanVersion) -> dict[str, PlanPage]:
    """``version``'s shown pages by ``label_key``, for what follows a page to a new version
    (markers here, exercise drawings): of two same-named pages the first in the partner's
    order wins.  Hidden sheets take nothing: what lands there nobody would see or check."""
    pages: dict[str, PlanPage] = {}
    for page in version.shown_pages:
        pages.setdefault(label_key(page.label), page)
    return pages


@dataclass
class CarryReport:
    carried: int = 0
    not_carried: int = 0
    pages_without_match: list[str] = field(default_factory=list)


def carry_over(previous: PlanVersion | None, new: PlanVersion) -> CarryReport | None:
    """Copy the markers of ``previous`` (the version being replaced) onto the pages of ``new``
    with the same label, at the same page-relative place, flagged for the partner to check.
    Nothing happens when ``new`` already has markers: republishing an earlier version brings
    back its own.  Pages whose label ``new`` lacks are not carried (counted in the audit)."""
    if previous is None or previous.id == new.id:
        return None
    old = markers_of(previous)
    if not old or markers_of(new):
        return None
    targets = pages_by_label(new)
    report = CarryReport()
    for marker in old:
        target = targets.get(label_key(marker.page.label))
        if target is None:
            report.not_carried += 1
            if marker.page.label not in report.pages_without_match:
                report.pages_without_match.append(marker.page.label)
            continue
        db.session.add(Marker(
            building_id=marker.building_id, page=target, kind=marker.kind, x=marker.x, y=marker.y,
            number=marker.number, side=marker.side, label=marker.label, note=marker.note,
            needs_confirmation=True, carried_from_id=marker.id, created_by_id=marker.created_by_id,
        ))
        report.carried += 1
    db.session.flush()
    audit.record("marker.carry", building=new.building, target=new, detail={
        "from": previous.number, "to": new.number, "carried": report.carried,
        "not_carried": report.not_carried, "pages_without_match": report.pages_without_match,
    })  # fmt: skip
    return report


def carry_onto_renamed(previous: PlanVersion | None, draft: PlanVersion, renamed: list[PlanPage]) -> int:
    """A draft's sheets renamed (or shown, or hidden) by its partner take the markers of the
    published floor of their new name: each such sheet's carried markers not yet checked are dropped, then
    the markers of ``previous``'s page of the new name (not already carried elsewhere on the
    draft) are carried onto it, flagged.  Markers the partner placed, confirmed or moved
    stay.  Returns how many were carried."""
    if previous is None or previous.id == draft.id or not renamed:
        return 0
    renamed_ids = [page.id for page in renamed]
    dropped = db.session.scalars(
        select(Marker).where(Marker.page_id.in_(renamed_ids), Marker.needs_confirmation.is_(True),
                             Marker.carried_from_id.is_not(None))
    ).all()
    for marker in dropped:
        db.session.delete(marker)
    db.session.flush()
    already = {marker.carried_from_id for marker in markers_of(draft) if marker.carried_from_id}
    sources = pages_by_label(previous)
    by_page = markers_by_page(previous)
    carried = 0
    for page in renamed:
        if page.hidden:
            continue  # its unchecked markers went with the rest; nothing lands on a hidden sheet
        source = sources.get(label_key(page.label))
        for marker in by_page.get(source.id, []) if source is not None else []:
            if marker.id in already:
                continue
            db.session.add(Marker(
                building_id=marker.building_id, page=page, kind=marker.kind, x=marker.x, y=marker.y,
                number=marker.number, side=marker.side, label=marker.label, note=marker.note,
                needs_confirmation=True, carried_from_id=marker.id, created_by_id=marker.created_by_id,
            ))
            already.add(marker.id)
            carried += 1
    db.session.flush()
    if dropped or carried:
        audit.record("marker.carry", building=draft.building, target=draft, detail={
            "from": previous.number, "to": draft.number, "carried": carried, "dropped_unchecked": len(dropped),
            "pages": [page.label for page in renamed],
        })  # fmt: skip
    return carried


def left_behind(previous: PlanVersion | None, draft: PlanVersion) -> dict[str, int]:
    """The published plan's markers that will not be on ``draft`` (no shown sheet of their
    floor's name to carry them onto), counted by floor: the review page says so, since
    publishing the draft takes them out of the car."""
    if previous is None or previous.id == draft.id:
        return {}
    carried = {marker.carried_from_id for marker in markers_of(draft) if marker.carried_from_id}
    targets = pages_by_label(draft)
    missing: dict[str, int] = {}
    for marker in markers_of(previous):
        if marker.id not in carried and label_key(marker.page.label) not in targets:
            missing[marker.page.label] = missing.get(marker.page.label, 0) + 1
    return missing
