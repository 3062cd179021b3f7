"""Plan versions: upload and validate, name, order and hide sheets, review and publish,
delete drafts and failed uploads.

A rendered version is a draft (``PlanVersion.is_draft``) until its partner or an
administrator publishes it; officers see only published versions (``shown_to_officers``),
and only their shown sheets.  The rendering itself is in ``services.rendering`` (run by the
job worker); reading tiles and previews in ``services.plan_tiles``.  Must not import
blueprints.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy import func, select, update

import converters
from converters import image_isolation, images
from converters.errors import ImageRejected
from floorplans import objects
from floorplans.config import get_settings
from floorplans.db import after_commit, db, rowcount, utcnow
from floorplans.errors import Conflict, FloorplansError, InvalidInput, NotFound
from floorplans.models import Building, PlanPage, PlanVersion, User, VersionState
from floorplans.permissions import can_edit, can_see_version, is_own_building
from floorplans.services import audit, carried_markers, exercise_items, markers, plan_tiles
from floorplans.uploads import MB, spool


class PlanRejected(FloorplansError):
    """The uploaded file is not a plan we can use; the message says why and what to do."""

    status = 422


def upload_limits() -> converters.UploadLimits:
    settings = get_settings()
    return converters.UploadLimits(
        max_bytes=settings.upload_max_mb * MB,
        max_pages=settings.upload_max_pages,
        max_page_pixels=settings.page_max_pixels,
    )


def work_folder() -> Path:
    folder = Path(current_app.instance_path) / "work"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _image_as_pdf(path: Path, limits: converters.UploadLimits) -> tuple[Path, str, int, str]:
    """A photo or scan of a plan (JPEG, PNG, HEIC, recognised by its bytes) as a one-page PDF
    beside it: upright, sized from its pixels and resolution, without the photo's metadata
    (converters.images, in a child process). Returns the PDF's path, sha256, size and the
    picture's kind."""
    pdf = path.with_suffix(".image.pdf")
    try:
        made = image_isolation.image_pdf_isolated(
            path, pdf, images.ImageLimits(max_bytes=limits.max_bytes)
        )
    except ImageRejected as rejected:
        pdf.unlink(missing_ok=True)
        raise PlanRejected(rejected.message) from None
    data = pdf.read_bytes()
    return pdf, hashlib.sha256(data).hexdigest(), len(data), made.kind


def upload_plan(building: Building, stream: IO[bytes], filename: str, *, by: User | None) -> PlanVersion:
    """Validate an upload and record it as a new queued version.  Nothing about the published
    plan changes.  A refused file (``PlanRejected``) is refused before anything is written.
    The caller queues the rendering (``jobs.queue_render``: it starts once this is committed).

    A photo or scan of the plan (JPEG, PNG or HEIC, whatever its name) becomes a one-page PDF
    first, which is then checked, kept as the version's original and rendered like any
    scanned PDF."""
    limits = upload_limits()
    too_large = PlanRejected(
        f"The file is larger than {limits.max_bytes // MB} MB. Export the drawing again "
        "with fewer sheets or lower image quality, or split it into several uploads."
    )
    path, sha256, size = spool(stream, work_folder(), max_bytes=limits.max_bytes, too_large=too_large,
                               prefix="upload-", suffix=".pdf")
    made_pdf: Path | None = None
    from_image: str | None = None
    try:
        if size == 0:
            raise PlanRejected("The file is empty. Choose the PDF of your floor plan and upload it again.")
        with path.open("rb") as head:
            if images.sniff(head.read(16)) is not None:
                made_pdf, sha256, size, from_image = _image_as_pdf(path, limits)
        try:
            summary = converters.validate_pdf_isolated(made_pdf or path, limits)
        except converters.PdfRejected as rejected:
            raise PlanRejected(str(rejected)) from None
        store = objects.get_storage()
        key = objects.original_key(sha256)
        if not store.exists(key):
            store.put_file(key, made_pdf or path, content_type="application/pdf")
    finally:
        path.unlink(missing_ok=True)
        if made_pdf is not None:
            made_pdf.unlink(missing_ok=True)

    number = (db.session.scalar(
        select(func.max(PlanVersion.number)).where(PlanVersion.building_id == building.id)
    ) or 0) + 1
    version = PlanVersion(
        building=building,
        number=number,
        state=VersionState.QUEUED.value,
        original_sha256=sha256,
        original_filename=Path(filename or "plan.pdf").name[:255],
        original_bytes=size,
        page_count=summary.page_count,
        uploaded_by=by,
    )
    db.session.add(version)
    for page in summary.pages:
        # Each sheet is named from its own title, never from the page at the same position in
        # the last upload (a new set's sheet 2 is seldom the old one's).  Sheets that are not a
        # floor plan (cover, elevations, details) are proposed hidden; the partner decides.
        version.pages.append(PlanPage(
            number=page.number,
            position=page.number,
            label=page.suggested_label or f"Sheet {page.number}",
            hidden=page.suggested_kind == "sheet",
            width_pt=page.width_pt,
            height_pt=page.height_pt,
        ))
    db.session.flush()
    audit.record("plan.upload", actor=by, building=building, target=version, detail={
        "number": number, "file": version.original_filename, "bytes": size, "sha256": sha256,
        "pages": summary.page_count, **({"from_image": from_image} if from_image else {}),
    })  # fmt: skip
    return version


