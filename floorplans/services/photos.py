"""Photos of a building (its front, each entrance) and of its markers (the gas shut-off, the
key box, a door): add, replace, caption and delete them; decide who may see one; find the
photo a marker shows.

A photo arrives from a phone and is made safe before anything is kept (converters.images, in
a child process: upright from EXIF, no metadata at all, WebP in ``SIZES``); its sizes go to
the object store under the building's keys (``objects.photo_key``), in a folder (``token``)
of their own, new for every replacement, so a size's URL never changes meaning and is cached
for good.  One photo per marker and one of the front: a second replaces the first.

Who: the building's partners and administrators change them (``can_edit``); readers of the
building see its front and entrance photos, and the photo of a marker they may see (a shown
sheet of the published plan).  Everyone else: "not found".  Every change is in the audit log
(``photo.add``, ``photo.replace``, ``photo.caption``, ``photo.delete``).

Must not import blueprints.
"""
from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from sqlalchemy import select

from converters import image_isolation, images
from converters.errors import ImageRejected
from floorplans import objects
from floorplans.config import get_settings
from floorplans.db import after_commit, db, utcnow
from floorplans.errors import FloorplansError, InvalidInput, NotFound
from floorplans.models import Building, Marker, Photo, PhotoSubject, User
from floorplans.permissions import can_edit, can_read, can_see_version
from floorplans.services import audit
from floorplans.services.plans import work_folder
from floorplans.uploads import MB, spool

#: The long sides of the stored sizes: the thumbnail (lists, the card, the tap panel) and
#: the one that fills an in-car screen.
SIZES = image_isolation.PHOTO_SIZES
SMALL, LARGE = SIZES[0], SIZES[-1]
CAPTION_MAX = 200
#: How far back a marker's ``carried_from`` chain is followed to find its photo (one step
#: per published plan version; more than this is a loop).
CARRY_DEPTH = 50
SUBJECT_WORDS = {
    PhotoSubject.FRONT: "Front of the building",
    PhotoSubject.ENTRANCE: "Entrance",
    PhotoSubject.MARKER: "Marker",
}


class PhotoRejected(FloorplansError):
    """The picture is not one we can keep; the message says why and what to do."""

    status = 422


def image_limits() -> images.ImageLimits:
    """The plan upload's size limit, and never more than a picture may be."""
    most = min(get_settings().upload_max_mb * MB, images.DEFAULT_IMAGE_LIMITS.max_bytes)
    return images.ImageLimits(max_bytes=most)


# --- reading -----------------------------------------------------------------------------


def photos_of(building: Building) -> list[Photo]:
    """Every photo of ``building``: the front first, then entrances, then markers'."""
    order = {PhotoSubject.FRONT: 0, PhotoSubject.ENTRANCE: 1, PhotoSubject.MARKER: 2}
    rows = db.session.scalars(select(Photo).where(Photo.building_id == building.id).order_by(Photo.id)).all()
    return sorted(rows, key=lambda photo: (order.get(PhotoSubject(photo.subject), 3), photo.id))


def building_photos(building: Building) -> list[Photo]:
    """The front and the entrances: what every reader of the building sees."""
    return [photo for photo in photos_of(building) if photo.subject != PhotoSubject.MARKER]


def front_photo(building: Building) -> Photo | None:
    return next((photo for photo in photos_of(building) if photo.subject == PhotoSubject.FRONT), None)


def photos_for_markers(markers: Iterable[Marker]) -> dict[int, Photo]:
    """Marker id -> the photo it shows: its own, or that of the marker it was carried from
    (a new plan's markers keep their photos without copies)."""
    markers = list(markers)
    if not markers:
        return {}
    building_ids = {marker.building_id for marker in markers}
    photos = {
        photo.marker_id: photo
        for photo in db.session.scalars(
            select(Photo).where(Photo.building_id.in_(building_ids), Photo.marker_id.is_not(None))
        )
    }
    if not photos:
        return {}
    parents: dict[int, int | None] = {
        marker_id: parent for marker_id, parent in db.session.execute(
            select(Marker.id, Marker.carried_from_id).where(Marker.building_id.in_(building_ids))
        )
    }  # fmt: skip
    found: dict[int, Photo] = {}
    for marker in markers:
        current: int | None = marker.id
        for _ in range(CARRY_DEPTH):
            if current is None:
                break
            if current in photos:
                found[marker.id] = photos[current]
                break
            current = parents.get(current)
    return found


def photo_for_marker(marker: Marker) -> Photo | None:
    return photos_for_markers([marker]).get(marker.id)


def _marker_visible(user: User, marker: Marker) -> bool:
    """A marker officers may see: on a shown sheet of a version shown to them (the rule of
    services.markers.can_see_marker), or any marker for those who edit the building; or a
    marker whose photo a visible carried-over marker shows."""
    return can_edit(user, marker.page.version.building) or (
        can_see_version(user, marker.page.version) and not marker.page.hidden
    )


