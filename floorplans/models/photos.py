"""Photos a partner attaches to a building (its front, an entrance) or to one of its markers
(the gas shut-off, the key box, a door). The pictures themselves are in the object store,
made safe on arrival (converters.images: upright, no metadata, WebP in a few fixed sizes);
this row says what the photo shows and which sizes exist.

Must not import blueprints, storage or converters.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from floorplans.db import Model, utcnow
from floorplans.models.accounts import User
from floorplans.models.planning import Marker

if TYPE_CHECKING:
    from floorplans.models.buildings import Building


class PhotoSubject(enum.StrEnum):
    FRONT = "front"  # the building from the street: what the first officer looks for
    ENTRANCE = "entrance"  # one way in (the caption says which)
    MARKER = "marker"  # the thing a marker stands for: the shut-off, the key box, the door


class Photo(Model):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    # Set for subject "marker". A marker carried onto a new plan keeps showing this photo
    # through its ``carried_from`` chain (services.photos.photo_for_marker).
    marker_id: Mapped[int | None] = mapped_column(ForeignKey("markers.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(10))
    caption: Mapped[str] = mapped_column(String(200), default="")
    # The folder of its sizes in the store (objects.photo_key); a new one for each replacement,
    # so every size's URL can be cached for good.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    width: Mapped[int] = mapped_column(Integer)  # the upright photo as received, in pixels
    height: Mapped[int] = mapped_column(Integer)
    # [{"size": 320, "width": ..., "height": ..., "bytes": ...}, ...], smallest first
    sizes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    building: Mapped[Building] = relationship()
    marker: Mapped[Marker | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    @property
    def stored_bytes(self) -> int:
        return sum(int(size["bytes"]) for size in self.sizes)

    def size_of(self, wanted: int) -> dict[str, Any] | None:
        return next((size for size in self.sizes if int(size["size"]) == wanted), None)