def get_version(user: User, version_id: int, *, edit: bool = False) -> PlanVersion:
    """A version ``user`` may see: its congregation and administrators see every version
    (``edit``: and may change it); everyone else only versions shown to officers."""
    version = db.session.get(PlanVersion, version_id)
    if version is None or not can_see_version(user, version) or (edit and not can_edit(user, version.building)):
        raise NotFound("There is no such plan version, or it is not yours to see.")
    return version


def version_of(building: Building, version_id: int) -> PlanVersion:
    version = db.session.get(PlanVersion, version_id)
    if version is None or version.building_id != building.id:
        raise NotFound("This building has no such plan version.")
    return version


def update_pages(
    version: PlanVersion, labels: Mapping[int, str], order: Sequence[int], north: Mapping[int, str] | None = None,
    hidden: Mapping[int, bool] | None = None,
) -> None:
    """Set each page's label (page id -> text), the order officers see (page ids), when
    given its north (page id -> degrees clockwise from the page's up, "" = unknown) and
    whether it is hidden from officers (page id -> bool)."""
    pages = {page.id: page for page in version.pages}
    errors: dict[str, str] = {}
    bearings: dict[int, float | None] = {}
    for page_id, text in (north or {}).items():
        try:
            bearings[page_id] = _north_degrees(text)
        except ValueError as exc:
            errors[f"north-{page_id}"] = str(exc)
    for page_id, label in labels.items():
        text = (label or "").strip()
        if page_id not in pages:
            errors[f"label-{page_id}"] = "is not a page of this plan."
        elif not text:
            errors[f"label-{page_id}"] = "is required (e.g. Ground floor, Basement, Sheet A-101)."
        elif len(text) > 100:
            errors[f"label-{page_id}"] = "is too long (at most 100 characters)."
    if order and sorted(order) != sorted(pages):
        errors["order"] = "must list every page of this plan once."
    unknown = [page_id for page_id in (hidden or {}) if page_id not in pages]
    if unknown:
        errors["hidden"] = "names a page that is not in this plan."
    will_hide = {page_id: (hidden or {}).get(page_id, page.hidden) for page_id, page in pages.items()}
    if pages and all(will_hide.values()):
        errors["hidden"] = "would hide every sheet: keep at least one floor for officers to see."
    if errors:
        raise InvalidInput(errors)
    before = {page.id: _page_state(page) for page in version.pages}
    for page_id, label in labels.items():
        pages[page_id].label = label.strip()
    for position, page_id in enumerate(order, start=1):
        pages[page_id].position = position
    for page_id, degrees in bearings.items():
        pages[page_id].north_degrees = degrees
    for page_id, hide in (hidden or {}).items():
        pages[page_id].hidden = bool(hide)
    if version.building.published_version_id == version.id:
        # What officers see changes now: no two floors of the same name on the switcher.
        duplicates = duplicate_names(version)
        if duplicates:
            raise InvalidInput({"label": _duplicates_message(duplicates)})
    db.session.flush()
    plan_tiles.forget(version.key)  # hidden sheets: at once in this process
    renamed = [page for page in version.pages if before[page.id][0] != page.label or before[page.id][3] != page.hidden]
    if renamed and version.is_draft:
        # A renamed (or newly shown) sheet of a draft gets the markers of the published floor of
        # that name; a newly hidden one loses those it had not checked.
        carried_markers.carry_onto_renamed(version.building.published_version, version, renamed)
    changed = {
        f"page {page.number}": [_page_text(*before[page.id]), _page_text(*_page_state(page))]
        for page in version.pages
        if before[page.id] != _page_state(page)
    }
    if changed:
        audit.record("plan.pages", building=version.building, target=version,
                     detail={"number": version.number, "changes": changed})