def may_read(user: User, photo: Photo) -> bool:
    building = photo.building
    if can_edit(user, building):
        return True
    if not can_read(user, building):
        return False
    if photo.subject != PhotoSubject.MARKER:
        return True
    # A marker's photo: readable through a marker the reader may see that shows it (its own
    # marker, or one carried from it onto the published plan).
    published = building.published_version
    if published is None or photo.marker is None:
        return False
    shown = [marker for marker in _published_markers(building) if _marker_visible(user, marker)]
    return any(found.id == photo.id for found in photos_for_markers(shown).values())


def _published_markers(building: Building) -> list[Marker]:
    if building.published_version_id is None:
        return []
    return list(db.session.scalars(
        select(Marker).join(Marker.page).where(Marker.building_id == building.id)
        .where(Marker.page.has(version_id=building.published_version_id))
    ))  # fmt: skip


def photographed(buildings: Iterable[Building]) -> set[int]:
    """The ids of those of ``buildings`` that have any photo, in one statement: a list of
    hundreds of buildings (a patrol zone) asks ``readable_photos`` only of these."""
    ids = [building.id for building in buildings]
    if not ids:
        return set()
    return set(db.session.scalars(select(Photo.building_id).where(Photo.building_id.in_(ids)).distinct()))


def readable_photos(user: User, building: Building) -> list[Photo]:
    """What ``user`` may see of ``building``'s photos: the front and the entrances, and the
    photos of the published plan's markers they may see (each once); its congregation and
    administrators every photo."""
    if can_edit(user, building):
        return photos_of(building)
    seen = building_photos(building)
    shown = [marker for marker in _published_markers(building) if _marker_visible(user, marker)]
    for photo in photos_for_markers(shown).values():
        if photo not in seen:
            seen.append(photo)
    return seen if can_read(user, building) else []