def _page_state(page: PlanPage) -> tuple[str, int, float | None, bool]:
    return page.label, page.position, page.north_degrees, bool(page.hidden)


def _north_degrees(text: str) -> float | None:
    """"90", "90°" or "22.5" -> degrees; "" -> unknown (no north arrow on the packet)."""
    text = (text or "").strip().removesuffix("°").strip()
    if not text:
        return None
    try:
        degrees = float(text)
    except ValueError:
        raise ValueError("must be a number of degrees from 0 to 359, or empty if you do not know.") from None
    if not 0 <= degrees < 360:
        raise ValueError("must be from 0 to 359 degrees (0: north is up, 90: north is to the right).")
    return degrees


def _page_text(label: str, position: int, north: float | None, hidden: bool = False) -> str:
    return (f"{position}. {label}" + (f" (north {north:g}°)" if north is not None else "")
            + (" (hidden from officers)" if hidden else ""))


def duplicate_names(version: PlanVersion) -> dict[str, list[PlanPage]]:
    """Shown sheets that share a name (whatever the case and spacing): on the floor switcher
    two "First floor" buttons are one wrong guess away from the wrong floor."""
    by_name: dict[str, list[PlanPage]] = {}
    for page in version.shown_pages:
        by_name.setdefault(carried_markers.label_key(page.label), []).append(page)
    return {pages[0].label: pages for pages in by_name.values() if len(pages) > 1}


def _duplicates_message(duplicates: Mapping[str, list[PlanPage]]) -> str:
    names = "; ".join(
        f"“{name}” (sheets {', '.join(str(page.number) for page in pages)})" for name, pages in duplicates.items()
    )
    return f"Two shown sheets have the same name: {names}. Give each floor its own name, or hide the extra sheets."


def reasons_not_to_publish(version: PlanVersion) -> list[str]:
    """What stops a version from reaching officers, in words the partner can act on; empty
    when it may be published.  The review page lists them, ``publish`` refuses with them."""
    if version.state != VersionState.READY:
        return ["It is not ready yet: wait until every page is prepared."]
    if version.tiles_deleted_at is not None:
        return ["The tiles of this old version were cleaned up. Upload it again to publish it."]
    reasons = []
    flagged = markers.flagged_count(version)
    if flagged:
        reasons.append(
            f"{flagged} marker{'s' if flagged != 1 else ''} carried over from the current plan "
            f"{'are' if flagged != 1 else 'is'} not checked yet: open the markers, and confirm each one where it "
            "is, move it, or delete it."
        )
    if not version.shown_pages:
        reasons.append("Every sheet is hidden: show at least one floor.")
    duplicates = duplicate_names(version)
    if duplicates:
        reasons.append(_duplicates_message(duplicates))
    return reasons


def publish(version: PlanVersion, *, by: User | None) -> bool:
    """Make ``version`` the plan officers see, in one update of the building row, once its
    partner (or an administrator, ``by``; None for the command line's explicit ``--publish``)
    has reviewed it: refused while carried-over markers are unchecked, every sheet is hidden,
    or two shown sheets share a name.  Two publishes racing on one building cannot both win
    (the building's row version makes the loser a Conflict).  False if it already is."""
    building = version.building
    if by is not None and not can_edit(by, building):
        raise NotFound("There is no such plan version, or it is not yours to see.")
    current = building.published_version
    if current is not None and current.id == version.id:
        return False
    reasons = reasons_not_to_publish(version)
    if reasons:
        raise Conflict("This plan cannot be shown to officers yet. " + " ".join(reasons))
    # One conditional UPDATE: it moves the pointer only if nobody changed the building since we
    # read it, so of two racing publishes exactly one wins and the other is told.
    moved = rowcount(db.session.execute(
        update(Building)
        .where(Building.id == building.id, Building.row_version == building.row_version)
        .values(published_version_id=version.id, row_version=Building.row_version + 1)
        .execution_options(synchronize_session=False)
    ))
    db.session.expire(building)
    if moved != 1:
        raise Conflict(
            "This building's plan was changed by someone else at the same moment. Reload and try again."
        )
    first_time = version.published_at is None
    version.published_at = utcnow()
    db.session.flush()
    on_behalf = by is not None and not is_own_building(by, building)
    audit.record("plan.publish", actor=by, building=building, target=version, detail={
        "number": version.number, "replaces": current.number if current is not None else None,
        "first_time": first_time, **({"on_behalf_of_partner": True} if on_behalf else {}),
    })  # fmt: skip
    # The exercises' drawings follow the new plan (scratch: moved, not copied, not flagged).
    exercise_items.follow_plan(current, version)
    return True


def prepare_draft(version: PlanVersion) -> None:
    """A version just rendered: the markers of the published plan are copied onto its sheets
    of the same name, flagged, for the partner to check before publishing."""
    carried_markers.carry_over(version.building.published_version, version)


@dataclass(frozen=True)
class DeletedVersion:
    """What a deleted version leaves in storage, removed once the deletion is committed."""

    key: str
    original_sha256: str


def delete_version(version: PlanVersion, *, by: User) -> DeletedVersion:
    """Remove a draft or a failed version with its pages and markers.  Its tiles (and its
    original, when no other version was made from the same file) go once this is
    committed (``remove_stored``; not at all if it is rolled back).  Versions officers have
    seen are kept in the record (the cleanup retires their tiles), and so is one still
    being prepared."""
    if not can_edit(by, version.building):
        raise NotFound("There is no such plan version, or it is not yours to see.")
    if version.is_active:
        raise Conflict("This plan is still being prepared: wait until it is ready or has failed, then delete it.")
    if version.published_at is not None:
        raise Conflict("Officers have seen this version, so it stays in the record; upload a new one instead.")
    audit.record("plan.delete", actor=by, building=version.building, target=version, detail={
        "number": version.number, "file": version.original_filename, "status": version.status,
    })  # fmt: skip
    deleted = DeletedVersion(version.key, version.original_sha256)
    db.session.delete(version)
    db.session.flush()
    after_commit(lambda: remove_stored(deleted))
    return deleted


def remove_stored(deleted: DeletedVersion) -> int:
    """Delete a deleted version's objects (after the commit: a failed commit loses nothing).
    Anything left behind by a crash here is an orphan the cleanup removes."""
    store = objects.get_storage()
    removed = store.delete_prefix(objects.version_prefix(deleted.key))
    in_use = db.session.scalar(
        select(func.count(PlanVersion.id)).where(PlanVersion.original_sha256 == deleted.original_sha256)
    )
    if not in_use:
        store.delete(objects.original_key(deleted.original_sha256))
        removed += 1
    return removed