def get_for_reading(user: User, photo_id: int, token: str) -> Photo:
    """The photo behind a size's URL, for a reader who may see it; otherwise "not found"
    (someone else's congregation, an anonymous visitor, a replaced photo's old URL)."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or not secrets.compare_digest(photo.token, token) or not may_read(user, photo):
        raise NotFound("There is no such photo, or it is not yours to see.")
    return photo


def get_for_edit(user: User, building: Building, photo_id: int) -> Photo:
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.building_id != building.id or not can_edit(user, building):
        raise NotFound("This building has no such photo.")
    return photo


def get_own(user: User, photo_id: int) -> Photo:
    """A photo ``user`` may change, by its id alone (the API's address)."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or not can_edit(user, photo.building):
        raise NotFound("There is no such photo, or it is not yours to change.")
    return photo


def read_size(photo: Photo, size: int) -> bytes:
    """The stored WebP of one size; NotFound for a size we do not make."""
    if photo.size_of(size) is None:
        raise NotFound("Photos come in these sizes only: " + ", ".join(str(s) for s in SIZES) + ".")
    try:
        return objects.get_storage().get(objects.photo_key(photo.building_id, photo.token, size))
    except FileNotFoundError:
        raise NotFound("This photo's picture is missing from the store.") from None


def etag(photo: Photo, size: int) -> str:
    return f"photo-{photo.token}-{size}"


# --- changing ----------------------------------------------------------------------------


def _spool(stream: IO[bytes], folder: Path, max_bytes: int) -> Path:
    too_large = PhotoRejected(
        f"The picture is larger than {max_bytes // MB} MB. Send it again at a smaller size "
        "(most phones offer 'Large' or 'Medium' when sharing)."
    )
    path = spool(stream, folder, max_bytes=max_bytes, too_large=too_large, prefix="photo-", suffix=".img").path
    if path.stat().st_size == 0:
        path.unlink(missing_ok=True)
        raise PhotoRejected("The file is empty. Choose the photo again and upload it.")
    return path


def _store(building: Building, stream: IO[bytes]) -> tuple[str, images.PhotoResult]:
    """Make the picture safe and store its sizes under a new token; nothing is stored for a
    refused picture."""
    folder = work_folder()
    source = _spool(stream, folder, image_limits().max_bytes)
    out = Path(tempfile.mkdtemp(prefix="photo-", dir=folder))
    try:
        try:
            result = image_isolation.photo_sizes_isolated(source, out, SIZES, image_limits())
        except ImageRejected as rejected:
            raise PhotoRejected(rejected.message) from None
        token = secrets.token_hex(16)
        store = objects.get_storage()
        for size in result.sizes:
            store.put_file(objects.photo_key(building.id, token, size.size), out / f"{size.size}.webp",
                           content_type="image/webp")
    finally:
        source.unlink(missing_ok=True)
        shutil.rmtree(out, ignore_errors=True)
    return token, result


def _forget_objects(building_id: int, token: str) -> None:
    """Delete a photo's stored sizes once the change that dropped it is committed."""
    store = objects.get_storage()
    after_commit(lambda: store.delete_prefix(objects.photo_prefix(building_id, token)))


def _caption(raw: str | None) -> str:
    text = " ".join((raw or "").split())
    if len(text) > CAPTION_MAX:
        raise InvalidInput({"caption": f"is too long (at most {CAPTION_MAX} characters)."})
    return text


def _require_edit(user: User, building: Building) -> None:
    if not can_edit(user, building):
        raise NotFound("There is no such building, or it is not yours to change.")


def marker_of(building: Building, marker_id: int | None) -> Marker:
    marker = db.session.get(Marker, marker_id) if marker_id else None
    if marker is None or marker.building_id != building.id:
        raise InvalidInput({"marker": "is not a marker of this building."},
                           "Choose one of this building's markers for the photo.")
    return marker


def add(
    user: User, building: Building, stream: IO[bytes], *, subject: str, marker: Marker | None = None,
    caption: str | None = "",
) -> Photo:
    """Keep a new photo. The front, and each marker, have one photo: a second replaces it."""
    _require_edit(user, building)
    try:
        what = PhotoSubject(subject)
    except ValueError:
        raise InvalidInput({"subject": "must be front, entrance or marker."},
                           "Say what the photo shows: the front, an entrance or a marker.") from None
    if (what is PhotoSubject.MARKER) != (marker is not None):
        raise InvalidInput({"marker": "goes with a photo of a marker, and only then."},
                           "Choose the marker the photo shows.")
    if marker is not None and marker.building_id != building.id:
        raise NotFound("This building has no such marker.")
    text = _caption(caption)
    existing = None
    if what is PhotoSubject.FRONT:
        existing = front_photo(building)
    elif marker is not None:
        existing = db.session.scalar(select(Photo).where(Photo.marker_id == marker.id))
    if existing is not None:
        replaced = replace(user, existing, stream)
        if caption:
            replaced.caption = text
        return replaced
    token, result = _store(building, stream)
    photo = Photo(
        building_id=building.id, marker=marker, subject=what.value, caption=text, token=token,
        width=result.width, height=result.height, sizes=[_size_row(size) for size in result.sizes],
        uploaded_by=user, uploaded_at=utcnow(),
    )  # fmt: skip
    db.session.add(photo)
    db.session.flush()
    audit.record("photo.add", actor=user, building=building, target=photo, detail={
        "subject": photo.subject, "marker": marker.id if marker else None, "caption": text,
        "width": result.width, "height": result.height, "bytes": photo.stored_bytes,
    })  # fmt: skip
    return photo


def _size_row(size: images.ImageSize) -> dict[str, int]:
    return {"size": size.size, "width": size.width, "height": size.height, "bytes": size.bytes}


def replace(user: User, photo: Photo, stream: IO[bytes]) -> Photo:
    """A new picture for the same subject (the key box got a new lock): new sizes under a new
    token, the old ones deleted once this is committed."""
    building = photo.building
    _require_edit(user, building)
    token, result = _store(building, stream)
    old = photo.token
    photo.token, photo.width, photo.height = token, result.width, result.height
    photo.sizes = [_size_row(size) for size in result.sizes]
    photo.uploaded_by, photo.uploaded_at = user, utcnow()
    db.session.flush()
    _forget_objects(building.id, old)
    audit.record("photo.replace", actor=user, building=building, target=photo, detail={
        "subject": photo.subject, "width": result.width, "height": result.height, "bytes": photo.stored_bytes,
    })  # fmt: skip
    return photo


def set_caption(user: User, photo: Photo, caption: str | None) -> Photo:
    _require_edit(user, photo.building)
    before, photo.caption = photo.caption, _caption(caption)
    db.session.flush()
    audit.record("photo.caption", actor=user, building=photo.building, target=photo,
                 detail={"before": before, "after": photo.caption})
    return photo


def delete(user: User, photo: Photo) -> None:
    building = photo.building
    _require_edit(user, building)
    audit.record("photo.delete", actor=user, building=building, target=photo,
                 detail={"subject": photo.subject, "caption": photo.caption, "marker": photo.marker_id})
    _forget_objects(building.id, photo.token)
    db.session.delete(photo)
    db.session.flush()


def forget_marker(marker: Marker) -> None:
    """A marker is being deleted: its photo goes with it (rows by the database's cascade,
    the stored sizes here, once committed)."""
    for photo in db.session.scalars(select(Photo).where(Photo.marker_id == marker.id)):
        _forget_objects(photo.building_id, photo.token)
